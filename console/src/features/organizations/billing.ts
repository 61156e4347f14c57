// Money and quotas of plans, for people.

import type { Plan, PlanLimits } from '../../lib/types';

/** `1999, 'EUR'` → `€19.99`: amounts come in minor units (cents). */
export function money(minor: number, currency: string, locale?: string): string {
  let format: Intl.NumberFormat;
  try {
    format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minor / 10 ** digits);
}

/** `1073741824` → `1 GB` (binary units, as quotas are set). */
export function bytes(value: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[unit]}`;
}

const LIMITS: Array<[keyof PlanLimits, string]> = [
  ['projects', 'Projects'],
  ['apps', 'Apps'],
  ['records', 'Records'],
  ['storage_bytes', 'Storage'],
  ['api_calls_per_day', 'API calls a day'],
  ['members', 'Members'],
];

/** The key quotas of a plan as label and value (`Unlimited` for null). */
export function keyLimits(plan: Plan): Array<{ label: string; value: string }> {
  return LIMITS.map(([key, label]) => {
    const limit = plan.limits[key];
    const value = limit === null || limit === undefined ? 'Unlimited' : key === 'storage_bytes' ? bytes(limit) : limit.toLocaleString();
    return { label, value };
  });
}

/** Whether the plan costs something. */
export function isPaid(plan: Plan): boolean {
  return plan.price_month > 0 || plan.price_year > 0;
}
