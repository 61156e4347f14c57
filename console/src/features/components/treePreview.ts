// A component's default tree drawn the way the page editor's canvas draws it: the tree is put
// on an empty page in a scratch Y.Doc (never a live one) and read as the canvas reads a page.

import * as Y from 'yjs';
import { fillNode, rootOf, view, type ViewNode } from '../../lib/yjsPage';

/** The page holding `document`, as the canvas's views read it, and the scratch doc to destroy. */
export function previewTree(document: Record<string, unknown>): { tree: ViewNode; doc: Y.Doc } {
  const doc = new Y.Doc();
  const root = rootOf(doc);
  doc.transact(() => fillNode(root, { type: 'page', props: {}, children: [document] }));
  return { tree: view(root), doc };
}
