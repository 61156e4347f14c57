import { describe, expect, it } from 'vitest';
import { capitalized, dayEnd, dayStart, exportFileName, prettyJson, ranked, severityClass, userName } from './format';

describe('admin format helpers', () => {
  it('names people and roles', () => {
    expect(userName({ first_name: 'Ann', last_name: 'Lee', email: 'a@b.c' })).toBe('Ann Lee');
    expect(userName({ first_name: ' ', last_name: '', email: 'a@b.c' })).toBe('a@b.c');
    expect(capitalized('premium')).toBe('Premium');
    expect(capitalized('')).toBe('');
  });

  it("turns a date input's day into the API's range, the end day included", () => {
    expect(dayStart('2026-03-01')).toBe(new Date(2026, 2, 1).toISOString());
    expect(dayEnd('2026-03-31')).toBe(new Date(2026, 3, 1).toISOString());
    expect(dayStart('')).toBe('');
    expect(dayEnd('garbage')).toBe('');
  });

  it('has a badge class per severity', () => {
    expect(severityClass('CRITICAL')).toBe('badge critical');
    expect(severityClass('LOW')).toBe('badge low');
    expect(severityClass('weird')).toBe('badge unknown');
  });

  it('names the export after the day and ranks counts', () => {
    expect(exportFileName(new Date(2026, 0, 5, 13))).toBe('audit-2026-01-05.csv');
    expect(exportFileName(new Date(2026, 11, 31), 'revenue')).toBe('revenue-2026-12-31.csv');
    expect(ranked({ B: 2, A: 2, C: 5, D: 1 }, 3)).toEqual([
      ['C', 5],
      ['A', 2],
      ['B', 2],
    ]);
    expect(prettyJson(null)).toBe('');
    expect(prettyJson({ a: 1 })).toBe('{\n  "a": 1\n}');
  });
});

describe('isForbidden', () => {
  it('is true for a 403 only', async () => {
    const { ApiError } = await import('../../lib/api');
    const { isForbidden } = await import('./format');
    expect(isForbidden(new ApiError(403, 'administrator role required'))).toBe(true);
    expect(isForbidden(new ApiError(401, 'no'))).toBe(false);
    expect(isForbidden(new Error('x'))).toBe(false);
  });
});
