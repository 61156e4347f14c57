// Small helpers of the admin screens: names, dates, the audit filter's day range, pages.

import { ApiError } from '../../lib/api';
import type { AdminUser, Severity } from '../../lib/types';

export { downloadText } from '../../lib/download';

/** The sections of the Admin area. */
export type AdminSection =
  | 'dashboard'
  | 'users'
  | 'organizations'
  | 'projects'
  | 'audit'
  | 'jobs'
  | 'emails'
  | 'invoices'
  | 'revenue'
  | 'marketplace'
  | 'verifications'
  | 'notifications'
  | 'replays'
  | 'apps';

/** A person's name, or their address when they gave none. */
export function userName(user: Pick<AdminUser, 'first_name' | 'last_name' | 'email'>): string {
  return `${user.first_name} ${user.last_name}`.trim() || user.email;
}

/** `premium` → `Premium`. */
export function capitalized(word: string): string {
  return word ? word.charAt(0).toUpperCase() + word.slice(1).toLowerCase() : '';
}

/** A local date and time for people ('' or `none` when absent). */
export function when(instant: string | null | undefined, none = ''): string {
  return instant ? new Date(instant).toLocaleString() : none;
}

/** The instant a local day (`YYYY-MM-DD` from a date input) starts, in RFC 3339; '' for none. */
export function dayStart(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return '';
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(y, m - 1, d).toISOString();
}

/** The instant after a local day ends (the API's `to` is exclusive), so `to` includes the day. */
export function dayEnd(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return '';
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(y, m - 1, d + 1).toISOString();
}

export const SEVERITIES: readonly Severity[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/** The class of a severity's badge (`badge low` … `badge critical`). */
export function severityClass(severity: string): string {
  const known = (SEVERITIES as readonly string[]).includes(severity);
  return `badge ${known ? severity.toLowerCase() : 'unknown'}`;
}

/** The name of a downloaded export: `audit-2026-03-01.csv` (the local day). */
export function exportFileName(now: Date, prefix = 'audit'): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${prefix}-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.csv`;
}

/** Pretty JSON for a payload or a result ('' for none). */
export function prettyJson(value: unknown): string {
  return value === null || value === undefined ? '' : JSON.stringify(value, null, 2);
}

/** The rows of a count map, largest first (ties by name). */
export function ranked(counts: Record<string, number>, limit = Infinity): Array<[string, number]> {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, limit);
}

/** Whether a failed call was refused for want of the administrator role. */
export function isForbidden(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403;
}
