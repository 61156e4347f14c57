// What the canvas's components need from whoever shows them: the live editor, or a read-only
// preview (a page from its history) where nothing is selected, dragged or outlined.

import type { Peer } from '../../lib/collab';
import type { ComponentKind } from '../../lib/pageSchema';
import type { YNode } from '../../lib/yjsPage';

export interface CanvasHost {
  kind(type: string): ComponentKind | undefined;
  /** The other editors who selected the node at `path`. */
  peersAt(path: number[]): Peer[];
  readonly selected: YNode | null;
  select(node: YNode | null): void;
  move(from: YNode, oldIndex: number, to: YNode, newIndex: number): void;
  /** Shown only: no drag and drop. */
  readonly readonly?: boolean;
}

/** A host that only shows a page: its components drawn, never selected, dragged or outlined. */
export function readOnlyHost(kinds: readonly ComponentKind[]): CanvasHost {
  return {
    kind: (type) => kinds.find((k) => k.name === type),
    peersAt: () => [],
    selected: null,
    select: () => {},
    move: () => {},
    readonly: true,
  };
}
