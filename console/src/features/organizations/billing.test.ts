import { describe, expect, it } from 'vitest';
import { bytes, isPaid, keyLimits, money } from './billing';
import type { Plan } from '../../lib/types';

const plan = (over: Partial<Plan> = {}): Plan => ({
  code: 'pro',
  name: 'Pro',
  currency: 'EUR',
  price_month: 1900,
  price_year: 19000,
  limits: {
    projects: 10,
    apps: null,
    records: 100000,
    storage_bytes: 1073741824,
    api_calls_per_day: null,
    ai_tokens_per_month: null,
    exports_per_month: 5,
    members: 5,
  },
  ...over,
});

describe('billing format', () => {
  it('formats minor units in the currency', () => {
    expect(money(1999, 'EUR', 'en-US')).toBe('€19.99');
    expect(money(0, 'USD', 'en-US')).toBe('$0.00');
    expect(money(500, 'JPY', 'en-US')).toBe('¥500');
    expect(money(1234, 'NOPE', 'en-US')).toBe('12.34 NOPE');
  });

  it('formats sizes', () => {
    expect(bytes(1073741824)).toBe('1 GB');
    expect(bytes(1536)).toBe('1.5 KB');
    expect(bytes(10)).toBe('10 B');
  });

  it('lists the key limits, null being unlimited', () => {
    const limits = keyLimits(plan());
    expect(limits.find((l) => l.label === 'Apps')?.value).toBe('Unlimited');
    expect(limits.find((l) => l.label === 'Storage')?.value).toBe('1 GB');
    expect(limits.find((l) => l.label === 'Projects')?.value).toBe('10');
  });

  it('tells a paid plan from a free one', () => {
    expect(isPaid(plan())).toBe(true);
    expect(isPaid(plan({ price_month: 0, price_year: 0 }))).toBe(false);
  });
});
