// An API key's expiry, chosen as a day: the key works until that day ends, in local time.

/** A local day as `YYYY-MM-DD` (the value of a date input). */
export function dayOf(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/**
 * The RFC 3339 instant `day` ends (23:59:59 local time); undefined when no day is given.
 * Text that is not a day is sent as it is, for the server to refuse next to the input.
 */
export function endOfDay(day: string): string | undefined {
  const text = day.trim();
  if (text === '') return undefined;
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!parts) return text;
  const end = new Date(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]), 23, 59, 59);
  return Number.isNaN(end.getTime()) ? text : end.toISOString();
}
