// The items of a prop that is a list of objects (a navbar's or a footer's links: a label and
// an address each), edited as a repeatable group: each change makes a new list, which the
// props panel sets whole on the page document. An item's field may be a list of objects
// itself (a column's links), edited the same way inside the item, to any depth; the names
// of items and fields say where they are (`Columns 2, link 1, URL`).

import { humanize, type PropSpec } from '../../lib/pageSchema';
import type { Json } from '../../lib/yjsPage';

export type Item = Record<string, Json>;

/** The prop's value as items (anything that is not an object dropped). */
export function itemsOf(value: unknown): Item[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is Item => typeof v === 'object' && v !== null && !Array.isArray(v));
}

/**
 * A new item the server accepts as it is: its required fields filled (the schema's default,
 * else a label named after the list, an address that goes nowhere yet: `#`, an empty list).
 */
export function newItem(fields: readonly PropSpec[], count = 0): Item {
  const item: Item = {};
  for (const field of fields) {
    if (!field.required) continue;
    if (field.default !== undefined) {
      item[field.name] = structuredClone(field.default) as Json;
      continue;
    }
    switch (field.kind) {
      case 'text':
        item[field.name] = ['label', 'title', 'name', 'heading'].includes(field.name) ? `${humanize(field.name)} ${count + 1}` : '';
        break;
      case 'url':
        item[field.name] = '#';
        break;
      case 'int':
      case 'number':
        item[field.name] = Math.min(field.max ?? Infinity, Math.max(field.min ?? 0, 0));
        break;
      case 'bool':
        item[field.name] = false;
        break;
      case 'list':
      case 'objects':
        item[field.name] = [];
        break;
      case 'other':
        item[field.name] = {};
        break;
      default:
        item[field.name] = field.options[0] ?? '';
    }
  }
  return item;
}

// --- Where an item is -----------------------------------------------------------------------

/**
 * A list being edited: a prop (`links`, `parent` '') or a field of an item (`links` of
 * `Columns 2`), named by where it is.
 */
export interface ListPlace {
  name: string;
  /** The item holding the list ('' for a prop). */
  parent: string;
}

/** `links` → `link`, `categories` → `category`, `boxes` → `box`: one of a list's items. */
export function singular(word: string): string {
  if (/ies$/i.test(word)) return word.slice(0, -3) + 'y';
  if (/(ss|x|z|ch|sh)es$/i.test(word)) return word.slice(0, -2);
  if (/[^s]s$/i.test(word)) return word.slice(0, -1);
  return word;
}

/** A field's name for people: `href` is an address, `url` a URL. */
export function fieldLabel(name: string): string {
  if (name === 'href') return 'Address';
  if (name === 'url') return 'URL';
  return humanize(name);
}

/** The list's name, saying where it is: `Links`, or `Columns 2, links` inside an item. */
export function listName(place: ListPlace): string {
  const name = fieldLabel(place.name);
  return place.parent ? `${place.parent}, ${name.toLowerCase()}` : name;
}

/** Item `index` of the list, saying where it is: `Links 2`, or `Columns 2, link 1` inside an item. */
export function itemName(place: ListPlace, index: number): string {
  if (!place.parent) return `${fieldLabel(place.name)} ${index + 1}`;
  return `${place.parent}, ${singular(fieldLabel(place.name)).toLowerCase()} ${index + 1}`;
}

/** The id of item `index` of the list whose id is `list` (`prop-links-1`), or of one of its fields (`prop-links-1-href`). */
export function itemId(list: string, index: number, field?: string): string {
  return field === undefined ? `${list}-${index}` : `${list}-${index}-${field}`;
}

/** `items` with `item` at the end, unless there are `max` already. */
export function addItem(items: readonly Item[], item: Item, max = Infinity): Item[] {
  return items.length >= max ? [...items] : [...items, item];
}

export function removeItem(items: readonly Item[], index: number): Item[] {
  return items.filter((_, i) => i !== index);
}

/** `items` with the one at `index` moved by `delta` places (kept within the list). */
export function moveItem(items: readonly Item[], index: number, delta: number): Item[] {
  const to = Math.min(items.length - 1, Math.max(0, index + delta));
  const next = [...items];
  if (index < 0 || index >= items.length || to === index) return next;
  const [moved] = next.splice(index, 1);
  next.splice(to, 0, moved as Item);
  return next;
}

/** `items` with one field of one item set; `undefined` removes the field (an optional one emptied). */
export function setItemField(items: readonly Item[], index: number, name: string, value: Json | undefined): Item[] {
  return items.map((item, i) => {
    if (i !== index) return item;
    const next = { ...item };
    if (value === undefined) delete next[name];
    else next[name] = value;
    return next;
  });
}

/** The addresses a published page may link to (the page schema's pattern for them). */
export const SAFE_URL = '^(https?://|/(?!/)|#)';

/** Why a field's value is refused before it is sent ('' when it is not): an address must match the schema's pattern. */
export function fieldProblem(field: PropSpec, value: string): string {
  if (field.required && value.trim() === '') return `${fieldLabel(field.name)} is required.`;
  if (value === '') return '';
  if (field.minLength !== undefined && value.length < field.minLength) return `At least ${field.minLength} characters.`;
  if (field.maxLength !== undefined && value.length > field.maxLength) return `At most ${field.maxLength} characters.`;
  if (field.pattern) {
    let matches = true;
    try {
      matches = new RegExp(field.pattern).test(value);
    } catch {
      // A pattern this browser cannot read: the server checks it.
    }
    if (!matches) return field.pattern === SAFE_URL ? 'Must start with https://, http://, / or #.' : `Must match the pattern ${field.pattern}.`;
  }
  return '';
}

/** A number typed into a field, within the schema's bounds; null when it is not one (or not whole, for an integer). */
export function numberValue(field: PropSpec, raw: string): number | null {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || (field.kind === 'int' && !Number.isInteger(n))) return null;
  return Math.min(field.max ?? n, Math.max(field.min ?? n, n));
}

/** A JSON value typed into a field (an object the schema does not describe), or why not. */
export function jsonValue(raw: string): { value: Json | undefined } | { problem: string } {
  if (raw.trim() === '') return { value: undefined };
  try {
    return { value: JSON.parse(raw) as Json };
  } catch {
    return { problem: 'Enter valid JSON, e.g. {"name": "value"}.' };
  }
}
