import { describe, expect, it } from 'vitest';
import { VIEWPORTS, viewportDescription, viewportOf } from './viewport';

describe('preview widths', () => {
  it('offer a desktop, a tablet and a phone width besides fitting the editor', () => {
    expect(VIEWPORTS.map((v) => [v.name, v.width])).toEqual([
      ['fit', null],
      ['desktop', 1280],
      ['tablet', 768],
      ['phone', 375],
    ]);
  });

  it('read the kept choice, fitting the editor by default', () => {
    expect(viewportOf('phone').width).toBe(375);
    expect(viewportOf(null).name).toBe('fit');
    expect(viewportOf('watch').name).toBe('fit');
  });

  it('describe the choice', () => {
    expect(viewportDescription(viewportOf('tablet'))).toBe('Tablet, 768 px wide');
    expect(viewportDescription(viewportOf('fit'))).toBe('Fit to the editor');
  });
});
