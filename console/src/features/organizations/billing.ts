// Money, quotas of plans and usage against them, for people.

import type {
  BillingProfile,
  BillingStatus,
  Invoice,
  MetricUsage,
  NextInvoice,
  Plan,
  PlanLimits,
  SavedCard,
  UsageMetric,
  UsageWindow,
} from '../../lib/types';

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

/** How many minor units digits a currency has: 2 for EUR (cents), 0 for JPY. */
export function fractionDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // An unknown currency: cents.
    return 2;
  }
}

/** `1999, 'EUR'` → `19.99`, `500, 'JPY'` → `500`: minor units in the currency's main unit. */
export function majorUnits(minor: number, currency: string): number {
  return minor / 10 ** fractionDigits(currency);
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

const METRICS: Record<UsageMetric, string> = {
  projects: 'Projects',
  apps: 'Apps',
  records: 'Records',
  storage_bytes: 'Storage',
  api_calls_per_day: 'API calls',
  ai_tokens_per_month: 'AI tokens',
  exports_per_month: 'Exports',
  members: 'Members',
};

/** `api_calls_per_day` → `API calls` (an unknown metric keeps its key). */
export function metricLabel(metric: string): string {
  return (METRICS as Record<string, string>)[metric] ?? metric;
}

/** What a usage counts over, for people: `today`, `this month`, or '' for what exists now. */
export function windowLabel(window: UsageWindow | string): string {
  return window === 'day' ? 'today' : window === 'month' ? 'this month' : '';
}

/** An amount of a metric: bytes for storage, a grouped number otherwise. */
export function usageAmount(metric: string, value: number, locale?: string): string {
  return metric === 'storage_bytes' ? bytes(value) : value.toLocaleString(locale);
}

/** The share of the limit used, in whole percent rounded down (null when unlimited; a zero limit is full). */
export function usagePercent(used: number, limit: number | null): number | null {
  if (limit === null) return null;
  if (limit <= 0) return 100;
  return Math.floor((Math.max(used, 0) * 100) / limit);
}

/** How close to its limit a usage is: `near` from 90 %, `at` the limit, `over` it. */
export type UsageLevel = 'unlimited' | 'ok' | 'near' | 'at' | 'over';

export function usageLevel(used: number, limit: number | null): UsageLevel {
  if (limit === null) return 'unlimited';
  if (used > limit) return 'over';
  if (used >= limit) return 'at';
  return used * 10 >= limit * 9 ? 'near' : 'ok';
}

/** `1,234 / 10,000 today`, `1.5 GB / 5 GB`, `3 / unlimited`. */
export function usageText(usage: MetricUsage, locale?: string): string {
  const limit = usage.limit === null ? 'unlimited' : usageAmount(usage.metric, usage.limit, locale);
  const window = windowLabel(usage.window);
  return `${usageAmount(usage.metric, usage.used, locale)} / ${limit}${window ? ` ${window}` : ''}`;
}

/** `Renews on 1/6/2027 for €19.00`; for an unpaid renewal, since when it is due. */
export function nextInvoiceText(next: NextInvoice, status: BillingStatus, locale?: string): string {
  const date = new Date(next.date).toLocaleDateString(locale);
  const amount = money(next.amount, next.currency, locale);
  return status === 'past_due' ? `Renewal of ${amount} due since ${date}` : `Renews on ${date} for ${amount}`;
}

/** `invoice-2026-0004.pdf` (the id when the number is missing). */
export function pdfFileName(invoice: Pick<Invoice, 'id' | 'number' | 'kind'>): string {
  const name = (invoice.number || invoice.id).replace(/[^\w.-]+/g, '_');
  return `${invoice.kind === 'credit_note' ? 'credit-note' : 'invoice'}-${name}.pdf`;
}

/** `Visa •••• 4242`. */
export function cardLabel(card: Pick<SavedCard, 'brand' | 'last4'>): string {
  const brand = card.brand ? card.brand.charAt(0).toUpperCase() + card.brand.slice(1) : 'Card';
  return `${brand} •••• ${card.last4}`;
}

/** `04/2027`. */
export function cardExpiry(card: Pick<SavedCard, 'exp_month' | 'exp_year'>): string {
  return `${String(card.exp_month).padStart(2, '0')}/${card.exp_year}`;
}

/** `url` with the query parameter `name` set to `value` (others kept, the fragment dropped). */
export function withQueryParam(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  parsed.hash = '';
  return parsed.toString();
}

/** The profile as saved: texts trimmed, the country in capitals. */
export function cleanProfile(profile: BillingProfile): BillingProfile {
  return {
    organization_id: profile.organization_id,
    name: profile.name.trim(),
    address: profile.address.trim(),
    country: profile.country.trim().toUpperCase(),
    vat_id: profile.vat_id.trim(),
    email: profile.email.trim(),
  };
}
