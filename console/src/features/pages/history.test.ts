import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Replay } from '../../lib/types';
import {
  authorName,
  base64Bytes,
  clampPosition,
  decodeReplay,
  fromLocalInput,
  gunzipJson,
  historyTimes,
  kindLabel,
  lastChangeAt,
  mergeChanges,
  namesOf,
  playFrom,
  positionText,
  sessionPeriod,
  sessionsMeanwhile,
  stepPosition,
  stopIndexAt,
  timeStops,
  timeText,
  toLocalInput,
  type Change,
} from './history';

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

function replay(overrides: Partial<Replay>): Replay {
  return {
    id: 'r1',
    page_id: 'p1',
    project_id: 'pr1',
    organization_id: 'o1',
    user_id: 'u1',
    kind: 'live',
    changes: 2,
    started_at: '2026-03-05T10:00:00Z',
    last_change_at: '2026-03-05T10:05:00Z',
    ended_at: null,
    ...overrides,
  };
}

describe("a replay's changes", () => {
  it('are decoded from the API, in order, bytes from base64, after the page just before them', () => {
    const { base, changes } = decodeReplay({
      base: b64([0, 0]),
      updates: [
        { id: 9, author_id: 'u2', kind: 'edit', update: b64([4, 5]), created_at: '2026-03-05T10:00:02.123456Z' },
        { id: 3, author_id: 'u1', kind: 'edit', update: b64([1, 2, 3]), created_at: '2026-03-05T10:00:01Z' },
      ],
    });
    expect(changes.map((c) => c.id)).toEqual([3, 9]);
    expect(Array.from(changes[0]?.update ?? [])).toEqual([1, 2, 3]);
    // The time is kept as the server wrote it, to the microsecond.
    expect(changes[1]?.at).toBe('2026-03-05T10:00:02.123456Z');
    expect(changes[1]?.author).toBe('u2');
    expect(Array.from(base ?? [])).toEqual([0, 0]);
  });

  it('leave out what cannot be read', () => {
    const updates = [{ id: 1, update: '%%%', created_at: 'x' }, { id: 2 }, null, { id: 3, update: b64([7]), created_at: 't' }];
    expect(decodeReplay({ base: null, updates } as never).changes.map((c) => c.id)).toEqual([3]);
    expect(decodeReplay({ base: '%%%', updates: [] }).base).toBeNull();
    expect(decodeReplay({ base: null, updates: [] })).toEqual({ base: null, changes: [] });
    expect(Array.from(base64Bytes(''))).toEqual([]);
  });

  it('have their times in the history export', async () => {
    const exported = {
      format: 'socle.collab.history/1',
      page_id: 'p1',
      base: { upto_id: 4, state: b64([0, 0]) },
      sessions: [],
      updates: [
        { id: 5, author_id: 'system', kind: 'seed', update: b64([1]), created_at: '2026-03-05T10:00:00.123456Z' },
        { id: 6, author_id: 'u1', kind: 'edit', update: b64([2]), created_at: '2026-03-05T10:00:01Z' },
        { id: 7 },
      ],
    };
    const times = ['2026-03-05T10:00:00.123456Z', '2026-03-05T10:00:01Z'];
    expect(historyTimes(await gunzipJson(new Blob([gzipSync(JSON.stringify(exported))])))).toEqual(times);
    // Already unpacked on the way: read as it is.
    expect(historyTimes(await gunzipJson(new Blob([JSON.stringify(exported)])))).toEqual(times);
    expect(historyTimes({ format: 'socle.collab.history/1' })).toEqual([]);
    expect(() => historyTimes({ format: 'other' })).toThrow();
  });

  it('are merged by id', () => {
    const c = (id: number): Change => ({ id, author: '', kind: 'edit', at: '', update: new Uint8Array() });
    expect(mergeChanges([c(1), c(4)], [c(4), c(2)]).map((x) => x.id)).toEqual([1, 2, 4]);
  });
});

