// The trash of projects: a deleted project can be restored for 30 days (the server's
// RESTORE_DAYS), then the janitor drops it with its tables.

export const RESTORE_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The instant after which a project deleted at `deletedAt` can no longer be restored. */
export function restorableUntil(deletedAt: string): Date {
  return new Date(new Date(deletedAt).getTime() + RESTORE_DAYS * DAY_MS);
}

/** Whole days left to restore it (0 on its last day, and once over). */
export function daysLeft(deletedAt: string, now: Date): number {
  const left = restorableUntil(deletedAt).getTime() - now.getTime();
  return left <= 0 ? 0 : Math.floor(left / DAY_MS);
}

/** What the trash says of a deleted project: how long it can still be restored. */
export function restoreNote(deletedAt: string | null | undefined, now: Date): string {
  if (!deletedAt) return '';
  const until = restorableUntil(deletedAt);
  if (until.getTime() <= now.getTime()) return 'No longer restorable';
  const days = daysLeft(deletedAt, now);
  if (days === 0) return 'Restorable until today';
  return `Restorable for ${days} more day${days === 1 ? '' : 's'}`;
}
