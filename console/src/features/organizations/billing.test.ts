import { describe, expect, it } from 'vitest';
import {
  bytes,
  cardExpiry,
  cardLabel,
  cleanProfile,
  isPaid,
  keyLimits,
  majorUnits,
  metricLabel,
  money,
  nextInvoiceText,
  pdfFileName,
  usageAmount,
  usageLevel,
  usagePercent,
  usageText,
  windowLabel,
  withQueryParam,
} from './billing';
import type { NextInvoice, Plan } from '../../lib/types';

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

describe('usage against the limits', () => {
  it('names metrics and windows', () => {
    expect(metricLabel('api_calls_per_day')).toBe('API calls');
    expect(metricLabel('storage_bytes')).toBe('Storage');
    expect(metricLabel('something_new')).toBe('something_new');
    expect(windowLabel('day')).toBe('today');
    expect(windowLabel('month')).toBe('this month');
    expect(windowLabel('current')).toBe('');
  });

  it('formats bytes for storage and groups other numbers', () => {
    expect(usageAmount('storage_bytes', 1610612736)).toBe('1.5 GB');
    expect(usageAmount('records', 12345, 'en-US')).toBe('12,345');
  });

  it('computes the share used, rounded down', () => {
    expect(usagePercent(5, null)).toBeNull();
    expect(usagePercent(0, 10)).toBe(0);
    expect(usagePercent(899, 1000)).toBe(89);
    expect(usagePercent(900, 1000)).toBe(90);
    expect(usagePercent(15, 10)).toBe(150);
    expect(usagePercent(0, 0)).toBe(100);
    expect(usagePercent(-3, 10)).toBe(0);
  });

  it('tells how close to the limit a usage is', () => {
    expect(usageLevel(1_000_000, null)).toBe('unlimited');
    expect(usageLevel(0, 10)).toBe('ok');
    expect(usageLevel(899, 1000)).toBe('ok');
    expect(usageLevel(900, 1000)).toBe('near');
    expect(usageLevel(9, 10)).toBe('near');
    expect(usageLevel(10, 10)).toBe('at');
    expect(usageLevel(0, 0)).toBe('at');
    expect(usageLevel(11, 10)).toBe('over');
  });

  it('says used / limit with the window', () => {
    expect(usageText({ metric: 'api_calls_per_day', window: 'day', used: 1234, limit: 10000 }, 'en-US')).toBe('1,234 / 10,000 today');
    expect(usageText({ metric: 'exports_per_month', window: 'month', used: 2, limit: 5 }, 'en-US')).toBe('2 / 5 this month');
    expect(usageText({ metric: 'storage_bytes', window: 'current', used: 1536, limit: 1073741824 })).toBe('1.5 KB / 1 GB');
    expect(usageText({ metric: 'apps', window: 'current', used: 3, limit: null })).toBe('3 / unlimited');
  });

  it('says when the plan renews and for how much', () => {
    const next: NextInvoice = { date: '2027-01-06T18:00:00Z', amount: 1900, currency: 'EUR', plan: 'PRO', period: 'month' };
    const date = new Date(next.date).toLocaleDateString('en-US');
    expect(nextInvoiceText(next, 'active', 'en-US')).toBe(`Renews on ${date} for €19.00`);
    expect(nextInvoiceText(next, 'past_due', 'en-US')).toBe(`Renewal of €19.00 due since ${date}`);
  });
});

describe('amounts and files', () => {
  it('turns minor units into the main unit', () => {
    expect(majorUnits(1999, 'EUR')).toBe(19.99);
    expect(majorUnits(-1900, 'EUR')).toBe(-19);
    expect(majorUnits(500, 'JPY')).toBe(500);
    expect(majorUnits(1234, 'NOPE')).toBe(12.34);
  });

  it("names a PDF after the document's number", () => {
    expect(pdfFileName({ id: 'i1', number: '2026-0004', kind: 'invoice' })).toBe('invoice-2026-0004.pdf');
    expect(pdfFileName({ id: 'i1', number: 'TEST-2026/7', kind: 'credit_note' })).toBe('credit-note-TEST-2026_7.pdf');
    expect(pdfFileName({ id: 'i1', number: '', kind: 'invoice' })).toBe('invoice-i1.pdf');
  });
});

describe('billing profile and cards', () => {
  it('names and dates cards', () => {
    expect(cardLabel({ brand: 'visa', last4: '4242' })).toBe('Visa •••• 4242');
    expect(cardLabel({ brand: '', last4: '0005' })).toBe('Card •••• 0005');
    expect(cardExpiry({ exp_month: 4, exp_year: 2027 })).toBe('04/2027');
  });

  it('sets a query parameter on an address', () => {
    expect(withQueryParam('https://s.test/console/organizations/o/billing', 'card', 'saved')).toBe(
      'https://s.test/console/organizations/o/billing?card=saved',
    );
    expect(withQueryParam('https://s.test/b?paid=1&card=x#top', 'card', 'saved')).toBe('https://s.test/b?paid=1&card=saved');
  });

  it('cleans a profile before saving it', () => {
    expect(cleanProfile({ organization_id: 'o', name: ' Acme ', address: ' 1 rue ', country: 'fr ', vat_id: ' FR1 ', email: ' a@b.c ' })).toEqual({
      organization_id: 'o',
      name: 'Acme',
      address: '1 rue',
      country: 'FR',
      vat_id: 'FR1',
      email: 'a@b.c',
    });
  });
});