describe('sessions', () => {
  it('made meanwhile are those that changed the page while the session did', () => {
    const session = replay({ id: 's', started_at: '2026-03-05T10:00:00Z', last_change_at: '2026-03-05T10:05:00Z' });
    const sessions = [
      session,
      replay({ id: 'during', started_at: '2026-03-05T10:01:00Z', last_change_at: '2026-03-05T10:02:00Z' }),
      replay({ id: 'across', started_at: '2026-03-05T09:00:00Z', last_change_at: '2026-03-05T11:00:00Z' }),
      replay({ id: 'ends-then', started_at: '2026-03-05T09:00:00Z', last_change_at: '2026-03-05T10:00:00Z' }),
      replay({ id: 'before', started_at: '2026-03-05T09:00:00Z', last_change_at: '2026-03-05T09:59:59.999Z' }),
      replay({ id: 'after', started_at: '2026-03-05T10:05:00.001Z', last_change_at: '2026-03-05T10:06:00Z' }),
      replay({ id: 'no-change', started_at: '2026-03-05T10:01:00Z', changes: 0, last_change_at: null }),
    ];
    expect(sessionsMeanwhile(sessions, session).map((r) => r.id)).toEqual(['during', 'across', 'ends-then']);
    expect(sessionsMeanwhile(sessions, { ...session, last_change_at: null })).toEqual([]);
  });

  it('name their authors', () => {
    const names = namesOf([
      { user_id: 'u1', first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' },
      { user_id: 'u2', first_name: '', last_name: '', email: 'grace@example.com' },
    ]);
    expect(authorName('u1', names)).toBe('Ada Lovelace');
    expect(authorName('u2', names)).toBe('grace@example.com');
    expect(authorName('system', names)).toBe('Socle');
    expect(authorName('0123456789abcdef', names)).toBe('Someone else (01234567)');
    expect(kindLabel('live')).toBe('Live editing');
    expect(kindLabel('restore')).toBe('Restored');
    expect(kindLabel('future')).toBe('future');
  });
});

describe('the position of a replay', () => {
  const session = [5, 8, 9].map((id, i): Change => ({ id, author: 'u1', kind: 'edit', at: `2026-03-05T10:00:0${i}Z`, update: new Uint8Array() }));

  it('goes from before the first change to after the last', () => {
    expect(clampPosition(-1, 3)).toBe(0);
    expect(clampPosition(7, 3)).toBe(3);
    expect(clampPosition(Number.NaN, 3)).toBe(0);
    expect(stepPosition(0, 1, 3)).toBe(1);
    expect(stepPosition(3, 1, 3)).toBe(3);
    expect(stepPosition(1, -1, 3)).toBe(0);
    expect(playFrom(3, 3)).toBe(0);
    expect(playFrom(1, 3)).toBe(1);
  });

  it('tells which change the page holds last', () => {
    expect(lastChangeAt(session, 0)).toBe(4);
    expect(lastChangeAt(session, 1)).toBe(5);
    expect(lastChangeAt(session, 3)).toBe(9);
    expect(lastChangeAt([], 0)).toBe(0);
  });

  it('is told in words', () => {
    const names = new Map([['u1', 'Ada Lovelace']]);
    expect(positionText(0, session, names)).toBe('Before the first of 3 changes');
    expect(positionText(2, session, names)).toMatch(/^Change 2 of 3, .+ by Ada Lovelace$/);
  });
});

describe('time travel', () => {
  it('stops at each change, in order, once', () => {
    const stops = timeStops(['2026-03-05T10:00:02Z', '2026-03-05T10:00:00.5Z', '2026-03-05T10:00:02Z', '2026-03-05T10:00:01Z']);
    expect(stops).toEqual(['2026-03-05T10:00:00.5Z', '2026-03-05T10:00:01Z', '2026-03-05T10:00:02Z']);
    expect(stopIndexAt(stops, '2026-03-05T10:00:01.5Z')).toBe(1);
    expect(stopIndexAt(stops, '2026-03-05T09:00:00Z')).toBe(0);
    expect(stopIndexAt(stops, '2026-03-06T00:00:00Z')).toBe(2);
  });

  it('reads and writes the datetime input in local time, a typed second including its changes', () => {
    const local = toLocalInput('2026-03-05T10:00:02.250Z');
    expect(local).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(fromLocalInput(local)).toBe('2026-03-05T10:00:02.999Z');
    expect(fromLocalInput(local.slice(0, 16))).toBe('2026-03-05T10:00:59.999Z');
    expect(toLocalInput('nonsense')).toBe('');
    expect(fromLocalInput('')).toBeNull();
    expect(fromLocalInput('yesterday')).toBeNull();
  });
});

describe('times for people', () => {
  const now = new Date('2026-06-01T12:00:00Z');

  it('leave out this year', () => {
    expect(timeText('2026-03-05T10:00:00Z', now)).not.toContain('2026');
    expect(timeText('2025-03-05T10:00:00Z', now)).toContain('2025');
    expect(timeText('not a time', now)).toBe('not a time');
  });

  it('tell a session from its start to its end, or now', () => {
    expect(sessionPeriod({ started_at: '2026-03-05T10:00:00Z', ended_at: null }, now)).toMatch(/ – now$/);
    const sameDay = sessionPeriod({ started_at: '2026-03-05T10:00:00Z', ended_at: '2026-03-05T10:20:00Z' }, now);
    expect(sameDay.split(' – ')[1]).toBe(new Date('2026-03-05T10:20:00Z').toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
    const days = sessionPeriod({ started_at: '2026-03-05T10:00:00Z', ended_at: '2026-03-09T10:20:00Z' }, now);
    expect(days.split(' – ')[1]).toBe(timeText('2026-03-09T10:20:00Z', now));
  });
});
