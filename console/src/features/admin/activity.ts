// The dashboard's activity charts: the ranges offered, the totals shown above each chart, and
// each chart's series (drawn) and columns (in its table of numbers) from the API's buckets.

import type { Activity, ActivityBucket, ActivityRange } from '../../lib/types';
import { bucketKey, bucketLabel } from '../../lib/chartLabels';

export const ACTIVITY_RANGES: ReadonlyArray<{ value: ActivityRange; label: string; span: string }> = [
  { value: '24h', label: '24 hours', span: 'the last 24 hours, per hour' },
  { value: '7d', label: '7 days', span: 'the last 7 days, per day' },
  { value: '30d', label: '30 days', span: 'the last 30 days, per day' },
];

export const DEFAULT_RANGE: ActivityRange = '24h';

/** The range of a value (the default for an unknown one). */
export function activityRange(value: string): ActivityRange {
  return ACTIVITY_RANGES.some((r) => r.value === value) ? (value as ActivityRange) : DEFAULT_RANGE;
}

/** `the last 7 days, per day`. */
export function rangeSpan(range: ActivityRange): string {
  return ACTIVITY_RANGES.find((r) => r.value === range)?.span ?? range;
}

export type ActivityTotals = Omit<ActivityBucket, 'start'>;

/** The sums over the buckets. */
export function activityTotals(buckets: readonly ActivityBucket[]): ActivityTotals {
  const totals: ActivityTotals = { requests: 0, client_errors: 0, server_errors: 0, jobs_succeeded: 0, jobs_failed: 0, jobs_dead: 0 };
  for (const b of buckets) {
    totals.requests += b.requests;
    totals.client_errors += b.client_errors;
    totals.server_errors += b.server_errors;
    totals.jobs_succeeded += b.jobs_succeeded;
    totals.jobs_failed += b.jobs_failed;
    totals.jobs_dead += b.jobs_dead;
  }
  return totals;
}

/** `part` as a share of `whole` for people: `2.5 %`, `< 0.1 %`, `0 %` (nothing when there is no whole). */
export function share(part: number, whole: number): string {
  if (whole <= 0) return '';
  if (part <= 0) return '0 %';
  const percent = (part / whole) * 100;
  if (percent < 0.1) return '< 0.1 %';
  return `${percent >= 10 ? Math.round(percent) : Math.round(percent * 10) / 10} %`;
}

export type Tone = 'accent' | 'ok' | 'warning' | 'danger';

export interface ChartData {
  keyHeader: string;
  keys: string[];
  labels: string[];
  series: Array<{ label: string; tone: Tone; values: number[] }>;
  columns: Array<{ header: string; values: number[] }>;
}

function axis(activity: Activity): Pick<ChartData, 'keyHeader' | 'keys' | 'labels'> {
  return {
    keyHeader: activity.bucket === 'hour' ? 'Hour (UTC)' : 'Day (UTC)',
    keys: activity.buckets.map((b) => bucketKey(b.start, activity.bucket)),
    labels: activity.buckets.map((b) => bucketLabel(b.start, activity.bucket)),
  };
}

/**
 * Requests as stacked bars: those answered without an error, 4xx, 5xx (a bar is every
 * request); the table has the requests whole, then the errors.
 */
export function requestChart(activity: Activity): ChartData {
  const b = activity.buckets;
  return {
    ...axis(activity),
    series: [
      { label: 'Without error', tone: 'accent', values: b.map((x) => Math.max(0, x.requests - x.client_errors - x.server_errors)) },
      { label: 'Client errors (4xx)', tone: 'warning', values: b.map((x) => x.client_errors) },
      { label: 'Server errors (5xx)', tone: 'danger', values: b.map((x) => x.server_errors) },
    ],
    columns: [
      { header: 'Requests', values: b.map((x) => x.requests) },
      { header: 'Client errors (4xx)', values: b.map((x) => x.client_errors) },
      { header: 'Server errors (5xx)', values: b.map((x) => x.server_errors) },
    ],
  };
}

/** Jobs as stacked bars: succeeded, failed attempts, dead; the table the same. */
export function jobChart(activity: Activity): ChartData {
  const b = activity.buckets;
  const series: ChartData['series'] = [
    { label: 'Succeeded', tone: 'ok', values: b.map((x) => x.jobs_succeeded) },
    { label: 'Failed attempts', tone: 'warning', values: b.map((x) => x.jobs_failed) },
    { label: 'Dead', tone: 'danger', values: b.map((x) => x.jobs_dead) },
  ];
  return { ...axis(activity), series, columns: series.map((s) => ({ header: s.label, values: s.values })) };
}
