// An administrator's notification: who gets it (one account, everyone with a role, or
// everyone), what it says, the checks the server makes (so that they show before sending),
// and what its answer means.

import type { FieldErrors } from '../../lib/api';
import type { AdminNotification, AdminUser, NotificationAudience, NotifyResult, PlatformRole } from '../../lib/types';
import { capitalized } from './format';

export type AudienceKind = 'user' | 'role' | 'everyone';

/** The form as typed. */
export interface BroadcastDraft {
  audience: AudienceKind;
  /** One account: its address or its id. */
  user: string;
  role: PlatformRole;
  type: string;
  title: string;
  body: string;
  url: string;
}

export const DEFAULT_TYPE = 'admin.message';

export function emptyDraft(): BroadcastDraft {
  return { audience: 'user', user: '', role: 'user', type: DEFAULT_TYPE, title: '', body: '', url: '' };
}

/** Whether the account is given by its address (else by its id). */
export function isEmailLike(text: string): boolean {
  return text.includes('@');
}

/** The messages of the server's rules, by field, for the values as typed (none: fine). */
export function draftErrors(draft: BroadcastDraft): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);
  if (draft.audience === 'user' && draft.user.trim() === '') add('user_id', "Enter the account's email address or id.");
  const type = draft.type.trim();
  if (type === '') add('type', 'Give the notification a type.');
  else if (type.length > 64) add('type', 'A type is at most 64 characters.');
  else if (!/^[A-Za-z0-9._-]+$/.test(type)) add('type', "A type is letters, digits, '.', '_' and '-'.");
  const title = draft.title.trim();
  if (title === '') add('title', 'Give the notification a title.');
  else if (title.length > 200) add('title', 'A title is at most 200 characters.');
  if (draft.body.length > 5000) add('body', 'The message is at most 5,000 characters.');
  if (draft.url.trim().length > 2000) add('url', 'A link is at most 2,000 characters.');
  return errors;
}

/** The request for a draft whose account (if it goes to one) is `userId`. */
export function broadcastRequest(draft: BroadcastDraft, userId = ''): AdminNotification {
  const audience: NotificationAudience =
    draft.audience === 'user' ? { user_id: userId } : draft.audience === 'role' ? { role: draft.role } : { everyone: true };
  const body = draft.body.trim();
  const url = draft.url.trim();
  return {
    ...audience,
    type: draft.type.trim(),
    title: draft.title.trim(),
    ...(body ? { body } : {}),
    ...(url ? { url } : {}),
  };
}

/** Who a draft goes to, for people: `ada@example.com`, `every Premium account`, `every active account`. */
export function audienceLabel(draft: BroadcastDraft): string {
  if (draft.audience === 'user') return draft.user.trim();
  if (draft.audience === 'role') return `every ${capitalized(draft.role)} account`;
  return 'every active account';
}

/** What the server's answer means. */
export function resultMessage(result: NotifyResult, draft: BroadcastDraft): string {
  if (result.job_id) {
    return `Queued for ${audienceLabel(draft)}: a job (${result.job_id}) delivers it in the next moments.`;
  }
  return `Sent to ${audienceLabel(draft)}.`;
}

/** The account of a search's results whose address is exactly `email` (any case), or null. */
export function accountWithEmail(users: readonly Pick<AdminUser, 'id' | 'email'>[], email: string): string | null {
  const wanted = email.trim().toLowerCase();
  return users.find((u) => u.email.toLowerCase() === wanted)?.id ?? null;
}
