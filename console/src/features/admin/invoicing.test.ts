import { describe, expect, it } from 'vitest';
import { buyerName, invoiceFilter, kindLabel, netBars, revenueCurrencies, revenuePlans, revenueTotals } from './invoicing';
import type { RevenueMonth } from '../../lib/types';

const month = (m: string, net: number, by_plan: Record<string, number>, currency = 'EUR'): RevenueMonth => ({
  month: m,
  currency,
  invoices: 1,
  invoiced: net + 100,
  credited: -100,
  net,
  vat: Math.round(net / 6),
  by_plan,
});

describe('invoices', () => {
  it('labels kinds and buyers', () => {
    expect(kindLabel('credit_note')).toBe('Credit note');
    expect(kindLabel('invoice')).toBe('Invoice');
    expect(buyerName({ buyer: { name: 'Acme', email: 'a@b.c' } })).toBe('Acme');
    expect(buyerName({ buyer: { name: ' ', email: 'a@b.c' } })).toBe('a@b.c');
    expect(buyerName({ buyer: null })).toBe('');
  });

  it('keeps the filled-in filters, trimmed', () => {
    expect(invoiceFilter({ status: 'issued', kind: '', organization_id: ' o1 ', from: '2026-01-01', to: '', number: '  ' })).toEqual({
      status: 'issued',
      organization_id: 'o1',
      from: '2026-01-01',
    });
  });
});

describe('revenue', () => {
  const rows = [
    month('2026-11', 1900, { PRO: 1900 }),
    month('2026-12', 11800, { other: 2000, PRO: 1900, BUSINESS: 7900 }),
    month('2026-12', 500, { PRO: 500 }, 'USD'),
  ];

  it('has a column per plan, other last', () => {
    expect(revenuePlans(rows)).toEqual(['BUSINESS', 'PRO', 'other']);
    expect(revenuePlans([])).toEqual([]);
    expect(revenueCurrencies(rows)).toEqual(['EUR', 'USD']);
  });

  it('adds the months up per currency', () => {
    const [eur, usd] = revenueTotals(rows);
    expect(eur).toEqual({
      month: 'Total',
      currency: 'EUR',
      invoices: 2,
      invoiced: 13900,
      credited: -200,
      net: 13700,
      vat: 317 + 1967,
      by_plan: { PRO: 3800, BUSINESS: 7900, other: 2000 },
    });
    expect(usd?.net).toBe(500);
  });

  it('charts the net of every month, empty ones included', () => {
    const bars = netBars(rows, 'EUR', ['2026-10', '2026-11', '2026-12'], 'en-US');
    expect(bars.map((b) => b.value)).toEqual([0, 19, 118]);
    expect(bars[1]).toEqual({ key: '2026-11', label: 'Nov 2026', value: 19, text: '€19.00' });
    expect(netBars(rows, 'USD', ['2026-12'], 'en-US')[0]?.text).toBe('$5.00');
  });
});
