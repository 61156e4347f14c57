// Playing a page's history back in a scratch Y.Doc, never the live one: an editing session's
// changes one by one, and a page document (from time travel) shown the way the canvas draws it.
//
// A Yjs update only applies on top of what it builds on, so a session is not played on an
// empty document: the page as it was just before the session's first change (its `base`, from
// the server) comes first. Position k of a session shows the page right after its k-th change,
// with the other editors' changes made meanwhile (the page as it was then, as everyone saw it;
// a change building on one of theirs would not show without it).

import * as Y from 'yjs';
import { fillNode, rootOf, type YNode } from '../../lib/yjsPage';
import { clampPosition, lastChangeAt, mergeChanges, type Change, type SessionLog } from './history';

export class Replayer {
  /** Every change the replay may need after the base, in order: the session's own and the others' meanwhile. */
  private readonly log: Change[];
  private readonly base: Uint8Array | null;
  /** The session's changes, in order. */
  readonly session: Change[];
  private doc: Y.Doc;
  /** How many changes of `log` the scratch document holds. */
  private applied = 0;
  position = 0;

  /** `meanwhile`: the changes of the other sessions at the time (those the base holds already are left out). */
  constructor(session: SessionLog, meanwhile: readonly Change[] = []) {
    this.session = session.changes;
    this.base = session.base;
    const first = session.changes[0]?.id ?? Infinity;
    this.log = mergeChanges(meanwhile.filter((c) => c.id > first), session.changes);
    this.doc = this.fresh();
    this.seek(0);
  }

  get length(): number {
    return this.session.length;
  }

  /** The page's root node at the current position (a new node after a step back). */
  get root(): YNode {
    return rootOf(this.doc);
  }

  private fresh(): Y.Doc {
    const doc = new Y.Doc();
    if (this.base) Y.applyUpdate(doc, this.base);
    this.applied = 0;
    return doc;
  }

  /** Show the page at `position` (0: before the session's first change; its length: after its last). */
  seek(position: number): YNode {
    const p = clampPosition(position, this.length);
    const upto = lastChangeAt(this.session, p);
    // Back in time: start over (Yjs cannot unapply an update).
    if (this.applied > 0 && (this.log[this.applied - 1]?.id ?? 0) > upto) {
      this.doc.destroy();
      this.doc = this.fresh();
    }
    Y.transact(this.doc, () => {
      while (this.applied < this.log.length && (this.log[this.applied]?.id ?? Infinity) <= upto) {
        Y.applyUpdate(this.doc, (this.log[this.applied] as Change).update);
        this.applied += 1;
      }
    });
    this.position = p;
    return this.root;
  }

  destroy() {
    this.doc.destroy();
  }
}

/** A scratch document holding the page JSON `document` (what time travel answers), to draw it. */
export function documentDoc(document: Record<string, unknown>): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => fillNode(rootOf(doc), document));
  return doc;
}
