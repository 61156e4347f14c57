// Reordering a workflow's steps by drag and drop, with SortableJS as in the page editor:
// Svelte owns the DOM, so the element Sortable moved is put back where Svelte rendered it and
// the move becomes a change of the steps' array, which Svelte then renders.

import Sortable from 'sortablejs';

export interface StepsListParams {
  /** The step at `from` dropped at `to`. */
  onmove: (from: number, to: number) => void;
  /**
   * The handles of this list's own steps (`.drag-handle[data-list="…"]`): a loop's steps are
   * a list inside a step, whose handles must move its steps only.
   */
  handle?: string;
}

/** A list of `.step-card` items reordered by their `.drag-handle`; only within the list. */
export function stepsList(element: HTMLElement, params: StepsListParams) {
  let current = params;
  let origin: { next: Node | null } | null = null;
  const sortable = Sortable.create(element, {
    // Pointer events rather than the browser's drag and drop, as in the page editor.
    forceFallback: true,
    fallbackOnBody: true,
    fallbackTolerance: 4,
    animation: 120,
    handle: params.handle ?? '.drag-handle',
    draggable: '>.step-card',
    ghostClass: 'drop-ghost',
    chosenClass: 'drag-chosen',
    fallbackClass: 'drag-fallback',
    onStart(event) {
      origin = { next: event.item.nextSibling };
    },
    onEnd(event) {
      const { item, oldDraggableIndex, newDraggableIndex } = event;
      // Undo Sortable's move: the new order is rendered from the array.
      if (origin) element.insertBefore(item, origin.next);
      origin = null;
      if (oldDraggableIndex === undefined || newDraggableIndex === undefined || oldDraggableIndex === newDraggableIndex) return;
      current.onmove(oldDraggableIndex, newDraggableIndex);
    },
  });
  return {
    update(next: StepsListParams) {
      current = next;
    },
    destroy() {
      sortable.destroy();
    },
  };
}
