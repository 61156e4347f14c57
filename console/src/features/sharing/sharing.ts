// Share links and project bundles for people: the link's address, its lifetimes, whether it
// still works, and the bundle's file name.

import type { NewShareLink, ShareLink } from '../../lib/types';

/** The address a share link opens: the project's pages, read-only, without signing in. */
export function shareUrl(origin: string, token: string): string {
  return `${origin.replace(/\/+$/, '')}/api/v1/studio/share/${encodeURIComponent(token)}`;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/** The lifetimes offered, in seconds ('' is until revoked). */
export const EXPIRY_OPTIONS: ReadonlyArray<{ value: string; label: string }> = [
  { value: '', label: 'Until revoked' },
  { value: String(HOUR), label: '1 hour' },
  { value: String(DAY), label: '1 day' },
  { value: String(7 * DAY), label: '7 days' },
  { value: String(30 * DAY), label: '30 days' },
  { value: String(365 * DAY), label: '1 year' },
];

/** The request for a chosen lifetime. */
export function shareLinkPayload(expiry: string): NewShareLink {
  const seconds = Number(expiry);
  return expiry && Number.isFinite(seconds) && seconds > 0 ? { expires_in_secs: seconds } : {};
}

export type LinkState = 'active' | 'expired' | 'revoked';

/** Whether a link still opens the project at `now`. */
export function linkState(link: Pick<ShareLink, 'expires_at' | 'revoked_at'>, now: Date = new Date()): LinkState {
  if (link.revoked_at) return 'revoked';
  if (link.expires_at && new Date(link.expires_at).getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** `Book shop` → `book-shop.socle.json.gz` (the project's id when its name has no letters). */
export function bundleFileName(project: { id: string; name: string }): string {
  const base = project.name
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${base || `project-${project.id}`}.socle.json.gz`;
}

/** Whether a chosen file looks like a bundle (by its name; the server checks the content). */
export function looksLikeBundle(name: string): boolean {
  return /\.(gz|json)$/i.test(name);
}
