// A page's live editing history for people: its editing sessions (who, when, how many
// changes), their changes decoded from the API (Yjs updates in base64) to be played back, the
// position of a replay, and the times one can travel to.

import type { Member, Replay, ReplayDetail, ReplayUpdate } from '../../lib/types';

/** One logged change of the page, decoded. */
export interface Change {
  id: number;
  author: string;
  kind: string;
  /** RFC 3339, as the server wrote it (to the microsecond: never rounded through a Date). */
  at: string;
  /** The Yjs update (v1 encoding). */
  update: Uint8Array;
}

/** A session to play back on its own: the page just before its first change, and its changes. */
export interface SessionLog {
  /** The page's whole state then (a Yjs v1 update; null when the session changed nothing). */
  base: Uint8Array | null;
  changes: Change[];
}

export function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The changes of the API's updates, in order; unreadable ones are left out. */
export function decodeUpdates(updates: readonly unknown[]): Change[] {
  const changes: Change[] = [];
  for (const u of updates) {
    if (!isObject(u) || typeof u.id !== 'number' || typeof u.update !== 'string' || typeof u.created_at !== 'string') continue;
    let update: Uint8Array;
    try {
      update = base64Bytes(u.update);
    } catch {
      continue;
    }
    changes.push({
      id: u.id,
      author: typeof u.author_id === 'string' ? u.author_id : '',
      kind: typeof u.kind === 'string' ? u.kind : 'edit',
      at: u.created_at,
      update,
    });
  }
  return changes.sort((a, b) => a.id - b.id);
}

/** A session (`GET …/replays/{id}`): the page before it (null when missing or unreadable) and its changes, in order. */
export function decodeReplay(detail: Pick<ReplayDetail, 'base' | 'updates'>): SessionLog {
  let base: Uint8Array | null = null;
  if (typeof detail.base === 'string') {
    try {
      base = base64Bytes(detail.base);
    } catch {
      base = null;
    }
  }
  return { base, changes: decodeUpdates(Array.isArray(detail.updates) ? (detail.updates as ReplayUpdate[]) : []) };
}

export const HISTORY_FORMAT = 'socle.collab.history/1';

/** The times of the changes in the page's history export (`GET …/history`, once gunzipped), as written. */
export function historyTimes(json: unknown): string[] {
  if (!isObject(json) || json.format !== HISTORY_FORMAT) throw new Error('This is not a page history export.');
  const updates = Array.isArray(json.updates) ? (json.updates as unknown[]) : [];
  return updates.flatMap((u) => (isObject(u) && typeof u.created_at === 'string' ? [u.created_at] : []));
}

/** The JSON of a gzip-compressed body (or of a plain one: a proxy may have unpacked it already). */
export async function gunzipJson(blob: Blob): Promise<unknown> {
  const head = new Uint8Array(await blob.slice(0, 2).arrayBuffer());
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const stream = gzip ? blob.stream().pipeThrough(new DecompressionStream('gzip')) : blob.stream();
  return JSON.parse(await new Response(stream).text());
}

/** Both lists of changes as one, by id (a change in both once). */
export function mergeChanges(a: readonly Change[], b: readonly Change[]): Change[] {
  const byId = new Map<number, Change>();
  for (const change of [...a, ...b]) if (!byId.has(change.id)) byId.set(change.id, change);
  return [...byId.values()].sort((x, y) => x.id - y.id);
}

// --- Sessions ------------------------------------------------------------------------------------

/**
 * The other sessions that changed the page while `session` did (from its start to its last
 * change): their changes are played back with its own, the page as everyone saw it then.
 */
export function sessionsMeanwhile(sessions: readonly Replay[], session: Pick<Replay, 'id' | 'started_at' | 'last_change_at'>): Replay[] {
  if (!session.last_change_at) return [];
  const [start, end] = [Date.parse(session.started_at), Date.parse(session.last_change_at)];
  return sessions.filter(
    (s) =>
      s.id !== session.id &&
      s.changes > 0 &&
      s.last_change_at !== null &&
      Date.parse(s.started_at) <= end &&
      Date.parse(s.last_change_at) >= start,
  );
}

