// The state of one open page editor: the Y.Doc joined to the page's room, the tree the views
// render (re-read after every change, local or remote), the selection, the other editors, and
// undo/redo of this editor's own edits.

import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { colorFor, joinPage, peersOf, type Peer } from '../../lib/collab';
import type { ComponentKind } from '../../lib/pageSchema';
import { template } from '../../lib/pageSchema';
import { api } from '../../lib/session.svelte';
import {
  insertNode,
  moveNode,
  newId,
  nodeAt,
  pathOf,
  removeNode,
  replaceDocument,
  rootOf,
  toJson,
  undoManager,
  view,
  type ViewNode,
  type YNode,
} from '../../lib/yjsPage';
import { CLIPBOARD_KEY, clipboardText, pastePlace, readClipboard, withNewIds } from './clipboard';
import { CURSOR_EVERY, cursorsOf, throttle, type CanvasCursor, type PeerCursor, type Throttled } from './cursors';

export type Status = 'connecting' | 'connected' | 'disconnected';

export class Editor {
  readonly doc = new Y.Doc();
  readonly root: YNode = rootOf(this.doc);
  readonly kinds: ComponentKind[];
  private readonly provider: WebsocketProvider;
  private readonly undo: Y.UndoManager;
  /** This editor's cursor, sent to the room at most every CURSOR_EVERY ms. */
  private readonly cursor: Throttled<CanvasCursor>;

  tree = $state.raw<ViewNode>(view(this.root));
  selected = $state.raw<YNode | null>(null);
  selectedPath = $state.raw<number[] | null>(null);
  peers = $state.raw<Peer[]>([]);
  /** The others' mouse cursors over the canvas. */
  cursors = $state.raw<PeerCursor[]>([]);
  status = $state<Status>('connecting');
  synced = $state(false);
  /** Synced with the room once: the tree is the page's. */
  ready = $state(false);
  canUndo = $state(false);
  canRedo = $state(false);
  /** The type of the copied component, if one can be pasted ('' when none). */
  copied = $state(Editor.clipboardType());

  constructor(pageId: string, kinds: ComponentKind[], userName: string) {
    this.kinds = kinds;
    this.undo = undoManager(this.root);
    this.root.observeDeep(() => this.refresh());
    const stacks = () => {
      this.canUndo = this.undo.undoStack.length > 0;
      this.canRedo = this.undo.redoStack.length > 0;
    };
    this.undo.on('stack-item-added', stacks);
    this.undo.on('stack-item-popped', stacks);
    this.undo.on('stack-cleared', stacks);

    this.provider = joinPage(api, pageId, this.doc);
    this.provider.on('status', ({ status }) => (this.status = status));
    this.provider.on('sync', (synced) => {
      this.synced = synced;
      if (synced) this.ready = true;
      this.refresh();
    });
    const awareness = this.provider.awareness;
    awareness.setLocalStateField('user', { name: userName, color: colorFor(this.doc.clientID) });
    awareness.setLocalStateField('selection', null);
    awareness.setLocalStateField('cursor', null);
    awareness.on('change', () => {
      const states = awareness.getStates() as Map<number, Record<string, unknown>>;
      // Cursors change many times a second: the peers (and the outlines they draw) only when theirs do.
      const peers = peersOf(states, this.doc.clientID);
      if (JSON.stringify(peers) !== JSON.stringify(this.peers)) this.peers = peers;
      this.cursors = cursorsOf(states, this.doc.clientID);
    });
    this.cursor = throttle((cursor: CanvasCursor) => awareness.setLocalStateField('cursor', cursor), CURSOR_EVERY);
  }

  /** Publish where this editor's pointer is on the page (throttled), or that it left the canvas (null, at once). */
  moveCursor(cursor: CanvasCursor | null) {
    if (cursor) return this.cursor.call(cursor);
    this.cursor.cancel();
    if (this.provider.awareness.getLocalState()?.cursor != null) this.provider.awareness.setLocalStateField('cursor', null);
  }

  destroy() {
    this.cursor.cancel();
    this.undo.destroy();
    this.provider.awareness.setLocalState(null);
    this.provider.destroy();
    this.doc.destroy();
  }

  /** Re-read the tree; a selected node that is gone (deleted, moved by someone) is unselected. */
  private refresh() {
    this.tree = view(this.root);
    if (this.selected) this.select(pathOf(this.selected, this.root) ? this.selected : null);
  }

  kind(type: string): ComponentKind | undefined {
    return this.kinds.find((k) => k.name === type);
  }

