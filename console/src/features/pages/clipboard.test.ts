import { describe, expect, it } from 'vitest';
import { clipboardText, pastePlace, readClipboard, withNewIds } from './clipboard';

const section = {
  type: 'section',
  id: 's1',
  props: { padding: 'md' },
  children: [
    { type: 'heading', id: 'h1', props: { text: 'Hi' } },
    { type: 'grid', id: 'g1', children: [{ type: 'card', id: 'c1', props: { title: 'A' } }] },
  ],
};

describe('copy and paste of components', () => {
  it('reads back what it wrote, and nothing else', () => {
    expect(readClipboard(clipboardText(section))).toEqual(section);
    expect(readClipboard(null)).toBeNull();
    expect(readClipboard('plain text')).toBeNull();
    expect(readClipboard(JSON.stringify(section))).toBeNull();
    expect(readClipboard(clipboardText({ type: 'page', children: [] }))).toBeNull();
    expect(readClipboard(JSON.stringify({ kind: 'socle.component', node: { id: 'x' } }))).toBeNull();
  });

  it('gives the copy and everything inside it new ids, leaving the original alone', () => {
    let n = 0;
    const copy = withNewIds(section, () => `n${(n += 1)}`);
    expect(copy).toEqual({
      type: 'section',
      id: 'n1',
      props: { padding: 'md' },
      children: [
        { type: 'heading', id: 'n2', props: { text: 'Hi' } },
        { type: 'grid', id: 'n3', children: [{ type: 'card', id: 'n4', props: { title: 'A' } }] },
      ],
    });
    expect(section.id).toBe('s1');
    expect(section.children[1]?.children?.[0]?.id).toBe('c1');
    expect(withNewIds({ type: 'text' }, () => 'x')).toEqual({ type: 'text' });
  });

  it('pastes at the end of the page, into a container, or after a component', () => {
    expect(pastePlace(null, 'h1')).toBe('end');
    expect(pastePlace({ root: true, container: true, id: undefined }, 'h1')).toBe('end');
    expect(pastePlace({ root: false, container: true, id: 's1' }, 'h1')).toBe('inside');
    expect(pastePlace({ root: false, container: true, id: 's1' }, 's1')).toBe('after');
    expect(pastePlace({ root: false, container: false, id: 'h2' }, 'h1')).toBe('after');
    expect(pastePlace({ root: false, container: true, id: undefined }, undefined)).toBe('inside');
  });
});