const KINDS: Record<string, string> = {
  live: 'Live editing',
  rest: 'Written through the API',
  restore: 'Restored',
  seed: 'First opened',
  repair: 'Repaired',
  edit: 'Edit',
};

/** What kind of session or change it was, for people. */
export function kindLabel(kind: string): string {
  return KINDS[kind] ?? kind;
}

/** People's names by account id, from the organization's members. */
export function namesOf(members: readonly Pick<Member, 'user_id' | 'first_name' | 'last_name' | 'email'>[]): Map<string, string> {
  return new Map(members.map((m) => [m.user_id, `${m.first_name} ${m.last_name}`.trim() || m.email]));
}

/** Who an author id is: a member's name, the platform itself, or an account no longer in the organization. */
export function authorName(id: string, names: ReadonlyMap<string, string>): string {
  if (id === 'system') return 'Socle';
  return names.get(id) ?? `Someone else (${id.slice(0, 8)})`;
}

// --- Playing a session back -------------------------------------------------------------------
// A session of n changes has n + 1 positions: 0 is the page just before its first change, k
// the page right after its k-th change.

export function clampPosition(position: number, length: number): number {
  if (!Number.isFinite(position)) return 0;
  return Math.min(Math.max(0, Math.round(position)), Math.max(0, length));
}

/** The position `delta` changes further (clamped). */
export function stepPosition(position: number, delta: number, length: number): number {
  return clampPosition(position + delta, length);
}

/** Where Play starts from: the start again once the replay is over. */
export function playFrom(position: number, length: number): number {
  return position >= length ? 0 : position;
}

/** The last change (id) the page holds at `position` of a session whose changes are `session` (ids in order). */
export function lastChangeAt(session: readonly Pick<Change, 'id'>[], position: number): number {
  const p = clampPosition(position, session.length);
  if (p === 0) return (session[0]?.id ?? 1) - 1;
  return session[p - 1]?.id ?? 0;
}

/** `Change 3 of 12, 14:03:05 by Ada Lovelace` (or `Before the first of 12 changes`). */
export function positionText(position: number, session: readonly Change[], names: ReadonlyMap<string, string>): string {
  const n = session.length;
  const p = clampPosition(position, n);
  const change = session[p - 1];
  if (p === 0 || !change) return `Before the first of ${n} ${n === 1 ? 'change' : 'changes'}`;
  return `Change ${p} of ${n}, ${timeText(change.at)} by ${authorName(change.author, names)}`;
}

// --- Time travel --------------------------------------------------------------------------------

/** The times one can travel to: each change's, in order, once. */
export function timeStops(times: readonly string[]): string[] {
  return [...new Set(times)].sort((a, b) => Date.parse(a) - Date.parse(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The index of the last stop at or before `time` (0 when it comes before them all). */
export function stopIndexAt(stops: readonly string[], time: string): number {
  const t = Date.parse(time);
  let index = 0;
  stops.forEach((stop, i) => {
    if (Date.parse(stop) <= t) index = i;
  });
  return index;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The value of a `datetime-local` input (local time, to the second) for an RFC 3339 time. */
export function toLocalInput(time: string): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return '';
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * The RFC 3339 time of a `datetime-local` value: the end of that second (or minute), so that
 * the changes made during it are included (null when it is not a time).
 */
export function fromLocalInput(value: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const withSeconds = match[6] !== undefined;
  const date = new Date(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, withSeconds ? (s ?? 0) : 59, 999);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A time for people, to the second (its year when not this one). */
export function timeText(time: string, now = new Date()): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return time;
  return d.toLocaleString(undefined, {
    year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** `Mar 5, 14:03:05 – 14:20:41` for a session (the end's date when another day; `… – now` while it goes on). */
export function sessionPeriod(replay: Pick<Replay, 'started_at' | 'ended_at'>, now = new Date()): string {
  const start = timeText(replay.started_at, now);
  if (!replay.ended_at) return `${start} – now`;
  const [a, b] = [new Date(replay.started_at), new Date(replay.ended_at)];
  const end =
    a.toDateString() === b.toDateString()
      ? b.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : timeText(replay.ended_at, now);
  return `${start} – ${end}`;
}
