// The component kinds of a page and their props, read from the page JSON Schema the server
// publishes (GET /api/v1/studio/schema/page.json), so the editor never lists them itself.

/**
 * `list`: strings; `objects`: objects whose fields are described (a link's label and href),
 * lists among them; `number`: any number (a placed component's props may declare one).
 */
export type PropKind = 'text' | 'url' | 'int' | 'number' | 'bool' | 'choice' | 'color' | 'list' | 'objects' | 'other';

export interface PropSpec {
  name: string;
  kind: PropKind;
  required: boolean;
  /** Taken by every kind (layout and style tokens). */
  common: boolean;
  /** The allowed values of a choice (for a color: its tokens). */
  options: string[];
  min?: number;
  max?: number;
  /** url: the pattern an address must match (`^(https?://|/(?!/)|#)`); text: one a component's prop declares. */
  pattern?: string;
  /** objects: the fields of each item, in the schema's order (a field may be a list of objects itself). */
  fields?: PropSpec[];
  /** objects: how many items the schema allows. */
  maxItems?: number;
  /** text: the lengths the schema allows. */
  minLength?: number;
  maxLength?: number;
  /** What the schema says about it, and the value it takes when none is set. */
  description?: string;
  default?: unknown;
}

export interface ComponentKind {
  name: string;
  /** Whether it holds children. */
  container: boolean;
  props: PropSpec[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** What kind of input a prop's schema calls for. */
export function propKind(schema: Json): Pick<PropSpec, 'kind' | 'options' | 'min' | 'max' | 'pattern' | 'fields' | 'maxItems'> {
  if (Array.isArray(schema.enum)) return { kind: 'choice', options: strings(schema.enum) };
  if (Array.isArray(schema.anyOf)) {
    const tokens = schema.anyOf.find((s) => isObject(s) && Array.isArray(s.enum));
    return { kind: 'color', options: isObject(tokens) ? strings(tokens.enum) : [] };
  }
  switch (schema.type) {
    case 'integer':
    case 'number':
      return {
        kind: 'int',
        options: [],
        min: typeof schema.minimum === 'number' ? schema.minimum : undefined,
        max: typeof schema.maximum === 'number' ? schema.maximum : undefined,
      };
    case 'boolean':
      return { kind: 'bool', options: [] };
    case 'string':
      return typeof schema.pattern === 'string' ? { kind: 'url', options: [], pattern: schema.pattern } : { kind: 'text', options: [] };
    case 'array': {
      const items = isObject(schema.items) ? schema.items : {};
      if (items.type === 'string') return { kind: 'list', options: [] };
      const fields = itemFields(items);
      if (fields.length === 0) return { kind: 'other', options: [] };
      return { kind: 'objects', options: [], fields, maxItems: typeof schema.maxItems === 'number' ? schema.maxItems : undefined };
    }
    default:
      return { kind: 'other', options: [] };
  }
}

/** The fields of an array's object items: plain inputs, and lists (of strings, or of objects, to any depth). */
function itemFields(items: Json): PropSpec[] {
  if (items.type !== 'object' || !isObject(items.properties)) return [];
  const required = new Set(strings(items.required));
  return Object.entries(items.properties)
    .map(([name, field]) => ({ name, required: required.has(name), common: false, ...propKind(isObject(field) ? field : {}) }))
    .filter((field) => field.kind !== 'other');
}

/** The kinds the schema defines (`$defs`, each with `type: {const}`), in its order. */
export function componentKinds(schema: unknown): ComponentKind[] {
  const defs = isObject(schema) && isObject(schema.$defs) ? schema.$defs : {};
  const kinds: ComponentKind[] = [];
  for (const def of Object.values(defs)) {
    if (!isObject(def) || !isObject(def.properties)) continue;
    const type = def.properties.type;
    if (!isObject(type) || typeof type.const !== 'string') continue;
    const propsSchema = isObject(def.properties.props) ? def.properties.props : {};
    const properties = isObject(propsSchema.properties) ? propsSchema.properties : {};
    const required = new Set(strings(propsSchema.required));
    kinds.push({
      name: type.const,
      container: 'children' in def.properties,
      props: Object.entries(properties).map(([name, prop]) => ({
        name,
        required: required.has(name),
        common: false,
        ...propKind(isObject(prop) ? prop : {}),
      })),
    });
  }
  // A prop every kind takes is a common one (layout and style).
  for (const kind of kinds) {
    for (const prop of kind.props) prop.common = kinds.every((k) => k.props.some((p) => p.name === prop.name));
  }
  return kinds;
}

/** `text_align` → `Text align`. */
export function humanize(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A value for a required prop, so that a new component is valid as soon as it is dropped. */
function defaultValue(kind: ComponentKind, prop: PropSpec): unknown {
  switch (prop.kind) {
    case 'text':
      return ['text', 'label', 'title'].includes(prop.name) ? humanize(kind.name) : prop.name;
    case 'url':
      return 'https://example.com';
    case 'int':
      return Math.min(prop.max ?? 2, Math.max(prop.min ?? 0, 2));
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

/** The page JSON of a new component of `kind`: its required props set, children if it holds any. */
export function template(kind: ComponentKind, id: string): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  for (const prop of kind.props) if (prop.required) props[prop.name] = defaultValue(kind, prop);
  const node: Record<string, unknown> = { type: kind.name, id, props };
  if (kind.container) node.children = [];
  return node;
}
