// Helpers of an account's Sessions in the Users detail: each session's device and address as
// people read them, the questions asked before signing it out, and what was done.

import type { AdminSession } from '../../lib/types';
import { when } from './format';

/** The device of a session, as the account's own Sessions screen names it: its user agent. */
export function deviceName(session: Pick<AdminSession, 'user_agent'>): string {
  return session.user_agent?.trim() || 'Unknown device';
}

/** The address a session signed in from. */
export function sessionAddress(session: Pick<AdminSession, 'ip'>): string {
  return session.ip?.trim() || 'Unknown';
}

/** The question asked before signing one device out; `self` when the account is the administrator's. */
export function signOutQuestion(name: string, session: Pick<AdminSession, 'user_agent' | 'last_used_at'>, self = false): string {
  const warning = self ? ' If it is this browser, you are signed out.' : ' They must sign in again on it.';
  return `Sign ${name} out of ${deviceName(session)} (last used ${when(session.last_used_at)})?${warning}`;
}

/** The question asked before signing every device out. */
export function signOutEverywhereQuestion(name: string, self = false): string {
  const warning = self ? ' This browser too: you are signed out.' : ' They must sign in again on each.';
  return `Sign ${name} out of every device?${warning}`;
}

/** What signing one device out did. */
export function signedOutMessage(name: string, session: Pick<AdminSession, 'user_agent'>): string {
  return `${name} is signed out of ${deviceName(session)}.`;
}

/** What signing out everywhere did, by the number of sessions that were open. */
export function signedOutEverywhereMessage(name: string, revoked: number): string {
  if (revoked === 0) return `${name} had no open session.`;
  return `${name} is signed out everywhere (${revoked} ${revoked === 1 ? 'session' : 'sessions'}).`;
}
