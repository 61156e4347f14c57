// Refunds of an organization's payments: which can be refunded through the console, how much
// is left, and the amount typed in the currency's main unit.

import type { Payment, RefundRequest } from '../../lib/types';
import { fractionDigits } from './billing';

/** The providers whose payments are refunded through their API (others: in their back office). */
export const REFUNDABLE_PROVIDERS: ReadonlySet<string> = new Set(['sandbox', 'stripe', 'paypal']);

/** What is left to refund, in minor units. */
export function refundLeft(payment: Pick<Payment, 'amount' | 'amount_refunded'>): number {
  return Math.max(0, payment.amount - (payment.amount_refunded ?? 0));
}

/** Whether the console offers to refund the payment. */
export function canRefund(payment: Pick<Payment, 'provider' | 'status' | 'amount' | 'amount_refunded'>): boolean {
  return (
    REFUNDABLE_PROVIDERS.has(payment.provider) &&
    (payment.status === 'succeeded' || payment.status === 'partially_refunded') &&
    refundLeft(payment) > 0
  );
}

/** `12.5` (or `12,50`) in EUR → 1250 minor units; null when it is not an amount of the currency. */
export function minorUnits(text: string, currency: string): number | null {
  const cleaned = text.trim().replace(',', '.');
  const digits = fractionDigits(currency);
  const pattern = digits > 0 ? new RegExp(`^\\d+(\\.\\d{1,${digits}})?$`) : /^\d+$/;
  if (!pattern.test(cleaned)) return null;
  return Math.round(Number(cleaned) * 10 ** digits);
}

/** The request for the form: no amount refunds the rest; or the local error of the amount. */
export function refundRequest(amountText: string, reason: string, currency: string): { request: RefundRequest } | { amountError: string } {
  const request: RefundRequest = { reason: reason.trim() };
  if (!amountText.trim()) return { request };
  const amount = minorUnits(amountText, currency);
  if (amount === null || amount <= 0) {
    const digits = fractionDigits(currency);
    return { amountError: `Enter an amount in ${currency}${digits ? `, e.g. ${(12.5).toFixed(digits)}` : ''}.` };
  }
  return { request: { ...request, amount } };
}

/** `succeeded`, `partially refunded`: a payment's status for people. */
export function paymentStatus(status: string): string {
  return status.replace(/_/g, ' ');
}
