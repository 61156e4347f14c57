// Helpers of the invoice and revenue screens: labels, the filter, plan columns, totals, bars.

import type { AdminInvoiceFilter, Invoice, InvoiceKind, InvoiceStatus, RevenueMonth } from '../../lib/types';
import { shortMonth } from '../../lib/chartLabels';
import { majorUnits, money } from '../organizations/billing';

export const INVOICE_STATUSES: readonly InvoiceStatus[] = ['issued', 'paid', 'void'];
export const INVOICE_KINDS: readonly InvoiceKind[] = ['invoice', 'credit_note'];

/** `credit_note` → `Credit note`. */
export function kindLabel(kind: string): string {
  return kind === 'credit_note' ? 'Credit note' : kind === 'invoice' ? 'Invoice' : kind;
}

/** The filter form's values as the API's filter: trimmed, empty ones left out. */
export function invoiceFilter(form: InvoiceForm): AdminInvoiceFilter {
  const filter: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) {
    if (value.trim() !== '') filter[key] = value.trim();
  }
  return filter as AdminInvoiceFilter;
}

/** Who an invoice is made out to: the buyer's name, else their address. */
export function buyerName(invoice: Pick<Invoice, 'buyer'>): string {
  return invoice.buyer?.name?.trim() || invoice.buyer?.email || '';
}

/** The plans of the months' revenue, by name, `other` last. */
export function revenuePlans(months: readonly RevenueMonth[]): string[] {
  const plans = new Set(months.flatMap((m) => Object.keys(m.by_plan)));
  return [...plans].sort((a, b) => Number(a === 'other') - Number(b === 'other') || a.localeCompare(b));
}

/** The currencies of the months, by name. */
export function revenueCurrencies(months: readonly RevenueMonth[]): string[] {
  return [...new Set(months.map((m) => m.currency))].sort();
}

/** One line per currency adding up its months (`month` is `Total`). */
export function revenueTotals(months: readonly RevenueMonth[]): RevenueMonth[] {
  return revenueCurrencies(months).map((currency) => {
    const total: RevenueMonth = { month: 'Total', currency, invoices: 0, invoiced: 0, credited: 0, net: 0, vat: 0, by_plan: {} };
    for (const m of months.filter((x) => x.currency === currency)) {
      total.invoices += m.invoices;
      total.invoiced += m.invoiced;
      total.credited += m.credited;
      total.net += m.net;
      total.vat += m.vat;
      for (const [plan, net] of Object.entries(m.by_plan)) total.by_plan[plan] = (total.by_plan[plan] ?? 0) + net;
    }
    return total;
  });
}

/** The net revenue of each of `months` in one currency, as bars (0 for a month without any). */
export function netBars(
  rows: readonly RevenueMonth[],
  currency: string,
  months: readonly string[],
  locale?: string,
): Array<{ key: string; label: string; value: number; text: string }> {
  return months.map((month) => {
    const net = rows.find((r) => r.month === month && r.currency === currency)?.net ?? 0;
    return { key: month, label: shortMonth(month, locale), value: majorUnits(net, currency), text: money(net, currency, locale) };
  });
}

/** The invoice filter form's values, all text ('' for any). */
export type InvoiceForm = Record<keyof AdminInvoiceFilter, string>;

export function emptyInvoiceForm(organizationId = ''): InvoiceForm {
  return { status: '', kind: '', organization_id: organizationId, from: '', to: '', number: '' };
}
