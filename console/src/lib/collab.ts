// The page's live room (crates/collab): the official y-websocket client on
// ws(s)://<this host>/api/v1/collab/pages/<page id>?token=<access token>, and presence read
// from its awareness states.

import { WebsocketProvider } from 'y-websocket';
import type * as Y from 'yjs';
import type { Api } from './api';

/** Close codes the server ends a room with for good: the session ended (4401), access revoked (4403). */
export const SESSION_ENDED = 4401;

export function collabUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/collab/pages`;
}

/**
 * Join the room of `pageId` with the builder's access token. An ended session (the token
 * expired) is refreshed and the room joined again with the new token.
 */
export function joinPage(api: Api, pageId: string, doc: Y.Doc): WebsocketProvider {
  const params = () => ({ token: api.accessToken() ?? '' });
  // Cross-tab sync is off: every edit goes through the server, which validates it.
  const provider = new WebsocketProvider(collabUrl(window.location), pageId, doc, { params: params(), disableBc: true });
  let opened = false;
  provider.on('status', ({ status }) => {
    if (status === 'connected') opened = true;
  });
  provider.on('connection-close', (event) => {
    // A handshake refused before the upgrade (an expired token is a 401) closes as 1006.
    if (event?.code === 1006 && !opened) {
      void api.refresh().then(() => (provider.params = params()));
    } else {
      provider.params = params();
    }
    opened = false;
  });
  provider.on('closed', ({ code }) => {
    if (code !== SESSION_ENDED) return;
    void api.refresh().then((ok) => {
      if (!ok) return;
      provider.params = params();
      provider.connect();
    });
  });
  return provider;
}

export interface PeerUser {
  name: string;
  color: string;
}

/** Someone else in the room. */
export interface Peer {
  clientId: number;
  user: PeerUser;
  /** The path of the node they selected (child indexes from the root), or null. */
  selection: number[] | null;
}

// Dark enough for white initials on them (contrast of at least 4.5:1).
const COLORS = ['#b3261e', '#1d6b35', '#2450c2', '#7b2cbf', '#9a4a00', '#00666f', '#8a1c7c', '#4d5b00'];

export function colorFor(clientId: number): string {
  return COLORS[clientId % COLORS.length] ?? '#2450c2';
}

/** `Ada Lovelace` → `AL`. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => (w ?? '').charAt(0).toUpperCase()).join('') || '?';
}

function isPath(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((i) => Number.isInteger(i) && i >= 0);
}

/** The other editors of the room, from the awareness states (`user`, `selection`). */
export function peersOf(states: Map<number, Record<string, unknown>>, self: number): Peer[] {
  const peers: Peer[] = [];
  for (const [clientId, state] of states) {
    if (clientId === self) continue;
    const user = state.user as Partial<PeerUser> | undefined;
    if (!user || typeof user.name !== 'string') continue;
    peers.push({
      clientId,
      user: { name: user.name, color: typeof user.color === 'string' ? user.color : colorFor(clientId) },
      selection: isPath(state.selection) ? state.selection : null,
    });
  }
  return peers.sort((a, b) => a.clientId - b.clientId);
}
