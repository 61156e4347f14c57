// The props builder of a component: its `props_schema` (a JSON Schema of type object) as rows
// the builder shows (a prop's name, type, title, description, default, whether it is
// required; an enum's values) and back. A schema the rows cannot hold exactly (a format, a
// list, a nested object, a prop name the builder refuses…) is said why, and is edited as JSON.
// The server keeps a schema's keys in its own order (by name), so the rows' order is written
// down too, as the names in `x-order` (an annotation JSON Schema validators ignore; the page
// editor lists the props in that order).

export const PROP_TYPES = ['string', 'number', 'integer', 'boolean', 'enum'] as const;
export type PropType = (typeof PROP_TYPES)[number];

/** One prop as the builder holds it: strings for its inputs. */
export interface PropRow {
  /** Stable while the row lives (keyed lists, ids of its inputs). */
  key: number;
  name: string;
  type: PropType;
  title: string;
  description: string;
  /** As typed ('' for none); a boolean's is '', 'true' or 'false'. */
  default: string;
  required: boolean;
  /** enum: its values, separated by commas. */
  options: string;
}

/** What is wrong with a row, by input. */
export interface RowErrors {
  name?: string;
  default?: string;
  options?: string;
}

export type JsonSchema = Record<string, unknown>;

/** The annotation that lists the props' names in the builder's order. */
export const ORDER = 'x-order';

/** A prop's name: a letter or _, then letters, digits and _ (as a page's props are named). */
export const PROP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The keys a prop's schema may have for the builder to show it. */
const PROP_KEYS = new Set(['type', 'enum', 'title', 'description', 'default']);
/** The keys the props schema itself may have. */
const SCHEMA_KEYS = new Set(['type', 'properties', 'required', ORDER]);

let nextKey = 1;

export function newRow(type: PropType = 'string'): PropRow {
  return { key: nextKey++, name: '', type, title: '', description: '', default: '', required: false, options: '' };
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The values of a comma-separated list, trimmed, the empty ones dropped. */
export function optionList(text: string): string[] {
  return text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The rows of a props schema, or why the builder cannot show it (then it is edited as JSON). */
export function rowsFromSchema(schema: unknown): { rows: PropRow[] } | { refused: string } {
  if (!isObject(schema)) return { refused: 'The props schema is not a JSON object.' };
  if (schema.type !== 'object') return { refused: 'The props schema is not of type “object”.' };
  const extra = Object.keys(schema).find((k) => !SCHEMA_KEYS.has(k));
  if (extra) return { refused: `The props schema uses “${extra}”, which the builder cannot show.` };
  const properties = schema.properties ?? {};
  if (!isObject(properties)) return { refused: 'The props schema’s properties are not an object.' };
  const required = schema.required ?? [];
  if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) {
    return { refused: 'The props schema’s “required” is not a list of names.' };
  }
  const unknown = required.find((r) => !(r in properties));
  if (unknown !== undefined) return { refused: `“${unknown}” is required but not declared.` };
  if (new Set(required).size !== required.length) return { refused: 'A prop is required twice.' };
  const order = schema[ORDER] ?? Object.keys(properties);
  const names = Object.keys(properties);
  if (
    !Array.isArray(order) ||
    order.length !== names.length ||
    new Set(order).size !== order.length ||
    !order.every((n) => typeof n === 'string' && names.includes(n))
  ) {
    return { refused: `The props schema’s “${ORDER}” does not list each prop once.` };
  }
  const rows: PropRow[] = [];
  for (const name of order as string[]) {
    const prop = properties[name];
    const row = rowFrom(name, prop, required.includes(name));
    if (typeof row === 'string') return { refused: row };
    rows.push(row);
  }
  return { rows };
}

/** The row of one declared prop, or why the builder cannot show it. */
function rowFrom(name: string, prop: unknown, required: boolean): PropRow | string {
  const cannot = (what: string) => `The prop “${name}” ${what}, which the builder cannot show.`;
  if (!PROP_NAME.test(name)) return `The prop name “${name}” is not letters, digits and _, which the builder cannot show.`;
  if (!isObject(prop)) return cannot('is not an object schema');
  const extra = Object.keys(prop).find((k) => !PROP_KEYS.has(k));
  if (extra) return cannot(`uses “${extra}”`);
  const row: PropRow = { ...newRow(), name, required };
  for (const key of ['title', 'description'] as const) {
    const value = prop[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '' || value.trim() !== value) return cannot(`has a ${key} that is not a plain text`);
    row[key] = value;
  }
  const value = prop.default;
  if (prop.enum !== undefined) {
    if (prop.type !== 'string') return cannot('has an enum that is not of strings');
    const options = prop.enum;
    if (!Array.isArray(options) || options.length === 0) return cannot('has an empty enum');
    const texts = options.filter((o): o is string => typeof o === 'string');
    if (texts.length !== options.length) return cannot('has an enum that is not of strings');
    if (texts.some((o) => o === '' || o.includes(',') || o.trim() !== o)) return cannot('has enum values with commas or spaces around them');
    if (new Set(texts).size !== texts.length) return cannot('has an enum value twice');
    if (value !== undefined && (typeof value !== 'string' || !texts.includes(value))) return cannot('has a default that is not one of its values');
    return { ...row, type: 'enum', options: texts.join(', '), default: value ?? '' };
  }
  switch (prop.type) {
    case 'string':
      if (value !== undefined && (typeof value !== 'string' || value === '')) return cannot('has a default that is not a text');
      return { ...row, type: 'string', default: value ?? '' };
    case 'number':
    case 'integer':
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || (prop.type === 'integer' && !Number.isInteger(value)))) {
        return cannot(`has a default that is not ${prop.type === 'integer' ? 'an integer' : 'a number'}`);
      }
      return { ...row, type: prop.type, default: value === undefined ? '' : String(value) };
    case 'boolean':
      if (value !== undefined && typeof value !== 'boolean') return cannot('has a default that is not true or false');
      return { ...row, type: 'boolean', default: value === undefined ? '' : String(value) };
    default:
      return cannot(prop.type === undefined ? 'has no type' : `is of type ${JSON.stringify(prop.type)}`);
  }
}

