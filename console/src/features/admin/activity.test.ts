import { describe, expect, it } from 'vitest';
import { activityRange, activityTotals, jobChart, rangeSpan, requestChart, share } from './activity';
import { queryString } from '../../lib/api';
import type { Activity, ActivityBucket } from '../../lib/types';

function bucket(start: string, n: Partial<ActivityBucket> = {}): ActivityBucket {
  return { start, requests: 0, client_errors: 0, server_errors: 0, jobs_succeeded: 0, jobs_failed: 0, jobs_dead: 0, ...n };
}

const hourly: Activity = {
  range: '24h',
  bucket: 'hour',
  buckets: [
    bucket('2026-03-05T23:00:00Z', { requests: 10, client_errors: 2, server_errors: 1, jobs_succeeded: 4, jobs_failed: 1 }),
    bucket('2026-03-06T00:00:00Z'),
    bucket('2026-03-06T01:00:00Z', { requests: 5, client_errors: 5, jobs_dead: 2 }),
  ],
};

describe('the activity charts', () => {
  it('reads the range, the default for an unknown one, and asks for it', () => {
    expect(activityRange('7d')).toBe('7d');
    expect(activityRange('1y')).toBe('24h');
    expect(rangeSpan('30d')).toBe('the last 30 days, per day');
    expect(queryString({ range: activityRange('30d') })).toBe('?range=30d');
  });

  it('adds the buckets up', () => {
    expect(activityTotals(hourly.buckets)).toEqual({
      requests: 15,
      client_errors: 7,
      server_errors: 1,
      jobs_succeeded: 4,
      jobs_failed: 1,
      jobs_dead: 2,
    });
    expect(activityTotals([]).requests).toBe(0);
  });

  it('gives shares for people', () => {
    expect(share(7, 15)).toBe('47 %');
    expect(share(1, 15)).toBe('6.7 %');
    expect(share(1, 5000)).toBe('< 0.1 %');
    expect(share(0, 15)).toBe('0 %');
    expect(share(0, 0)).toBe('');
  });

  it('stacks the requests by outcome, the table keeping them whole', () => {
    const chart = requestChart(hourly);
    expect(chart.keyHeader).toBe('Hour (UTC)');
    expect(chart.keys).toEqual(['2026-03-05 23:00', '2026-03-06 00:00', '2026-03-06 01:00']);
    expect(chart.labels).toEqual(['23:00', '00:00', '01:00']);
    expect(chart.series.map((s) => s.values)).toEqual([
      [7, 0, 0],
      [2, 0, 5],
      [1, 0, 0],
    ]);
    expect(chart.columns.map((c) => c.header)).toEqual(['Requests', 'Client errors (4xx)', 'Server errors (5xx)']);
    expect(chart.columns[0]?.values).toEqual([10, 0, 5]);
  });

  it('charts the jobs by outcome, per day for the longer ranges', () => {
    const daily: Activity = { range: '7d', bucket: 'day', buckets: [bucket('2026-03-05T00:00:00Z', { jobs_succeeded: 3, jobs_dead: 1 })] };
    const chart = jobChart(daily);
    expect(chart.keyHeader).toBe('Day (UTC)');
    expect(chart.keys).toEqual(['2026-03-05']);
    expect(chart.series.map((s) => [s.label, s.values])).toEqual([
      ['Succeeded', [3]],
      ['Failed attempts', [0]],
      ['Dead', [1]],
    ]);
    expect(chart.columns.map((c) => c.header)).toEqual(['Succeeded', 'Failed attempts', 'Dead']);
  });
});
