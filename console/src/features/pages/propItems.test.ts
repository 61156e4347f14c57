import { describe, expect, it } from 'vitest';
import type { PropSpec } from '../../lib/pageSchema';
import {
  addItem,
  fieldLabel,
  fieldProblem,
  itemId,
  itemName,
  itemsOf,
  jsonValue,
  listName,
  moveItem,
  newItem,
  numberValue,
  removeItem,
  setItemField,
  singular,
} from './propItems';

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

describe('lists inside items', () => {
  const links: PropSpec = { name: 'links', kind: 'objects', required: true, common: false, options: [], fields };
  const columns: PropSpec[] = [
    { name: 'heading', kind: 'text', required: true, common: false, options: [] },
    links,
    { name: 'tags', kind: 'list', required: false, common: false, options: [] },
  ];

  it('makes a new item with its required lists empty, and the schema\'s defaults', () => {
    expect(newItem(columns, 1)).toEqual({ heading: 'Heading 2', links: [] });
    const withDefault: PropSpec = { name: 'size', kind: 'number', required: true, common: false, options: [], default: 1.5 };
    expect(newItem([withDefault])).toEqual({ size: 1.5 });
  });

  it('sets an inner list inside its item, the rest unchanged', () => {
    const items = [{ heading: 'Shop', links: [a] }, { heading: 'Help', links: [] }];
    const inner = addItem(itemsOf(items[1]?.links), newItem(fields, 0));
    expect(setItemField(items, 1, 'links', inner)).toEqual([items[0], { heading: 'Help', links: [{ label: 'Label 1', href: '#' }] }]);
  });

  it('names items and fields by where they are', () => {
    const top = { name: 'columns', parent: '' };
    expect(listName(top)).toBe('Columns');
    expect(itemName(top, 1)).toBe('Columns 2');
    const inner = { name: 'links', parent: itemName(top, 1) };
    expect(listName(inner)).toBe('Columns 2, links');
    expect(itemName(inner, 0)).toBe('Columns 2, link 1');
    const deeper = { name: 'url', parent: itemName(inner, 0) };
    expect(`${deeper.parent}, ${fieldLabel(deeper.name)}`).toBe('Columns 2, link 1, URL');
    expect(itemName({ name: 'categories', parent: 'Menus 1' }, 2)).toBe('Menus 1, category 3');
    // A prop's own list keeps its name: `Links 1`.
    expect(itemName({ name: 'links', parent: '' }, 0)).toBe('Links 1');
  });

  it('says one of a list\'s items', () => {
    expect(singular('Links')).toBe('Link');
    expect(singular('categories')).toBe('category');
    expect(singular('boxes')).toBe('box');
    expect(singular('addresses')).toBe('address');
    expect(singular('glass')).toBe('glass');
    expect(fieldLabel('href')).toBe('Address');
    expect(fieldLabel('url')).toBe('URL');
  });

  it('gives each item and field an id under its list', () => {
    const list = itemId('prop-columns', 1, 'links');
    expect(list).toBe('prop-columns-1-links');
    expect(itemId(list, 0)).toBe('prop-columns-1-links-0');
    expect(itemId(list, 0, 'href')).toBe('prop-columns-1-links-0-href');
  });
});

describe('values the schema checks', () => {
  const text = (extra: Partial<PropSpec>): PropSpec => ({ name: 'code', kind: 'text', required: false, common: false, options: [], ...extra });

  it('refuses texts too short, too long, or not matching the pattern', () => {
    expect(fieldProblem(text({ minLength: 3 }), 'ab')).toBe('At least 3 characters.');
    expect(fieldProblem(text({ maxLength: 2 }), 'abc')).toBe('At most 2 characters.');
    expect(fieldProblem(text({ pattern: '^[A-Z]+$' }), 'abc')).toBe('Must match the pattern ^[A-Z]+$.');
    expect(fieldProblem(text({ pattern: '^[A-Z]+$', minLength: 3 }), '')).toBe('');
    expect(fieldProblem(text({ pattern: '^[A-Z]+$' }), 'ABC')).toBe('');
  });

  it('reads numbers within their bounds', () => {
    const int: PropSpec = { name: 'n', kind: 'int', required: false, common: false, options: [], min: 1, max: 6 };
    expect(numberValue(int, '9')).toBe(6);
    expect(numberValue(int, '2.5')).toBeNull();
    expect(numberValue({ ...int, kind: 'number' }, '2.5')).toBe(2.5);
    expect(numberValue(int, 'x')).toBeNull();
    expect(numberValue(int, ' ')).toBeNull();
  });

  it('reads JSON, or says why not', () => {
    expect(jsonValue('{"a": [1]}')).toEqual({ value: { a: [1] } });
    expect(jsonValue(' ')).toEqual({ value: undefined });
    expect(jsonValue('{nope')).toHaveProperty('problem');
  });
});
