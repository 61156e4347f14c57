import { describe, expect, it } from 'vitest';
import { canRefund, minorUnits, paymentStatus, refundLeft, refundRequest } from './refunds';

const paid = { provider: 'sandbox', status: 'succeeded', amount: 1900, amount_refunded: 0 };

describe('refunds', () => {
  it('offers to refund what a provider takes back through its API', () => {
    expect(canRefund(paid)).toBe(true);
    expect(canRefund({ ...paid, status: 'partially_refunded', amount_refunded: 500 })).toBe(true);
    expect(canRefund({ ...paid, status: 'refunded', amount_refunded: 1900 })).toBe(false);
    expect(canRefund({ ...paid, status: 'pending' })).toBe(false);
    expect(canRefund({ ...paid, provider: 'cinetpay' })).toBe(false);
    expect(refundLeft({ amount: 1900, amount_refunded: 500 })).toBe(1400);
  });

  it('reads amounts in the main unit of the currency', () => {
    expect(minorUnits('12.5', 'EUR')).toBe(1250);
    expect(minorUnits(' 12,05 ', 'EUR')).toBe(1205);
    expect(minorUnits('19', 'EUR')).toBe(1900);
    expect(minorUnits('1.999', 'EUR')).toBeNull();
    expect(minorUnits('-3', 'EUR')).toBeNull();
    expect(minorUnits('500', 'JPY')).toBe(500);
    expect(minorUnits('5.5', 'JPY')).toBeNull();
  });

  it('asks for the rest when no amount is given', () => {
    expect(refundRequest('', ' duplicate ', 'EUR')).toEqual({ request: { reason: 'duplicate' } });
    expect(refundRequest('1', '', 'EUR')).toEqual({ request: { reason: '', amount: 100 } });
    expect(refundRequest('abc', '', 'EUR')).toEqual({ amountError: 'Enter an amount in EUR, e.g. 12.50.' });
    expect(refundRequest('0', '', 'EUR')).toHaveProperty('amountError');
  });

  it('writes statuses for people', () => {
    expect(paymentStatus('partially_refunded')).toBe('partially refunded');
  });
});
