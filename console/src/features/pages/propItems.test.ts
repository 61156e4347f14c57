import { describe, expect, it } from 'vitest';
import type { PropSpec } from '../../lib/pageSchema';
import { addItem, fieldProblem, itemsOf, moveItem, newItem, removeItem, setItemField } from './propItems';

const fields: PropSpec[] = [
  { name: 'label', kind: 'text', required: true, common: false, options: [] },
  { name: 'href', kind: 'url', required: true, common: false, options: [], pattern: '^(https?://|/(?!/)|#)' },
  { name: 'note', kind: 'text', required: false, common: false, options: [] },
];

const a = { label: 'A', href: '/a' };
const b = { label: 'B', href: '/b' };
const c = { label: 'C', href: '#c' };

describe('a list of objects', () => {
  it('reads the items of a value, dropping what is not an object', () => {
    expect(itemsOf([a, 'x', null, [1], b])).toEqual([a, b]);
    expect(itemsOf(undefined)).toEqual([]);
    expect(itemsOf({ label: 'A' })).toEqual([]);
  });

  it('makes a new item the server accepts: its required fields filled', () => {
    expect(newItem(fields)).toEqual({ label: 'Label 1', href: '#' });
    expect(newItem(fields, 2)).toEqual({ label: 'Label 3', href: '#' });
  });

  it('adds at the end, up to the maximum', () => {
    expect(addItem([a], b)).toEqual([a, b]);
    expect(addItem([a, b], c, 2)).toEqual([a, b]);
  });

  it('removes an item', () => {
    expect(removeItem([a, b, c], 1)).toEqual([a, c]);
    expect(removeItem([a], 3)).toEqual([a]);
  });

  it('moves an item up and down, within the list', () => {
    expect(moveItem([a, b, c], 2, -1)).toEqual([a, c, b]);
    expect(moveItem([a, b, c], 0, 1)).toEqual([b, a, c]);
    expect(moveItem([a, b, c], 0, -1)).toEqual([a, b, c]);
    expect(moveItem([a, b, c], 2, 1)).toEqual([a, b, c]);
    expect(moveItem([a, b], 5, -1)).toEqual([a, b]);
  });

  it('sets one field of one item without changing the others', () => {
    const items = [a, b];
    expect(setItemField(items, 1, 'label', 'Bee')).toEqual([a, { label: 'Bee', href: '/b' }]);
    expect(setItemField([{ ...a, note: 'x' }], 0, 'note', undefined)).toEqual([a]);
    expect(items).toEqual([a, b]);
  });

  it('refuses an empty required field and an address the schema does not allow', () => {
    expect(fieldProblem(fields[1]!, '/about')).toBe('');
    expect(fieldProblem(fields[1]!, 'https://example.com')).toBe('');
    expect(fieldProblem(fields[1]!, 'javascript:alert(1)')).toMatch(/Must start with/);
    expect(fieldProblem(fields[1]!, '//evil.example')).toMatch(/Must start with/);
    expect(fieldProblem(fields[0]!, ' ')).toBe('Label is required.');
    expect(fieldProblem(fields[2]!, '')).toBe('');
  });
});