  select(node: YNode | null) {
    const path = node ? pathOf(node, this.root) : null;
    this.selected = path ? node : null;
    if (JSON.stringify(path) !== JSON.stringify(this.selectedPath)) {
      this.selectedPath = path;
      this.provider.awareness.setLocalStateField('selection', path);
    }
  }

  /** The other editors who selected the node at `path`. */
  peersAt(path: number[]): Peer[] {
    const key = JSON.stringify(path);
    return this.peers.filter((p) => p.selection && JSON.stringify(p.selection) === key);
  }

  /** Add a component of `kind` under `parent` at `index` (default: at the end), and select it. */
  insert(kindName: string, parent: YNode, index = Number.MAX_SAFE_INTEGER) {
    const kind = this.kind(kindName);
    if (!kind) return;
    this.structural(() => this.select(insertNode(parent, index, template(kind, newId()))));
  }

  /** Add a component where a click on the palette puts it: in the selected container, else after the selection. */
  add(kindName: string) {
    const target = this.selected;
    if (!target || target === this.root) return this.insert(kindName, this.root);
    if (this.kind(String(target.get('type')))?.container) return this.insert(kindName, target);
    const { parent, index } = this.after(target);
    this.insert(kindName, parent, index);
  }

  /** The place right after `node` (the end of the page when it is not in the tree). */
  private after(node: YNode): { parent: YNode; index: number } {
    const path = pathOf(node, this.root);
    const parent = path ? nodeAt(this.root, path.slice(0, -1)) : null;
    if (parent && path) return { parent, index: (path[path.length - 1] ?? 0) + 1 };
    return { parent: this.root, index: Number.MAX_SAFE_INTEGER };
  }

  /** The type of the component on the clipboard ('' when there is none). */
  static clipboardType(): string {
    try {
      const node = readClipboard(localStorage.getItem(CLIPBOARD_KEY));
      return node ? String(node.type) : '';
    } catch {
      return '';
    }
  }

  /** Read the clipboard again (another tab may have copied something). */
  refreshClipboard() {
    this.copied = Editor.clipboardType();
  }

  /** Copy the selected component (never the page itself); its type, or '' when nothing was copied. */
  copySelected(): string {
    const node = this.selected;
    if (!node || node === this.root) return '';
    const json = toJson(node) as Record<string, unknown>;
    try {
      localStorage.setItem(CLIPBOARD_KEY, clipboardText(json));
    } catch {
      return '';
    }
    this.copied = String(json.type ?? '');
    return this.copied;
  }

  /**
   * Paste the copied component, with new ids, inside the selected container, or after the
   * selected component (after the copied one itself: a duplicate), or at the end of the page;
   * the copy is selected. Its type, or '' when there was nothing to paste.
   */
  paste(): string {
    let json: Record<string, unknown> | null;
    try {
      json = readClipboard(localStorage.getItem(CLIPBOARD_KEY));
    } catch {
      json = null;
    }
    if (!json) {
      this.copied = '';
      return '';
    }
    const target = this.selected;
    const place = pastePlace(
      target
        ? { root: target === this.root, container: this.kind(String(target.get('type')))?.container === true, id: target.get('id') }
        : null,
      json.id,
    );
    const { parent, index } =
      place === 'end' || !target
        ? { parent: this.root, index: Number.MAX_SAFE_INTEGER }
        : place === 'inside'
          ? { parent: target, index: Number.MAX_SAFE_INTEGER }
          : this.after(target);
    const copy = withNewIds(json, newId);
    this.structural(() => this.select(insertNode(parent, index, copy)));
    return String(json.type);
  }

  move(from: YNode, oldIndex: number, to: YNode, newIndex: number) {
    const node = nodeAt(from, [oldIndex]);
    if (!node) return;
    const moved = this.structural(() => moveNode(node, to, newIndex));
    if (moved) this.select(moved);
  }

  /** Delete the selected node (never the page itself). */
  removeSelected() {
    const node = this.selected;
    if (!node || node === this.root) return;
    this.select(null);
    this.structural(() => removeNode(node));
  }

  /** Replace the whole page (a generated one) for everyone in the room; one undo step. */
  replaceDocument(json: Record<string, unknown>) {
    this.select(null);
    this.structural(() => replaceDocument(this.root, json));
  }

  /** An insert, move or delete is an undo step of its own (typing merges while it goes on). */
  private structural<T>(edit: () => T): T {
    this.undo.stopCapturing();
    const result = edit();
    this.undo.stopCapturing();
    return result;
  }

  undoEdit() {
    this.undo.undo();
  }

  redoEdit() {
    this.undo.redo();
  }
}
