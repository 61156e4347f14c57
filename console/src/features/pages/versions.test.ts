import { describe, expect, it } from 'vitest';
import { isCurrent, versionSummary } from './versions';

describe('page versions', () => {
  it('sums up a version', () => {
    expect(versionSummary({ name: 'Home', slug: 'home', size_bytes: 2048 })).toBe('“Home” (/home), 2 KB');
    expect(versionSummary({ name: 'Root', slug: '/', size_bytes: 10 })).toBe('“Root” (/), 10 B');
  });

  it('knows the current version', () => {
    expect(isCurrent({ version: 3 }, 3)).toBe(true);
    expect(isCurrent({ version: 2 }, 3)).toBe(false);
  });
});
