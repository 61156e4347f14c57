import { describe, expect, it } from 'vitest';
import { svgDataUri } from './dataUri';

describe('svgDataUri', () => {
  it('encodes the document as base64 UTF-8', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><title>Socle – é</title></svg>';
    const uri = svgDataUri(svg);
    expect(uri.startsWith('data:image/svg+xml;base64,')).toBe(true);
    const decoded = Buffer.from(uri.slice('data:image/svg+xml;base64,'.length), 'base64').toString('utf8');
    expect(decoded).toBe(svg);
  });
});
