// Short labels for the bars of a chart; the days and months are UTC, as the API counts them.

/** `2026-03-05` → `5 Mar` (the input as is when it is not a day). */
export function shortDay(day: string, locale?: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(date.getTime())) return day;
  return date.toLocaleDateString(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/** `2026-03` → `Mar 2026` (the input as is when it is not a month). */
export function shortMonth(month: string, locale?: string): string {
  const date = new Date(`${month}-01T00:00:00Z`);
  if (!/^\d{4}-\d{2}$/.test(month) || Number.isNaN(date.getTime())) return month;
  return date.toLocaleDateString(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' });
}

/** The `count` months up to the one of `now` (UTC), oldest first: `['2026-11', '2026-12']`. */
export function monthsUpTo(now: Date, count: number): string[] {
  const months: string[] = [];
  for (let back = count - 1; back >= 0; back -= 1) {
    const date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    months.push(`${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return months;
}

/** The UTC parts of an RFC 3339 instant (null when it is not one). */
function utcParts(instant: string): { day: string; hour: string } | null {
  const date = new Date(instant);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(instant) || Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString();
  return { day: iso.slice(0, 10), hour: iso.slice(11, 16) };
}

/** `2026-03-05T14:00:00Z` → `14:00`, the UTC hour (the input as is when it is not an instant). */
export function shortHour(instant: string): string {
  return utcParts(instant)?.hour ?? instant;
}

/** A bucket's label on a chart: its UTC hour (`14:00`) or its UTC day (`5 Mar`). */
export function bucketLabel(start: string, bucket: 'hour' | 'day', locale?: string): string {
  const parts = utcParts(start);
  if (!parts) return start;
  return bucket === 'hour' ? parts.hour : shortDay(parts.day, locale);
}

/** A bucket's name in a table of numbers, unambiguous: `2026-03-05 14:00` or `2026-03-05` (UTC). */
export function bucketKey(start: string, bucket: 'hour' | 'day'): string {
  const parts = utcParts(start);
  if (!parts) return start;
  return bucket === 'hour' ? `${parts.day} ${parts.hour}` : parts.day;
}