/** A row's default as a JSON value (undefined: none), or what is wrong with it. */
function defaultOf(row: PropRow): { value: unknown } | { error: string } {
  const text = row.type === 'string' ? row.default : row.default.trim();
  if (text === '') return { value: undefined };
  switch (row.type) {
    case 'string':
      return { value: text };
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: 'The default is not a number.' };
      if (row.type === 'integer' && !Number.isInteger(n)) return { error: 'The default is not an integer.' };
      return { value: n };
    }
    case 'boolean':
      if (text === 'true' || text === 'false') return { value: text === 'true' };
      return { error: 'The default is true or false.' };
    case 'enum':
      if (!optionList(row.options).includes(text)) return { error: 'The default is one of the values.' };
      return { value: text };
  }
}

/** The default a row keeps once its type changed: '' when a choice (yes/no, an enum's values) has no such value. */
export function retypedDefault(row: Pick<PropRow, 'type' | 'default' | 'options'>): string {
  if (row.type === 'boolean') return row.default === 'true' || row.default === 'false' ? row.default : '';
  if (row.type === 'enum') return optionList(row.options).includes(row.default) ? row.default : '';
  return row.default;
}

/** The props schema of the rows, or what is wrong with each row (by its key). */
export function schemaFromRows(rows: readonly PropRow[]): { schema: JsonSchema } | { errors: Record<number, RowErrors> } {
  const errors: Record<number, RowErrors> = {};
  const fail = (row: PropRow, field: keyof RowErrors, message: string) => {
    (errors[row.key] ??= {})[field] ??= message;
  };
  const properties: JsonSchema = {};
  const required: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const name = row.name.trim();
    if (!name) fail(row, 'name', 'A prop needs a name.');
    else if (!PROP_NAME.test(name)) fail(row, 'name', 'Letters, digits and _, not starting with a digit.');
    else if (seen.has(name)) fail(row, 'name', `Another prop is named “${name}”.`);
    seen.add(name);
    const prop: JsonSchema = { type: row.type === 'enum' ? 'string' : row.type };
    if (row.type === 'enum') {
      const options = optionList(row.options);
      if (options.length === 0) fail(row, 'options', 'An enum needs at least one value.');
      else if (new Set(options).size !== options.length) fail(row, 'options', 'A value is listed twice.');
      prop.enum = options;
    }
    if (row.title.trim()) prop.title = row.title.trim();
    if (row.description.trim()) prop.description = row.description.trim();
    const value = defaultOf(row);
    if ('error' in value) fail(row, 'default', value.error);
    else if (value.value !== undefined) prop.default = value.value;
    properties[name] = prop;
    if (row.required) required.push(name);
  }
  if (Object.keys(errors).length > 0) return { errors };
  const schema: JsonSchema = { type: 'object', properties };
  if (required.length > 0) schema.required = required;
  if (rows.length > 1) schema[ORDER] = rows.map((row) => row.name.trim());
  return { schema };
}

/** Move the row at `from` by `by` places (up: -1, down: 1); the rows unchanged past either end. */
export function moveRow<T>(rows: readonly T[], from: number, by: number): T[] {
  const to = from + by;
  if (from < 0 || from >= rows.length || to < 0 || to >= rows.length) return [...rows];
  const next = [...rows];
  const [row] = next.splice(from, 1);
  next.splice(to, 0, row as T);
  return next;
}

/** How many props a schema declares. */
export function propCount(schema: unknown): number {
  return isObject(schema) && isObject(schema.properties) ? Object.keys(schema.properties).length : 0;
}
