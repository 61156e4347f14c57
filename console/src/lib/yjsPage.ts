// The page document as a Y.Doc, as the collaboration server maps it (crates/collab, mapping.rs):
// `doc.getMap('page')` is the root node; a node is a Y.Map with `type`, `id`, `name` (plain
// strings), `props` (a Y.Map whose strings are Y.Text) and `children` (a Y.Array of nodes).
// Every edit here is one transaction with the LOCAL origin, which the undo manager tracks.

import * as Y from 'yjs';

export type YNode = Y.Map<unknown>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The origin of this editor's own transactions (undo tracks these only). */
export const LOCAL = Symbol('local edit');

export function rootOf(doc: Y.Doc): YNode {
  return doc.getMap('page');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Yjs value of a JSON value: arrays and objects as Y types; `text`: a string as a Y.Text. */
function toY(value: unknown, text: boolean): unknown {
  if (Array.isArray(value)) {
    const array = new Y.Array<unknown>();
    array.push(value.map((item) => toY(item, false)));
    return array;
  }
  if (isPlainObject(value)) {
    const map = new Y.Map<unknown>();
    for (const [key, item] of Object.entries(value)) if (item !== undefined) map.set(key, toY(item, false));
    return map;
  }
  if (typeof value === 'string' && text) return new Y.Text(value);
  return value ?? null;
}

/** A new node (not yet in a document) holding the page JSON `node`. */
export function buildNode(node: Record<string, unknown>): YNode {
  return fillNode(new Y.Map<unknown>(), node);
}

/** Set the keys of the page JSON `node` on `map` (a new node, or an empty root in a transaction). */
export function fillNode(map: YNode, node: Record<string, unknown>): YNode {
  for (const [key, item] of Object.entries(node)) {
    if (item === undefined) continue;
    if (key === 'children' && Array.isArray(item)) {
      const children = new Y.Array<unknown>();
      children.push(item.map((child) => (isPlainObject(child) ? buildNode(child) : toY(child, false))));
      map.set(key, children);
    } else if (key === 'props' && isPlainObject(item)) {
      const props = new Y.Map<unknown>();
      for (const [name, value] of Object.entries(item)) if (value !== undefined) props.set(name, toY(value, true));
      map.set(key, props);
    } else {
      map.set(key, toY(item, false));
    }
  }
  return map;
}

/** The JSON of any Yjs value (texts as strings), e.g. the whole page: `toJson(rootOf(doc))`. */
export function toJson(value: unknown): Json {
  if (value instanceof Y.Text) return value.toString();
  if (value instanceof Y.Array) return value.toArray().map(toJson);
  if (value instanceof Y.Map) {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of value.entries()) out[key] = toJson(item);
    return out;
  }
  if (value === undefined) return null;
  return value as Json;
}

export function childrenOf(node: YNode): Y.Array<unknown> | null {
  const children = node.get('children');
  return children instanceof Y.Array ? children : null;
}

/** The node's children list, created if it has none yet (call inside a transaction). */
function ensureChildren(node: YNode): Y.Array<unknown> {
  const existing = childrenOf(node);
  if (existing) return existing;
  const created = new Y.Array<unknown>();
  node.set('children', created);
  return created;
}

export function parentOf(node: YNode): YNode | null {
  const array = node.parent;
  const parent = array instanceof Y.Array ? array.parent : null;
  return parent instanceof Y.Map ? parent : null;
}

export function indexOf(node: YNode): number {
  const array = node.parent;
  return array instanceof Y.Array ? array.toArray().indexOf(node) : -1;
}

/** Child indexes from the root down to `node` ([] for the root, null if not in the tree). */
export function pathOf(node: YNode, root: YNode): number[] | null {
  const path: number[] = [];
  let at: YNode | null = node;
  while (at && at !== root) {
    const i = indexOf(at);
    if (i < 0) return null;
    path.unshift(i);
    at = parentOf(at);
  }
  return at === root ? path : null;
}

export function nodeAt(root: YNode, path: readonly number[]): YNode | null {
  let at: YNode = root;
  for (const i of path) {
    const child = childrenOf(at)?.get(i);
    if (!(child instanceof Y.Map)) return null;
    at = child;
  }
  return at;
}

/** Whether `node` is `ancestor` or inside it. */
export function isWithin(node: YNode, ancestor: YNode): boolean {
  for (let at: YNode | null = node; at; at = parentOf(at)) if (at === ancestor) return true;
  return false;
}

function doc(node: YNode): Y.Doc {
  if (!node.doc) throw new Error('the node is not in a document');
  return node.doc;
}

/** Insert the page JSON `json` as a child of `parent` at `index` (clamped); the new node. */
export function insertNode(parent: YNode, index: number, json: Record<string, unknown>): YNode {
  const node = buildNode(json);
  doc(parent).transact(() => {
    const children = ensureChildren(parent);
    children.insert(Math.max(0, Math.min(index, children.length)), [node]);
  }, LOCAL);
  return node;
}

/**
 * Move `node` under `parent` at `index` (counted once it has left its place). Yjs has no
 * move: the node is copied there and removed here, in one transaction; the copy is returned.
 * Moving a node into itself or its own subtree does nothing (null).
 */
export function moveNode(node: YNode, parent: YNode, index: number): YNode | null {
  if (isWithin(parent, node)) return null;
  const from = node.parent;
  if (!(from instanceof Y.Array)) return null;
  const copy = buildNode(toJson(node) as Record<string, unknown>);
  doc(node).transact(() => {
    from.delete(indexOf(node), 1);
    const children = ensureChildren(parent);
    children.insert(Math.max(0, Math.min(index, children.length)), [copy]);
  }, LOCAL);
  return copy;
}

