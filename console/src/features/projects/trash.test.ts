import { describe, expect, it } from 'vitest';
import { RESTORE_DAYS, daysLeft, restorableUntil, restoreNote } from './trash';

describe('project trash', () => {
  const deleted = '2026-03-01T10:00:00Z';

  it('keeps a deleted project restorable for 30 days', () => {
    expect(RESTORE_DAYS).toBe(30);
    expect(restorableUntil(deleted).toISOString()).toBe('2026-03-31T10:00:00.000Z');
  });

  it('counts the whole days left', () => {
    expect(daysLeft(deleted, new Date('2026-03-01T10:00:00Z'))).toBe(30);
    expect(daysLeft(deleted, new Date('2026-03-01T11:00:00Z'))).toBe(29);
    expect(daysLeft(deleted, new Date('2026-03-31T09:00:00Z'))).toBe(0);
    expect(daysLeft(deleted, new Date('2026-04-05T00:00:00Z'))).toBe(0);
  });

  it('says how long it can still be restored', () => {
    expect(restoreNote(deleted, new Date('2026-03-01T11:00:00Z'))).toBe('Restorable for 29 more days');
    expect(restoreNote(deleted, new Date('2026-03-29T11:00:00Z'))).toBe('Restorable for 1 more day');
    expect(restoreNote(deleted, new Date('2026-03-31T09:00:00Z'))).toBe('Restorable until today');
    expect(restoreNote(deleted, new Date('2026-04-01T00:00:00Z'))).toBe('No longer restorable');
    expect(restoreNote(null, new Date())).toBe('');
  });
});
