import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ViewNode } from '../../lib/yjsPage';
import { color, int, links, strings, summary, text } from './preview';

function node(type: string, props: ViewNode['props'], name = ''): ViewNode {
  return { key: 'k', node: new Y.Map(), type, name, props, children: [], path: [] };
}

describe('reading props for the canvas', () => {
  it('reads texts, numbers in range, lists and links', () => {
    const heading = node('heading', { text: 'Hi', level: 9, options: ['a', 1, 'b'], links: [{ label: 'Home', href: '/' }, 'x'] });
    expect(text(heading, 'text')).toBe('Hi');
    expect(text(heading, 'level')).toBe('');
    expect(int(heading, 'level', 2, 1, 6)).toBe(6);
    expect(int(heading, 'missing', 2, 1, 6)).toBe(2);
    expect(strings(heading, 'options')).toEqual(['a', 'b']);
    expect(links(heading)).toEqual([{ label: 'Home', href: '/' }]);
  });

  it('tells color tokens from hex colors', () => {
    expect(color(node('text', { color: 'primary' }), 'color')).toEqual({ token: 'primary' });
    expect(color(node('text', { color: '#aabbcc' }), 'color')).toEqual({ hex: '#aabbcc' });
    expect(color(node('text', {}), 'color')).toEqual({});
  });

  it('sums a node up for the layers', () => {
    expect(summary(node('text', { text: 'Hello' }, 'Intro'))).toBe('Intro');
    expect(summary(node('button', { label: 'Buy' }))).toBe('Buy');
    expect(summary(node('text', { text: 'x'.repeat(50) }))).toBe(`${'x'.repeat(39)}…`);
    expect(summary(node('section', {}))).toBe('');
  });
});
