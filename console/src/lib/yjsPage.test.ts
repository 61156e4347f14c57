import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  buildNode,
  childrenOf,
  editText,
  fillNode,
  insertNode,
  moveNode,
  nodeAt,
  pathOf,
  removeNode,
  replaceDocument,
  rootOf,
  setName,
  setProp,
  setPropKey,
  setProps,
  toJson,
  undoManager,
  view,
  type YNode,
} from './yjsPage';

/** A document holding `page` as the server seeds it. */
function pageDoc(page: Record<string, unknown>): { doc: Y.Doc; root: YNode } {
  const doc = new Y.Doc();
  const root = rootOf(doc);
  doc.transact(() => fillNode(root, page));
  return { doc, root };
}

const heading = { type: 'heading', id: 'h1', props: { text: 'Hello', level: 2 } };

describe('the page as a Y.Doc', () => {
  it('maps props strings to Y.Text and reads back the same JSON', () => {
    const page = { type: 'page', props: { title: 'Home' }, children: [heading, { type: 'section', children: [] }] };
    const { root } = pageDoc(page);
    expect(toJson(root)).toEqual(page);
    const first = nodeAt(root, [0]);
    expect(first?.get('props')).toBeInstanceOf(Y.Map);
    expect((first?.get('props') as Y.Map<unknown>).get('text')).toBeInstanceOf(Y.Text);
    expect(first?.get('type')).toBe('heading');
    expect((first?.get('props') as Y.Map<unknown>).get('level')).toBe(2);
  });

  it('inserts a node at an index, creating the children list if needed', () => {
    const { root } = pageDoc({ type: 'page' });
    insertNode(root, 5, { type: 'text', props: { text: 'b' } });
    insertNode(root, 0, { type: 'text', props: { text: 'a' } });
    const section = insertNode(root, 2, { type: 'section', children: [] });
    insertNode(section, 0, heading);
    expect(toJson(root)).toEqual({
      type: 'page',
      children: [
        { type: 'text', props: { text: 'a' } },
        { type: 'text', props: { text: 'b' } },
        { type: 'section', children: [heading] },
      ],
    });
    expect(pathOf(nodeAt(root, [2, 0]) as YNode, root)).toEqual([2, 0]);
  });

  it('moves a node within its parent and into another', () => {
    const { root } = pageDoc({
      type: 'page',
      children: [
        { type: 'text', props: { text: 'a' } },
        { type: 'text', props: { text: 'b' } },
        { type: 'section', children: [] },
      ],
    });
    const a = nodeAt(root, [0]) as YNode;
    const moved = moveNode(a, root, 1);
    expect(toJson(root)).toMatchObject({ children: [{ props: { text: 'b' } }, { props: { text: 'a' } }, { type: 'section' }] });
    expect(pathOf(moved as YNode, root)).toEqual([1]);
    const section = nodeAt(root, [2]) as YNode;
    moveNode(nodeAt(root, [0]) as YNode, section, 0);
    expect(toJson(root)).toEqual({
      type: 'page',
      children: [
        { type: 'text', props: { text: 'a' } },
        { type: 'section', children: [{ type: 'text', props: { text: 'b' } }] },
      ],
    });
    // The moved copy keeps texts as Y.Text.
    const b = nodeAt(root, [1, 0]) as YNode;
    expect((b.get('props') as Y.Map<unknown>).get('text')).toBeInstanceOf(Y.Text);
  });

  it('refuses to move a node into itself', () => {
    const { root } = pageDoc({ type: 'page', children: [{ type: 'section', children: [{ type: 'section', children: [] }] }] });
    const outer = nodeAt(root, [0]) as YNode;
    const inner = nodeAt(root, [0, 0]) as YNode;
    expect(moveNode(outer, inner, 0)).toBeNull();
    expect(moveNode(outer, outer, 0)).toBeNull();
    expect(toJson(root)).toEqual({ type: 'page', children: [{ type: 'section', children: [{ type: 'section', children: [] }] }] });
  });

  it('edits a text prop from its common prefix and suffix', () => {
    const { root } = pageDoc({ type: 'page', children: [heading] });
    const node = nodeAt(root, [0]) as YNode;
    const text = (node.get('props') as Y.Map<unknown>).get('text') as Y.Text;
    const deltas: unknown[] = [];
    text.observe((event) => deltas.push(event.delta));
    setProp(node, 'text', 'Hello, world');
    expect(deltas).toEqual([[{ retain: 5 }, { insert: ', world' }]]);
    editText(text, 'Help, world');
    expect(text.toString()).toBe('Help, world');
    expect(deltas[1]).toEqual(expect.arrayContaining([{ retain: 3 }, { delete: 2 }, { insert: 'p' }]));
    expect(deltas[1]).toHaveLength(3);
  });

  it('sets numbers, booleans and lists, removes a prop, names a node', () => {
    const { root } = pageDoc({ type: 'page', children: [heading] });
    const node = nodeAt(root, [0]) as YNode;
    setProp(node, 'level', 3);
    setProp(node, 'hidden', true);
    setProp(node, 'options', ['a', 'b']);
    setProp(node, 'color', 'primary');
    setProp(node, 'text', undefined);
    setName(node, 'Title');
    expect(toJson(node)).toEqual({
      type: 'heading',
      id: 'h1',
      name: 'Title',
      props: { level: 3, hidden: true, options: ['a', 'b'], color: 'primary' },
    });
    const color = (node.get('props') as Y.Map<unknown>).get('color');
    expect(color).toBeInstanceOf(Y.Text);
    // A choice is replaced whole, never merged with someone else's.
    setProp(node, 'color', 'muted', true);
    expect((node.get('props') as Y.Map<unknown>).get('color')).not.toBe(color);
    expect(toJson(node.get('props'))).toMatchObject({ color: 'muted' });
    setName(node, '');
    expect(node.has('name')).toBe(false);
  });

  it("sets a placed component's props one by one, and its component with its props in one undo step", () => {
    const placed = { type: 'component', id: 'c1', props: { ref: 'old' } };
    const { root } = pageDoc({ type: 'page', children: [placed] });
    const undo = undoManager(root);
    const node = nodeAt(root, [0]) as YNode;
    setProps(node, { ref: 'hero', props: { title: 'Hi' } });
    expect(toJson(node)).toEqual({ type: 'component', id: 'c1', props: { ref: 'hero', props: { title: 'Hi' } } });
    undo.stopCapturing();
    setPropKey(node, 'props', 'columns', [{ heading: 'Shop', links: [{ label: 'Books', href: '/books' }] }]);
    setPropKey(node, 'props', 'title', undefined);
    const inner = (node.get('props') as Y.Map<unknown>).get('props');
    expect(inner).toBeInstanceOf(Y.Map);
    expect(toJson(inner)).toEqual({ columns: [{ heading: 'Shop', links: [{ label: 'Books', href: '/books' }] }] });
    // Its strings are plain, as the server maps them.
    setPropKey(node, 'props', 'title', 'Again');
    expect((inner as Y.Map<unknown>).get('title')).toBe('Again');
    undo.stopCapturing();
    undo.undo();
    undo.undo();
    expect(toJson(node)).toEqual({ type: 'component', id: 'c1', props: { ref: 'old' } });
    // A node without the object gets one.
    const bare = nodeAt(pageDoc({ type: 'page', children: [{ type: 'component', props: { ref: 'x' } }] }).root, [0]) as YNode;
    setPropKey(bare, 'props', 'n', 2);
    expect(toJson(bare)).toEqual({ type: 'component', props: { ref: 'x', props: { n: 2 } } });
  });

  it('removes a node, and undo brings it back', () => {
    const { root } = pageDoc({ type: 'page', children: [heading] });
    const undo = undoManager(root);
    removeNode(nodeAt(root, [0]) as YNode);
    expect(childrenOf(root)?.length).toBe(0);
    undo.undo();
    expect(toJson(root)).toEqual({ type: 'page', children: [heading] });
    undo.redo();
    expect(childrenOf(root)?.length).toBe(0);
  });

  it('undoes only this editor’s edits', () => {
    const { doc, root } = pageDoc({ type: 'page', children: [] });
    const undo = undoManager(root);
    insertNode(root, 0, heading);
    // Someone else's edit, arriving through the provider.
    doc.transact(() => childrenOf(root)?.push([buildNode({ type: 'text', props: { text: 'theirs' } })]), 'remote');
    undo.undo();
    expect(toJson(root)).toEqual({ type: 'page', children: [{ type: 'text', props: { text: 'theirs' } }] });
  });

  it('reaches another replica through Yjs updates', () => {
    const { doc, root } = pageDoc({ type: 'page', children: [] });
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
    doc.on('update', (update: Uint8Array) => Y.applyUpdate(other, update, 'remote'));
    const node = insertNode(root, 0, heading);
    setProp(node, 'text', 'Live');
    expect(toJson(rootOf(other))).toEqual({ type: 'page', children: [{ ...heading, props: { text: 'Live', level: 2 } }] });
  });

  it('gives views stable keys and paths', () => {
    const { root } = pageDoc({ type: 'page', children: [heading, { type: 'section', children: [heading] }] });
    const first = view(root);
    const second = view(root);
    expect(first.children.map((c) => c.key)).toEqual(second.children.map((c) => c.key));
    expect(first.children[1]?.children[0]?.path).toEqual([1, 0]);
    expect(first.children[0]).toMatchObject({ type: 'heading', props: { text: 'Hello', level: 2 }, name: '' });
  });
});

describe('replacing the whole page', () => {
  it('swaps the document in one undoable step', () => {
    const { root } = pageDoc({ type: 'page', props: { title: 'Old' }, children: [heading] });
    const undo = undoManager(root);
    const next = { type: 'page', id: 'p', children: [{ type: 'text', id: 't', props: { text: 'New' } }] };
    replaceDocument(root, next);
    expect(toJson(root)).toEqual(next);
    undo.undo();
    expect(toJson(root)).toEqual({ type: 'page', props: { title: 'Old' }, children: [heading] });
  });
});
