// A placed project component (`{"type": "component", "props": {"ref": id, "props": {…}}}`):
// which of the organization's components it places, and the props it gives it, as that
// component declares them (its `props_schema`, a JSON Schema of type object): each declared
// prop an input of its type, its default shown; lists of objects edited item by item.

import { humanize, type PropKind, type PropSpec } from '../../lib/pageSchema';
import type { Json } from '../../lib/yjsPage';
import type { StudioComponent } from '../../lib/types';
import { fieldLabel, SAFE_URL } from './propItems';

type Schema = Record<string, unknown>;

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

const num = (value: unknown) => (typeof value === 'number' ? value : undefined);

/** `["string", "null"]` → `string`: the type a value of the schema has. */
function typeOf(schema: Schema): string {
  if (typeof schema.type === 'string') return schema.type;
  const types = strings(schema.type).filter((t) => t !== 'null');
  return types.length === 1 ? (types[0] ?? '') : '';
}

/** The input a declared prop calls for. */
function spec(name: string, schema: Schema, required: boolean): PropSpec {
  const base: PropSpec = { name, kind: 'other', required, common: false, options: [] };
  if (typeof schema.description === 'string') base.description = schema.description;
  if (schema.default !== undefined) base.default = schema.default;
  const kind = (k: PropKind, extra: Partial<PropSpec> = {}): PropSpec => ({ ...base, kind: k, ...extra });
  if (Array.isArray(schema.enum)) return kind('choice', { options: strings(schema.enum) });
  switch (typeOf(schema)) {
    case 'string': {
      const lengths = { minLength: num(schema.minLength), maxLength: num(schema.maxLength) };
      const pattern = typeof schema.pattern === 'string' ? schema.pattern : undefined;
      if (schema.format === 'uri' || schema.format === 'url' || schema.format === 'uri-reference') {
        // A link of a published page: the page schema's safe addresses, unless the component says otherwise.
        return kind('url', { ...lengths, pattern: pattern ?? SAFE_URL });
      }
      return kind('text', { ...lengths, pattern });
    }
    case 'integer':
    case 'number':
      return kind(typeOf(schema) === 'integer' ? 'int' : 'number', { min: num(schema.minimum), max: num(schema.maximum) });
    case 'boolean':
      return kind('bool');
    case 'array': {
      const items = isObject(schema.items) ? schema.items : {};
      if (typeOf(items) === 'string' && !Array.isArray(items.enum)) return kind('list');
      const fields = componentPropSpecs(items);
      if (typeOf(items) === 'object' && fields.length > 0) return kind('objects', { fields, maxItems: num(schema.maxItems) });
      return base;
    }
    default:
      return base;
  }
}

/**
 * The props a component declares (its `props_schema`), required ones first, each as an input;
 * [] when it declares none. They come in the order its builder gave them (the names in
 * `x-order`: the server keeps a schema's keys by name), else in the schema's.
 */
export function componentPropSpecs(schema: unknown): PropSpec[] {
  if (!isObject(schema) || !isObject(schema.properties)) return [];
  const properties = schema.properties;
  const required = new Set(strings(schema.required));
  const ordered = strings(schema['x-order']).filter((name, i, all) => name in properties && all.indexOf(name) === i);
  const names = [...ordered, ...Object.keys(properties).filter((name) => !ordered.includes(name))];
  const specs = names.map((name) => {
    const prop = properties[name];
    return spec(name, isObject(prop) ? prop : {}, required.has(name));
  });
  return specs.sort((a, b) => Number(b.required) - Number(a.required));
}

/** The component a node places: `ref` is its id (or its name, which the server accepts too). */
export function findComponent(components: readonly StudioComponent[], ref: string): StudioComponent | undefined {
  return components.find((c) => c.id === ref) ?? components.find((c) => c.name === ref);
}

/** A value for a required prop with no default, so that the component gets what it needs. */
function blank(prop: PropSpec): Json {
  switch (prop.kind) {
    case 'text':
      return humanize(prop.name);
    case 'url':
      return '#';
    case 'int':
    case 'number':
      return Math.min(prop.max ?? Infinity, Math.max(prop.min ?? 0, 0));
    case 'bool':
      return false;
    case 'choice':
    case 'color':
      return prop.options[0] ?? '';
    case 'list':
    case 'objects':
      return [];
    default:
      return {};
  }
}

/**
 * The props of a node that now places a component declaring `specs`: the current values it
 * declares too are kept (the others dropped), its required ones filled (their default, else
 * a value of their type).
 */
export function propsFor(specs: readonly PropSpec[], current: unknown): Record<string, Json> {
  const props: Record<string, Json> = {};
  const have = isObject(current) ? current : {};
  for (const prop of specs) {
    const value = have[prop.name];
    if (value !== undefined && value !== null) props[prop.name] = value as Json;
    else if (prop.required) props[prop.name] = prop.default !== undefined ? (structuredClone(prop.default) as Json) : blank(prop);
  }
  return props;
}

/** One line of a placed component's preview: a prop (or an item's field) and its value, or the items of a list. */
export interface PreviewRow {
  label: string;
  text: string;
  /** A list's items, each with its own rows. */
  items?: PreviewRow[][];
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.map(String).join(', ');
  return JSON.stringify(value);
}

/** What the canvas shows of a placed component's props: each value, lists of objects item by item (to any depth). */
export function previewRows(value: unknown): PreviewRow[] {
  if (!isObject(value)) return [];
  return Object.entries(value).map(([name, v]) => {
    const label = fieldLabel(name);
    if (Array.isArray(v) && v.some(isObject)) {
      return { label, text: '', items: v.filter(isObject).map((item) => previewRows(item)) };
    }
    return { label, text: shown(v) };
  });
}
