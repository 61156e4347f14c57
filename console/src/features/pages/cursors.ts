// Live mouse cursors on the canvas: where this editor's pointer is, published in the room's
// awareness (`cursor`), and where the others' are, drawn over the canvas in their color.
//
// A cursor is anchored to the content, not to the screen: the innermost component under the
// pointer (its path of child indexes from the root, as `selection` is) and the pointer's place
// inside that component's box, as fractions of its width and height. Everyone's canvas has
// its own width (the window, the side panels, a phone or desktop preview width) and its own
// scroll, so texts wrap differently and boxes move: a point in pixels from the page's corner
// would land on other content, a fraction of the page's height on another component. The
// path and the fractions land on the same component, at the same place inside it, at any
// width. Outside any component, the page itself is the anchor (path []).

import { colorFor } from '../../lib/collab';

/** Where a pointer is on the page: the component under it and the fractions of its box. */
export interface CanvasCursor {
  path: number[];
  /** 0 at the component's left edge, 1 at its right edge. */
  x: number;
  /** 0 at the component's top edge, 1 at its bottom edge. */
  y: number;
}

/** Another editor's cursor, as the canvas draws it. */
export interface PeerCursor {
  clientId: number;
  name: string;
  color: string;
  cursor: CanvasCursor;
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** At most one cursor message this often (milliseconds). */
export const CURSOR_EVERY = 50;

const clamp01 = (n: number) => Math.min(1, Math.max(0, n));
// Four decimals place the cursor within a pixel on a 10 000 px box and keep messages short.
const round = (n: number) => Math.round(n * 10_000) / 10_000;

/** The cursor of a pointer at (`x`, `y`) over the component at `path`, whose box is `box` (same coordinates). */
export function cursorIn(x: number, y: number, box: Box, path: number[]): CanvasCursor {
  return {
    path,
    x: round(clamp01(box.width > 0 ? (x - box.left) / box.width : 0)),
    y: round(clamp01(box.height > 0 ? (y - box.top) / box.height : 0)),
  };
}

/** Where to draw `cursor` in the page frame (px from its top left corner), given its component's box and the frame's. */
export function cursorPosition(cursor: Pick<CanvasCursor, 'x' | 'y'>, box: Box, frame: Box): { left: number; top: number } {
  return {
    left: Math.round(box.left - frame.left + cursor.x * box.width),
    top: Math.round(box.top - frame.top + cursor.y * box.height),
  };
}

function isPath(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((i) => Number.isInteger(i) && i >= 0);
}

const isFraction = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;

/** A well-formed cursor (what another client publishes is not trusted). */
export function isCursor(value: unknown): value is CanvasCursor {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return isPath(c.path) && isFraction(c.x) && isFraction(c.y);
}

/** The other editors' cursors over the canvas, from the awareness states (`user`, `cursor`). */
export function cursorsOf(states: Map<number, Record<string, unknown>>, self: number): PeerCursor[] {
  const cursors: PeerCursor[] = [];
  for (const [clientId, state] of states) {
    if (clientId === self || !isCursor(state.cursor)) continue;
    const user = state.user as { name?: unknown; color?: unknown } | undefined;
    if (!user || typeof user.name !== 'string') continue;
    cursors.push({
      clientId,
      name: user.name,
      color: typeof user.color === 'string' ? user.color : colorFor(clientId),
      cursor: { path: state.cursor.path, x: state.cursor.x, y: state.cursor.y },
    });
  }
  return cursors.sort((a, b) => a.clientId - b.clientId);
}

export interface Throttled<T> {
  /** Send `value` now if the last one went at least the interval ago, else once the interval is over (the latest value wins). */
  call(value: T): void;
  /** Drop a value waiting to be sent. */
  cancel(): void;
}

/** `send` at most once every `ms`: the first value at once, then the latest one at the end of each interval. */
export function throttle<T>(send: (value: T) => void, ms: number, now: () => number = () => Date.now()): Throttled<T> {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: { value: T } | null = null;
  const fire = () => {
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    last = now();
    send(value);
  };
  return {
    call(value) {
      pending = { value };
      if (timer) return;
      const wait = last + ms - now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}

// --- Components on the canvas and their paths -------------------------------------------------
// The canvas draws a node as a `.node` element whose children are the `.node` elements of a
// `.children` element inside it; the page frame holds the root's `.children`. Written against
// the few DOM properties they use, so that they are tested without a browser.

export interface CanvasElement {
  parentElement: CanvasElement | null;
  readonly children: ArrayLike<CanvasElement>;
  classList: { contains(name: string): boolean };
}

function childrenWith<E extends CanvasElement>(element: E, name: string): E[] {
  return Array.from(element.children as ArrayLike<E>).filter((c) => c.classList.contains(name));
}

/**
 * The innermost component element at or above `target` within `frame`, and its path (the
 * frame itself and [] when the pointer is on the page but on no component; null outside the frame).
 */
export function componentAt<E extends CanvasElement>(target: E, frame: E): { element: E; path: number[] } | null {
  let element: E | null = null;
  const path: number[] = [];
  for (let at: E | null = target; at; at = at.parentElement as E | null) {
    if (at === frame) return element ? { element, path } : { element: frame, path: [] };
    if (!at.classList.contains('node')) continue;
    const list = at.parentElement;
    if (!list || !list.classList.contains('children')) return null;
    element ??= at;
    path.unshift(childrenWith(list, 'node').indexOf(at));
  }
  return null;
}

/** The element drawing the component at `path` in `frame` (the frame for []), or null when there is none. */
export function elementAt<E extends CanvasElement>(frame: E, path: readonly number[]): E | null {
  let at: E = frame;
  for (const i of path) {
    const list = childrenWith(at, 'children')[0];
    const child = list ? childrenWith(list, 'node')[i] : undefined;
    if (!child) return null;
    at = child;
  }
  return at;
}
