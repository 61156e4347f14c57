// The notifications administrators sent, as the "Sent" list under the form shows them: to
// whom, by whom, how many got it (unknown while a fan-out job runs, when the list is read
// again every 2 s, a few times).

import type { SentNotification } from '../../lib/types';
import { capitalized } from './format';

export const SENT_PER_PAGE = 10;
/** How long between two readings of the list while a notification is being delivered. */
export const DELIVERY_POLL_MS = 2000;
/** How many times the list is read again (after a send or a refresh) while one is delivering. */
export const DELIVERY_POLLS = 5;

/** Who it went to: `ada@example.com`, `Every Premium account`, `Everyone`. */
export function sentAudience(sent: Pick<SentNotification, 'audience' | 'audience_value'>): string {
  if (sent.audience === 'user') return sent.audience_value || 'One account';
  if (sent.audience === 'role') return sent.audience_value ? `Every ${capitalized(sent.audience_value)} account` : 'Everyone with a role';
  return 'Everyone';
}

/** Who sent it: their address then, else their id. */
export function sentBy(sent: Pick<SentNotification, 'sent_by' | 'sent_by_email'>): string {
  return sent.sent_by_email || sent.sent_by;
}

/** How many got it: `delivering…` while unknown, `1 recipient`, `1,204 recipients`. */
export function recipientsLabel(recipients: number | null): string {
  if (recipients === null) return 'delivering…';
  return recipients === 1 ? '1 recipient' : `${recipients.toLocaleString('en-US')} recipients`;
}

/** Whether a notification of the list is still being delivered. */
export function anyDelivering(items: readonly Pick<SentNotification, 'recipients'>[]): boolean {
  return items.some((sent) => sent.recipients === null);
}

/** Whether to read the list again, after `polls` readings: one is delivering and polls are left. */
export function shouldPoll(items: readonly Pick<SentNotification, 'recipients'>[], polls: number): boolean {
  return polls < DELIVERY_POLLS && anyDelivering(items);
}
