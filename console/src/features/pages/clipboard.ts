// Copy and paste of page components. The copy is the component's page JSON, kept in
// localStorage so that it can be pasted into another page or another tab of the console; a
// pasted copy gets new ids throughout (ids are unique in a page).

/** Where the copied component is kept (forgotten when the session ends). */
export { CLIPBOARD_KEY } from '../../lib/storageKeys';

/** What the clipboard holds: marked, so that other text is never taken for a component. */
const MARK = 'socle.component';

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Node).type === 'string';
}

/** The clipboard text of a component's page JSON. */
export function clipboardText(node: Node): string {
  return JSON.stringify({ kind: MARK, node });
}

/** The component a clipboard text holds, or null (not ours, broken, or a whole page). */
export function readClipboard(text: string | null | undefined): Node | null {
  if (!text) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || (parsed as Node).kind !== MARK) return null;
    const node = (parsed as Node).node;
    return isNode(node) && node.type !== 'page' ? node : null;
  } catch {
    return null;
  }
}

/** A deep copy of the page JSON `node` whose every component (itself and those inside) has a new id. */
export function withNewIds(node: Node, newId: () => string): Node {
  const copy: Node = { ...node };
  if ('id' in node) copy.id = newId();
  if (Array.isArray(node.children)) {
    copy.children = node.children.map((child: unknown) => (isNode(child) ? withNewIds(child, newId) : child));
  }
  return copy;
}

/** Where a paste puts the copy, from what is selected. */
export type PastePlace = 'end' | 'inside' | 'after';

/**
 * The page (or nothing) selected: at the end of the page. A container selected: inside it, at
 * its end, unless it is the copied component itself (copy then paste duplicates it, after
 * it). Any other component: right after it.
 */
export function pastePlace(selected: { root: boolean; container: boolean; id: unknown } | null, copiedId: unknown): PastePlace {
  if (!selected || selected.root) return 'end';
  if (selected.container && !(copiedId !== undefined && selected.id === copiedId)) return 'inside';
  return 'after';
}