export function removeNode(node: YNode): void {
  const from = node.parent;
  if (!(from instanceof Y.Array)) return;
  doc(node).transact(() => from.delete(indexOf(node), 1), LOCAL);
}

/** Replace the whole page under `root` with the page JSON `json`, as one undoable transaction. */
export function replaceDocument(root: YNode, json: Record<string, unknown>): void {
  doc(root).transact(() => {
    for (const key of Array.from(root.keys())) root.delete(key);
    fillNode(root, json);
  }, LOCAL);
}

/** Edit `text` into `next` by replacing only what lies between the common prefix and suffix. */
export function editText(text: Y.Text, next: string): void {
  const have = text.toString();
  if (have === next) return;
  let prefix = 0;
  while (prefix < have.length && prefix < next.length && have[prefix] === next[prefix]) prefix += 1;
  let suffix = 0;
  while (
    suffix < have.length - prefix &&
    suffix < next.length - prefix &&
    have[have.length - 1 - suffix] === next[next.length - 1 - suffix]
  ) {
    suffix += 1;
  }
  const apply = () => {
    const removed = have.length - prefix - suffix;
    if (removed > 0) text.delete(prefix, removed);
    const inserted = next.slice(prefix, next.length - suffix);
    if (inserted) text.insert(prefix, inserted);
  };
  if (text.doc) text.doc.transact(apply, LOCAL);
  else apply();
}

/**
 * Set a prop of `node`: a string edits its Y.Text (made if there is none; `whole`: replaced by
 * a new one, for a choice, which two people's edits must not merge into), anything else is
 * stored as is; `undefined` removes the prop.
 */
export function setProp(node: YNode, name: string, value: unknown, whole = false): void {
  doc(node).transact(() => {
    const map = propsOf(node);
    const current = map.get(name);
    if (value === undefined) {
      if (map.has(name)) map.delete(name);
    } else if (typeof value === 'string') {
      if (current instanceof Y.Text && !whole) editText(current, value);
      else if (current instanceof Y.Text && current.toString() === value) return;
      else map.set(name, new Y.Text(value));
    } else if (current !== value) {
      map.set(name, toY(value, false));
    }
  }, LOCAL);
}

/** The node's props map, made if it has none (call inside a transaction). */
function propsOf(node: YNode): Y.Map<unknown> {
  const props = node.get('props');
  if (props instanceof Y.Map) return props;
  const made = new Y.Map<unknown>();
  node.set('props', made);
  return made;
}

/** Set several props of `node` in one transaction (one undo step), each as `setProp` with `whole`. */
export function setProps(node: YNode, values: Record<string, unknown>, whole = true): void {
  doc(node).transact(() => {
    for (const [name, value] of Object.entries(values)) setProp(node, name, value, whole);
  }, LOCAL);
}

/**
 * Set one key of an object prop of `node` (a placed component's `props`), the object made if
 * there is none; `undefined` removes the key. Its values are plain ones (strings are no
 * Y.Text there), as the server maps them.
 */
export function setPropKey(node: YNode, name: string, key: string, value: unknown): void {
  doc(node).transact(() => {
    const props = propsOf(node);
    let object = props.get(name);
    if (!(object instanceof Y.Map)) {
      const made = toY(isPlainObject(object) ? object : {}, false) as Y.Map<unknown>;
      props.set(name, made);
      object = made;
    }
    const map = object as Y.Map<unknown>;
    const current = map.get(key);
    if (value === undefined) {
      if (map.has(key)) map.delete(key);
    } else if (current !== value) {
      map.set(key, toY(value, false));
    }
  }, LOCAL);
}

/** Name a node (the layers show it); '' removes the name. */
export function setName(node: YNode, name: string): void {
  doc(node).transact(() => {
    if (name) node.set('name', name);
    else node.delete('name');
  }, LOCAL);
}

/** Undo and redo of this editor's own edits. */
export function undoManager(root: YNode): Y.UndoManager {
  return new Y.UndoManager(root, { trackedOrigins: new Set([LOCAL]), captureTimeout: 400 });
}

/** A node as the editor's views render it. */
export interface ViewNode {
  /** Stable while the node stays where it is (a moved node is a new one). */
  key: string;
  node: YNode;
  type: string;
  name: string;
  props: Record<string, Json>;
  children: ViewNode[];
  path: number[];
}

const keys = new WeakMap<YNode, string>();
let nextKey = 0;

function keyOf(node: YNode): string {
  let key = keys.get(node);
  if (!key) {
    nextKey += 1;
    key = `n${nextKey}`;
    keys.set(node, key);
  }
  return key;
}

/** The tree under `node`, read once (the views re-read it after every change). */
export function view(node: YNode, path: number[] = []): ViewNode {
  const props = node.get('props');
  const children = childrenOf(node)?.toArray() ?? [];
  const name = node.get('name');
  return {
    key: keyOf(node),
    node,
    type: String(node.get('type') ?? ''),
    name: typeof name === 'string' ? name : '',
    props: props instanceof Y.Map ? (toJson(props) as Record<string, Json>) : {},
    children: children.flatMap((c, i) => (c instanceof Y.Map ? [view(c as YNode, [...path, i])] : [])),
    path,
  };
}

/** A random id for a new node. */
export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
