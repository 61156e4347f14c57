// The items of a prop that is a list of objects (a navbar's or a footer's links: a label and
// an address each), edited as a repeatable group: each change makes a new list, which the
// props panel sets whole on the page document.

import { humanize, type PropSpec } from '../../lib/pageSchema';
import type { Json } from '../../lib/yjsPage';

export type Item = Record<string, Json>;

/** The prop's value as items (anything that is not an object dropped). */
export function itemsOf(value: unknown): Item[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is Item => typeof v === 'object' && v !== null && !Array.isArray(v));
}

/**
 * A new item the server accepts as it is: its required fields filled (a label named after
 * the list, an address that goes nowhere yet: `#`).
 */
export function newItem(fields: readonly PropSpec[], count = 0): Item {
  const item: Item = {};
  for (const field of fields) {
    if (!field.required) continue;
    switch (field.kind) {
      case 'text':
        item[field.name] = field.name === 'label' || field.name === 'title' ? `${humanize(field.name)} ${count + 1}` : '';
        break;
      case 'url':
        item[field.name] = '#';
        break;
      case 'int':
        item[field.name] = Math.min(field.max ?? 0, Math.max(field.min ?? 0, 0));
        break;
      case 'bool':
        item[field.name] = false;
        break;
      default:
        item[field.name] = field.options[0] ?? '';
    }
  }
  return item;
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

/** Why a field's value is refused before it is sent ('' when it is not): an address must match the schema's pattern. */
export function fieldProblem(field: PropSpec, value: string): string {
  if (field.required && value.trim() === '') return `${humanize(field.name)} is required.`;
  if (field.kind === 'url' && field.pattern && value !== '') {
    let matches = true;
    try {
      matches = new RegExp(field.pattern).test(value);
    } catch {
      // A pattern this browser cannot read: the server checks it.
    }
    if (!matches) return 'Must start with https://, http://, / or #.';
  }
  return '';
}
