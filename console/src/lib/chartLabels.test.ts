import { describe, expect, it } from 'vitest';
import { monthsUpTo, shortDay, shortMonth } from './chartLabels';

describe('chart labels', () => {
  it('shortens UTC days and months', () => {
    expect(shortDay('2026-03-05', 'en-GB')).toBe('5 Mar');
    expect(shortDay('nope', 'en-GB')).toBe('nope');
    expect(shortMonth('2026-11', 'en-US')).toBe('Nov 2026');
    expect(shortMonth('2026-13', 'en-US')).toBe('2026-13');
  });

  it('lists the months up to now, across a year', () => {
    expect(monthsUpTo(new Date(Date.UTC(2027, 1, 15)), 4)).toEqual(['2026-11', '2026-12', '2027-01', '2027-02']);
    expect(monthsUpTo(new Date(Date.UTC(2026, 11, 31, 23)), 1)).toEqual(['2026-12']);
    expect(monthsUpTo(new Date(), 0)).toEqual([]);
  });
});
