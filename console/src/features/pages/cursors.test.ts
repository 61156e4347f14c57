import { afterEach, describe, expect, it, vi } from 'vitest';
import { colorFor } from '../../lib/collab';
import { componentAt, cursorIn, cursorPosition, cursorsOf, elementAt, isCursor, throttle, type CanvasElement } from './cursors';

class Fake implements CanvasElement {
  parentElement: Fake | null = null;
  children: Fake[] = [];
  constructor(
    readonly name: string,
    readonly className: string,
    kids: Fake[] = [],
  ) {
    for (const kid of kids) {
      kid.parentElement = this;
      this.children.push(kid);
    }
  }
  classList = { contains: (name: string) => this.className.split(' ').includes(name) };
}

// frame > .children > [heading, section > .children > [ghost, text > p, button]]
const p = new Fake('p', 'text');
const text = new Fake('text', 'node kind-text', [p]);
const button = new Fake('button', 'node');
const ghost = new Fake('ghost', 'drop-ghost');
const section = new Fake('section', 'node', [new Fake('label', 'caption'), new Fake('list', 'children', [ghost, text, button])]);
const heading = new Fake('heading', 'node');
const title = new Fake('title', 'title');
const frame = new Fake('frame', 'frame', [title, new Fake('root', 'children', [heading, section])]);
const outside = new Fake('outside', 'canvas');

describe('cursors on the canvas', () => {
  it('are the fractions of the box under the pointer', () => {
    const box = { left: 100, top: 50, width: 200, height: 40 };
    expect(cursorIn(150, 60, box, [1, 0])).toEqual({ path: [1, 0], x: 0.25, y: 0.25 });
    expect(cursorIn(90, 100, box, [])).toEqual({ path: [], x: 0, y: 1 });
    expect(cursorIn(100 + 200 / 3, 50, box, [0])).toEqual({ path: [0], x: 0.3333, y: 0 });
    expect(cursorIn(10, 10, { left: 0, top: 0, width: 0, height: 0 }, [])).toEqual({ path: [], x: 0, y: 0 });
  });

  it('land at the same place of the component, whatever the width of the canvas', () => {
    const cursor = cursorIn(150, 60, { left: 100, top: 50, width: 200, height: 40 }, [1]);
    // Another editor's canvas: narrower, scrolled, the component elsewhere and taller.
    const frame = { left: 20, top: -300, width: 375, height: 2000 };
    expect(cursorPosition(cursor, { left: 36, top: 100, width: 343, height: 80 }, frame)).toEqual({ left: 102, top: 420 });
  });

  it('read the others from the awareness states', () => {
    const states = new Map<number, Record<string, unknown>>([
      [7, { user: { name: 'Me', color: '#000000' }, cursor: { path: [], x: 0.5, y: 0.5 } }],
      [12, { user: { name: 'Grace Hopper', color: '#1d6b35' }, cursor: { path: [0, 2], x: 0.1, y: 1 } }],
      [3, { user: { name: 'Ada' }, cursor: { path: [1], x: 0, y: 0.25, extra: true } }],
      [4, { user: { name: 'Away' }, cursor: null }],
      [5, { user: { name: 'Odd' }, cursor: { path: [-1], x: 0, y: 0 } }],
      [6, { user: { name: 'Far' }, cursor: { path: [], x: 2, y: 0 } }],
      [9, { cursor: { path: [], x: 0, y: 0 } }],
    ]);
    expect(cursorsOf(states, 7)).toEqual([
      { clientId: 3, name: 'Ada', color: colorFor(3), cursor: { path: [1], x: 0, y: 0.25 } },
      { clientId: 12, name: 'Grace Hopper', color: '#1d6b35', cursor: { path: [0, 2], x: 0.1, y: 1 } },
    ]);
    expect(isCursor({ path: [0], x: Number.NaN, y: 0 })).toBe(false);
    expect(isCursor('[0]')).toBe(false);
  });

  it('find the component under the pointer and its path', () => {
    expect(componentAt(p, frame)).toEqual({ element: text, path: [1, 0] });
    expect(componentAt(button, frame)?.path).toEqual([1, 1]);
    expect(componentAt(heading, frame)?.path).toEqual([0]);
    expect(componentAt(title, frame)).toEqual({ element: frame, path: [] });
    expect(componentAt(frame, frame)).toEqual({ element: frame, path: [] });
    expect(componentAt(outside, frame)).toBeNull();
  });

  it('find the element of a path', () => {
    expect(elementAt(frame, [1, 0])).toBe(text);
    expect(elementAt(frame, [1, 1])).toBe(button);
    expect(elementAt(frame, [])).toBe(frame);
    expect(elementAt(frame, [2])).toBeNull();
    expect(elementAt(frame, [0, 0])).toBeNull();
  });
});

describe('throttle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends at once, then the latest value once the interval is over', () => {
    vi.useFakeTimers();
    const sent: number[] = [];
    const t = throttle((v: number) => sent.push(v), 50);
    t.call(1);
    expect(sent).toEqual([1]);
    t.call(2);
    t.call(3);
    expect(sent).toEqual([1]);
    vi.advanceTimersByTime(49);
    expect(sent).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([1, 3]);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([1, 3]);
    t.call(4);
    expect(sent).toEqual([1, 3, 4]);
  });

  it('drops a waiting value when cancelled', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const t = throttle((v: string) => sent.push(v), 50);
    t.call('a');
    t.call('b');
    t.cancel();
    vi.advanceTimersByTime(200);
    expect(sent).toEqual(['a']);
  });
});
