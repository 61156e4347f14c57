// Drag and drop with SortableJS, Svelte owning the DOM: when a drag ends, the element Sortable
// moved is put back where Svelte rendered it and the drop becomes one Yjs edit, which the
// views then render (for everyone in the room). The palette's items are copied, never moved.

import Sortable from 'sortablejs';
import type { YNode } from '../../lib/yjsPage';

type SortableEvent = Sortable.SortableEvent;

const GROUP = 'page-nodes';

/** Every list of children on the canvas, with the node it belongs to. */
const lists = new WeakMap<HTMLElement, YNode>();

const shared: Sortable.Options = {
  // Pointer events rather than the browser's drag and drop: the same on every browser, and a
  // click without movement stays a click (it selects).
  forceFallback: true,
  fallbackOnBody: true,
  fallbackTolerance: 4,
  animation: 120,
  ghostClass: 'drop-ghost',
  chosenClass: 'drag-chosen',
  fallbackClass: 'drag-fallback',
};

/** Where the dragged element stood before the drag, to put it back. */
let origin: { parent: Node; next: Node | null; index: number } | null = null;

/**
 * The index of `item` among the canvas nodes of its list. (Sortable's own index on drop
 * counts with the selector of the list the drag started from: the palette's, for a new one.)
 */
function nodeIndex(item: HTMLElement): number {
  let index = 0;
  for (let at = item.previousElementSibling; at; at = at.previousElementSibling) {
    if (at.classList.contains('node')) index += 1;
  }
  return index;
}

function remember(event: SortableEvent) {
  const { item } = event;
  origin = item.parentNode ? { parent: item.parentNode, next: item.nextSibling, index: nodeIndex(item) } : null;
}

let droppedAt = 0;

/**
 * Whether a drag just ended: the click the browser then sends (to the closest element under
 * both the press and the release) is not a selection.
 */
export function justDropped(): boolean {
  return performance.now() - droppedAt < 300;
}

/** Undo Sortable's DOM changes: Svelte renders the result of the edit instead. */
function restore(event: SortableEvent) {
  droppedAt = performance.now();
  const clone = event.clone as HTMLElement | undefined;
  if (clone && clone !== event.item && clone.parentNode) clone.remove();
  if (origin) origin.parent.insertBefore(event.item, origin.next);
  origin = null;
}

export interface PaletteParams {
  /** A component of `kind` dropped in `parent`'s children at `index`. */
  ondrop: (kind: string, parent: YNode, index: number) => void;
}

/** The palette: its `.kind[data-kind]` items are dragged as copies onto the canvas. */
export function paletteList(element: HTMLElement, params: PaletteParams) {
  let current = params;
  const sortable = Sortable.create(element, {
    ...shared,
    group: { name: GROUP, pull: 'clone', put: false },
    sort: false,
    draggable: '>.kind',
    onStart: remember,
    onEnd(event) {
      const kind = event.item.dataset.kind;
      const parent = lists.get(event.to);
      const index = nodeIndex(event.item);
      restore(event);
      if (event.to !== event.from && kind && parent) current.ondrop(kind, parent, index);
    },
  });
  return {
    update(next: PaletteParams) {
      current = next;
    },
    destroy() {
      sortable.destroy();
    },
  };
}

export interface ChildrenParams {
  /** The node whose children the list shows. */
  parent: YNode;
  /** A child moved from `from`'s children at `oldIndex` to `to`'s at `newIndex`. */
  onmove: (from: YNode, oldIndex: number, to: YNode, newIndex: number) => void;
  /** A read-only preview: nothing is dragged from or dropped into it. */
  disabled?: boolean;
}

/** A node's list of children on the canvas: its `.node` items reorder and move between lists. */
export function childrenList(element: HTMLElement, params: ChildrenParams) {
  let current = params;
  if (!params.disabled) lists.set(element, params.parent);
  const sortable = Sortable.create(element, {
    ...shared,
    disabled: params.disabled === true,
    group: { name: GROUP, pull: true, put: true },
    draggable: '>.node',
    swapThreshold: 0.65,
    emptyInsertThreshold: 16,
    onStart: remember,
    onEnd(event) {
      const from = lists.get(event.from);
      const to = lists.get(event.to);
      const oldIndex = origin?.index;
      const newIndex = nodeIndex(event.item);
      restore(event);
      if (!from || !to || oldIndex === undefined) return;
      if (from === to && oldIndex === newIndex) return;
      current.onmove(from, oldIndex, to, newIndex);
    },
  });
  return {
    update(next: ChildrenParams) {
      current = next;
      if (!next.disabled) lists.set(element, next.parent);
    },
    destroy() {
      sortable.destroy();
    },
  };
}
