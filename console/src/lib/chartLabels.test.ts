import { describe, expect, it } from 'vitest';
import { bucketKey, bucketLabel, monthsUpTo, shortDay, shortHour, shortMonth } from './chartLabels';

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

  it('labels hours and days in UTC, whatever the offset written', () => {
    expect(shortHour('2026-03-05T14:00:00Z')).toBe('14:00');
    expect(shortHour('2026-03-05T23:00:00-02:00')).toBe('01:00');
    expect(shortHour('later')).toBe('later');
    expect(bucketLabel('2026-03-05T09:00:00Z', 'hour')).toBe('09:00');
    expect(bucketLabel('2026-03-05T00:00:00Z', 'day', 'en-GB')).toBe('5 Mar');
    expect(bucketLabel('2026-03-05', 'day')).toBe('2026-03-05');
    expect(bucketKey('2026-03-05T14:00:00Z', 'hour')).toBe('2026-03-05 14:00');
    expect(bucketKey('2026-03-05T00:00:00+00:00', 'day')).toBe('2026-03-05');
    expect(bucketKey('', 'day')).toBe('');
  });
});
