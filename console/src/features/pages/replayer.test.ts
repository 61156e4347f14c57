import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { insertNode, rootOf, setProp, toJson, nodeAt, replaceDocument } from '../../lib/yjsPage';
import type { Change } from './history';
import { documentDoc, Replayer } from './replayer';

/** Two editors on one page; every update logged with an id, as the server does. */
function room() {
  const log: Change[] = [];
  const a = new Y.Doc();
  const b = new Y.Doc();
  const record = (author: string) => (update: Uint8Array, origin: unknown) => {
    if (origin === 'relay') return;
    log.push({ id: log.length + 1, author, kind: 'edit', at: `2026-03-05T10:00:${String(log.length).padStart(2, '0')}Z`, update });
    Y.applyUpdate(author === 'a' ? b : a, update, 'relay');
  };
  a.on('update', record('a'));
  b.on('update', record('b'));
  return { a, b, log };
}

const texts = (json: unknown): string[] =>
  ((json as { children?: { props?: { text?: string } }[] }).children ?? []).map((c) => c.props?.text ?? '');

/** The page's whole state before change `id` (what the server answers as a session's `base`). */
function stateBefore(log: readonly Change[], id: number): Uint8Array {
  const doc = new Y.Doc();
  for (const change of log) if (change.id < id) Y.applyUpdate(doc, change.update);
  const state = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return state;
}

describe('a replay', () => {
  it('plays a session from its base, with the others’ changes made meanwhile', () => {
    const { a, b, log } = room();
    replaceDocument(rootOf(a), { type: 'page', children: [] }); // 1 (a, before the session)
    insertNode(rootOf(b), 0, { type: 'text', props: { text: 'Before' } }); // 2 (b, before the session)
    insertNode(rootOf(a), 0, { type: 'heading', props: { text: 'Hello' } }); // 3 (a)
    setProp(nodeAt(rootOf(a), [0]) as Y.Map<unknown>, 'text', 'Hello, world'); // 4 (a)
    insertNode(rootOf(b), 2, { type: 'text', props: { text: 'By b' } }); // 5 (b, meanwhile)
    insertNode(rootOf(a), 3, { type: 'text', props: { text: 'Last' } }); // 6 (a)
    insertNode(rootOf(b), 4, { type: 'text', props: { text: 'After' } }); // 7 (b, after the session)
    const session = log.filter((c) => c.author === 'a' && c.id > 1);
    expect(session.map((c) => c.id)).toEqual([3, 4, 6]);
    const others = log.filter((c) => c.author === 'b');

    const replay = new Replayer({ base: stateBefore(log, 3), changes: session }, others);
    expect(replay.length).toBe(3);
    expect(texts(toJson(replay.root))).toEqual(['Before']);
    expect(texts(toJson(replay.seek(1)))).toEqual(['Hello', 'Before']);
    expect(texts(toJson(replay.seek(2)))).toEqual(['Hello, world', 'Before']);
    expect(texts(toJson(replay.seek(3)))).toEqual(['Hello, world', 'Before', 'By b', 'Last']);
    // Back: the scratch document starts over.
    expect(texts(toJson(replay.seek(1)))).toEqual(['Hello', 'Before']);
    expect(replay.position).toBe(1);
    expect(texts(toJson(replay.seek(99)))).toEqual(['Hello, world', 'Before', 'By b', 'Last']);
    expect(replay.position).toBe(3);
    // The live documents are untouched.
    expect(texts(toJson(rootOf(a)))).toEqual(['Hello, world', 'Before', 'By b', 'Last', 'After']);
    replay.destroy();
  });

  it('needs the others’ changes a change of the session builds on', () => {
    const { a, b, log } = room();
    replaceDocument(rootOf(a), { type: 'page', children: [] }); // 1 (a)
    insertNode(rootOf(b), 0, { type: 'text', props: { text: 'By b' } }); // 2 (b, meanwhile)
    setProp(nodeAt(rootOf(a), [0]) as Y.Map<unknown>, 'text', 'Edited by a'); // 3 (a, on b's text)
    const session = log.filter((c) => c.author === 'a');
    const alone = new Replayer({ base: null, changes: session });
    expect(texts(toJson(alone.seek(2)))).toEqual([]);
    const withOthers = new Replayer({ base: null, changes: session }, log);
    expect(texts(toJson(withOthers.seek(2)))).toEqual(['Edited by a']);
  });

  it('starts from an empty document without a base', () => {
    const { a, log } = room();
    replaceDocument(rootOf(a), { type: 'page', children: [{ type: 'heading', props: { text: 'Hi' } }] });
    const replay = new Replayer({ base: null, changes: log });
    expect(toJson(replay.root)).toEqual({});
    expect(texts(toJson(replay.seek(1)))).toEqual(['Hi']);
  });
});

describe('a document from time travel', () => {
  it('is drawn from a scratch Y.Doc', () => {
    const doc = documentDoc({ type: 'page', children: [{ type: 'heading', props: { text: 'Then' } }] });
    expect(texts(toJson(rootOf(doc)))).toEqual(['Then']);
  });
});
