// The component editor's model: JSON typed in its textareas read back, the server's errors
// placed by the field they name (the document's by the place in the tree), the payloads, and
// the paths of the organization's components.

import type { FieldErrors } from '../../lib/api';
import { errorsUnder } from '../../lib/fieldErrors';

/** The default tree of a new component: an empty section. */
export const NEW_DOCUMENT = { type: 'section', props: {}, children: [] };

/** A JSON value typed in a textarea, or why it cannot be read. */
export function parseJson(text: string): { value: unknown } | { error: string } {
  if (!text.trim()) return { error: 'Type a JSON value.' };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    return { error: `This is not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** A JSON object typed in a textarea (a schema, a tree), or why it cannot be read. */
export function parseObject(text: string, what: string): { value: Record<string, unknown> } | { error: string } {
  const parsed = parseJson(text);
  if ('error' in parsed) return parsed;
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: `${what} is a JSON object ({…}).` };
  return { value: value as Record<string, unknown> };
}

/** JSON for a textarea, two spaces per level. */
export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value`'s keys, those of `first` first (in that order), then the others as they come. */
function keysFirst(value: Record<string, unknown>, first: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of first) if (key in value) out[key] = value[key];
  for (const [key, item] of Object.entries(value)) if (!(key in out)) out[key] = item;
  return out;
}

/**
 * A tree as people read it (the server answers its keys by name): each node's type first,
 * then its id, name, props and children.
 */
export function readableTree(node: unknown): unknown {
  if (!isObject(node)) return node;
  const out = keysFirst(node, ['type', 'id', 'name', 'props', 'children']);
  if (Array.isArray(out.children)) out.children = out.children.map(readableTree);
  return out;
}

/**
 * A props schema as people read it: its type, then its props in the order of `x-order`
 * (each prop's type first), what is required, the rest.
 */
export function readableSchema(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const out = keysFirst(schema, ['type', 'properties', 'required', 'x-order']);
  if (isObject(out.properties)) {
    const order = Array.isArray(out['x-order']) ? out['x-order'].filter((n): n is string => typeof n === 'string') : [];
    const props = keysFirst(out.properties, order);
    for (const [name, prop] of Object.entries(props)) {
      if (isObject(prop)) props[name] = keysFirst(prop, ['type', 'enum', 'title', 'description', 'default']);
    }
    out.properties = props;
  }
  return out;
}

/**
 * Where in the tree a server's field is, or null when it is not the document's: the API names
 * them as JSON pointers (`/document/children/0/props/level`) or dotted paths
 * (`document.children.0.props.level`); both become `children[0].props.level` ('' for the
 * document itself).
 */
export function documentPlace(field: string): string | null {
  const match = /^\/?document(?:$|[./](.*)$)/.exec(field);
  if (!match) return null;
  const parts = (match[1] ?? '').split(/[./]/).filter(Boolean);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

/** The server's messages about the document, each with the place it names. */
export function documentMessages(errors: FieldErrors): string[] {
  return Object.entries(errors).flatMap(([field, messages]) => {
    const place = documentPlace(field);
    if (place === null) return [];
    return messages.map((m) => (place ? `${place}: ${m}` : m));
  });
}

/** The server's messages about the props schema (itself, or a part of it). */
export function schemaMessages(errors: FieldErrors): string[] {
  const inside = errorsUnder(errors, 'props_schema');
  return [...(errors.props_schema ?? []), ...Object.entries(inside).flatMap(([field, messages]) => messages.map((m) => `${field}: ${m}`))];
}

/** Whether the editor shows a field's errors next to one of its inputs. */
export function placedField(field: string): boolean {
  return field === 'name' || field === 'description' || field === 'props_schema' || field.startsWith('props_schema.') || documentPlace(field) !== null;
}

/** The list of an organization's components. */
export function componentsPath(organizationId: string): string {
  return `/organizations/${encodeURIComponent(organizationId)}/components`;
}

/** The editor of one component (`new`: of a new one). */
export function componentPath(organizationId: string, componentId: string | 'new'): string {
  return `${componentsPath(organizationId)}/${encodeURIComponent(componentId)}`;
}

/**
 * A page node's subtree as a component's default tree: its type, name, props and children
 * (the ids of the page's nodes left behind: each place it is put gets its own).
 */
export function subtreeDocument(node: unknown): Record<string, unknown> {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return {};
  const out: Record<string, unknown> = { ...(node as Record<string, unknown>) };
  delete out.id;
  if (Array.isArray(out.children)) out.children = out.children.map(subtreeDocument);
  return out;
}
