// The workflow editor's model, generated from the published JSON Schema of workflow
// definitions (`/api/v1/automation/schema/workflow.json`): the trigger types and step types
// with the settings of each, drafts of them as the forms hold them (strings for inputs), the
// definition to send, and the server's errors (`definition.steps[2].url`) by step and setting.
// A loop's steps are a list of step drafts of their own, to any depth: their paths are the
// server's (`definition.steps[2].steps[0].url`).

import type { FieldErrors } from '../../lib/api';
import type { WorkflowDefinition } from '../../lib/types';

/** How a setting is edited: a line, a text area, a choice, a number, yes/no, several choices,
 * a JSON object, any value (JSON when it starts with `{` or `[`, a template otherwise —
 * `{{ … }}` is a template), or a list of steps (a loop's, each step a form of its own). */
export type FieldKind = 'text' | 'longtext' | 'enum' | 'integer' | 'boolean' | 'multienum' | 'json' | 'any' | 'steps';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** The choices of `enum` and `multienum`. */
  options: string[];
  description: string;
  minimum?: number;
  maximum?: number;
}

/** A trigger type or a step type with its own settings. */
export interface KindSpec {
  type: string;
  fields: FieldSpec[];
}

export interface WorkflowSchema {
  /** What the schema says about definitions (templates, jumps). */
  description: string;
  triggers: KindSpec[];
  steps: KindSpec[];
  /** The settings every step has (id, name, next, timeout). */
  common: FieldSpec[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** `["GET", "get"]` → `["GET"]`: choices that differ only by case are one. */
function distinct(options: string[]): string[] {
  const seen = new Set<string>();
  return options.filter((o) => {
    const key = o.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Settings whose text is long (a message, a prompt). */
const LONG_TEXT = new Set(['body', 'prompt', 'system']);

/** Where the schema defines a step: a list whose items point here holds steps (a loop's). */
const STEP_REF = '#/$defs/step';

/** The definition `$ref` points to in `defs` (`#/$defs/target`), or the property itself. */
function resolve(property: unknown, defs: Json): unknown {
  if (isObject(property) && typeof property.$ref === 'string') {
    const name = property.$ref.replace('#/$defs/', '');
    const target = defs[name];
    if (isObject(target)) return { ...target, ...property, $ref: undefined };
  }
  return property;
}

function fieldSpec(name: string, raw: unknown, required: boolean, defs: Json): FieldSpec {
  const property = resolve(raw, defs);
  const spec: FieldSpec = { name, kind: 'any', required, options: [], description: '' };
  if (!isObject(property)) return spec;
  if (typeof property.description === 'string') spec.description = property.description;
  if (typeof property.minimum === 'number') spec.minimum = property.minimum;
  if (typeof property.maximum === 'number') spec.maximum = property.maximum;
  const type = property.type;
  if (Array.isArray(property.enum)) {
    spec.kind = 'enum';
    spec.options = distinct(strings(property.enum));
  } else if (type === 'string') {
    const long = LONG_TEXT.has(name) || (typeof property.maxLength === 'number' && property.maxLength > 2000);
    spec.kind = long ? 'longtext' : 'text';
  } else if (type === 'integer' || type === 'number') {
    spec.kind = 'integer';
  } else if (type === 'boolean') {
    spec.kind = 'boolean';
  } else if (type === 'array' && isObject(property.items) && Array.isArray(property.items.enum)) {
    spec.kind = 'multienum';
    spec.options = distinct(strings(property.items.enum));
  } else if (type === 'array' && isObject(property.items) && property.items.$ref === STEP_REF) {
    spec.kind = 'steps';
  } else if (type === 'object') {
    spec.kind = 'json';
  }
  return spec;
}

/** The settings of each kind (`type`), from the schema's `if type = X then {…}` branches. */
function kinds(def: unknown, defs: Json): KindSpec[] {
  if (!isObject(def) || !isObject(def.properties) || !isObject(def.properties.type)) return [];
  const types = strings(def.properties.type.enum);
  const branches = Array.isArray(def.allOf) ? def.allOf.filter(isObject) : [];
  return types.map((type) => {
    const branch = branches.find((b) => {
      const condition = isObject(b.if) && isObject(b.if.properties) ? b.if.properties.type : undefined;
      return isObject(condition) && condition.const === type;
    });
    const then = branch && isObject(branch.then) ? branch.then : {};
    const required = new Set(strings(then.required));
    const properties = isObject(then.properties) ? then.properties : {};
    const fields = Object.entries(properties)
      .filter(([name, property]) => name !== 'type' && property !== true && property !== false)
      .map(([name, property]) => fieldSpec(name, property, required.has(name), defs));
    // `body: true` (any value) is a setting too, unlike `type: true` (already constrained).
    for (const [name, property] of Object.entries(properties)) {
      if (name !== 'type' && property === true) fields.push({ name, kind: 'any', required: required.has(name), options: [], description: '' });
    }
    return { type, fields };
  });
}

/** The editor's model of the schema (empty lists when it is not what is expected). */
export function parseWorkflowSchema(schema: unknown): WorkflowSchema {
  const root = isObject(schema) ? schema : {};
  const defs = isObject(root.$defs) ? root.$defs : {};
  const step = isObject(defs.step) ? defs.step : {};
  const stepRequired = new Set(strings(step.required));
  const common = Object.entries(isObject(step.properties) ? step.properties : {})
    .filter(([name]) => name !== 'type')
    .map(([name, property]) => fieldSpec(name, property, stepRequired.has(name), defs));
  return {
    description: typeof root.description === 'string' ? root.description : '',
    triggers: kinds(defs.trigger, defs),
    steps: kinds(step, defs),
    common,
  };
}

/** `a \`next\` jump` → text and code parts, for showing the schema's description. */
export function codeParts(text: string): Array<{ text: string; code: boolean }> {
  return text
    .split('`')
    .map((part, i) => ({ text: part, code: i % 2 === 1 }))
    .filter((part) => part.text !== '');
}

// --- Labels ------------------------------------------------------------------------------------

const LABELS: Record<string, string> = {
  id: 'Step id',
  url: 'URL',
  app_id: 'App',
  if: 'Condition',
  then: 'Then go to',
  else: 'Else go to',
  next: 'Next step',
  timeout_secs: 'Timeout (seconds)',
  fail_on_error: 'Fail on error status',
  max_items: 'Most items',
  cron: 'Cron schedule',
  timezone: 'Time zone',
  user_id: 'User id',
  record_id: 'Record id',
  notification_type: 'Notification type',
  output_schema: 'Output schema (JSON)',
  over: 'Loop over',
};

/** A setting's name for people: `timeout_secs` → `Timeout (seconds)`, `collection` → `Collection`. */
export function fieldLabel(name: string): string {
  const known = LABELS[name];
  if (known) return known;
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const TRIGGER_LABELS: Record<string, string> = {
  manual: 'Run by hand',
  record: 'A record changes',
  project: 'A project event',
  schedule: 'On a schedule',
  webhook: 'An incoming webhook',
};

const STEP_LABELS: Record<string, string> = {
  condition: 'Condition',
  http: 'HTTP request',
  email: 'Send an email',
  record: 'Write a record',
  notification: 'Notify a user',
  delay: 'Wait',
  set: 'Set variables',
  loop: 'Loop',
  ai: 'Ask the AI',
};

/** A trigger or step type for people (`http` → `HTTP request`, the trigger `record` → `A record changes`). */
export function kindLabel(type: string, of: 'trigger' | 'step' = 'step'): string {
  return (of === 'trigger' ? TRIGGER_LABELS : STEP_LABELS)[type] ?? fieldLabel(type);
}

// --- Drafts ------------------------------------------------------------------------------------

/** A setting as its input holds it. */
export type DraftValue = string | string[];

/**
 * A trigger or a step as the form holds it; `extra` keeps what no input shows; `lists` holds
 * the steps of its settings that are lists of steps (a loop's `steps`), as drafts.
 */
export interface Draft {
  key: number;
  type: string;
  values: Record<string, DraftValue>;
  lists: Record<string, Draft[]>;
  extra: Json;
}

let nextKey = 1;

function specOf(kinds: KindSpec[], type: string): FieldSpec[] {
  return kinds.find((k) => k.type === type)?.fields ?? [];
}

/** The settings of a trigger type. */
export function triggerFields(schema: WorkflowSchema, type: string): FieldSpec[] {
  return specOf(schema.triggers, type);
}

/** The settings of a step type: the common ones first. */
export function stepFields(schema: WorkflowSchema, type: string): FieldSpec[] {
  return [...schema.common, ...specOf(schema.steps, type)];
}

function draftValue(spec: FieldSpec, value: unknown): DraftValue {
  if (value === undefined || value === null) return spec.kind === 'multienum' ? [] : '';
  switch (spec.kind) {
    case 'multienum':
      return strings(value);
    case 'boolean':
      return value === true ? 'true' : value === false ? 'false' : '';
    case 'json':
      return JSON.stringify(value, null, 2);
    case 'any':
      return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    default:
      return typeof value === 'string' ? value : String(value);
  }
}

/** `step`: how a step inside a list of steps (a loop's) becomes a draft. */
function draftOf(fields: FieldSpec[], raw: Json, step?: (raw: Json) => Draft): Draft {
  const type = typeof raw.type === 'string' ? raw.type : '';
  const values: Record<string, DraftValue> = {};
  const lists: Record<string, Draft[]> = {};
  const extra: Json = {};
  const known = new Set(fields.map((f) => f.name));
  for (const spec of fields) {
    if (spec.kind === 'steps') {
      const items = raw[spec.name];
      lists[spec.name] = Array.isArray(items) && step ? items.filter(isObject).map(step) : [];
    } else {
      values[spec.name] = draftValue(spec, raw[spec.name]);
    }
  }
  for (const [name, value] of Object.entries(raw)) {
    if (name !== 'type' && !known.has(name)) extra[name] = value;
  }
  return { key: nextKey++, type, values, lists, extra };
}

/** A new draft of a type: empty settings (no steps in its lists), the first choice of required choices. */
function blank(fields: FieldSpec[], type: string, preset: Json = {}): Draft {
  const draft = draftOf(fields, { type, ...preset });
  for (const spec of fields) {
    if (spec.required && spec.kind === 'enum' && !draft.values[spec.name]) draft.values[spec.name] = spec.options[0] ?? '';
  }
  return draft;
}

export function triggerDraft(schema: WorkflowSchema, trigger: Json): Draft {
  return draftOf(triggerFields(schema, String(trigger.type ?? '')), trigger);
}

export function newTriggerDraft(schema: WorkflowSchema, type: string): Draft {
  return blank(triggerFields(schema, type), type);
}

export function stepDraft(schema: WorkflowSchema, step: Json): Draft {
  return draftOf(stepFields(schema, String(step.type ?? '')), step, (inner) => stepDraft(schema, inner));
}

/** `http_2` for the second HTTP step: a free id of the step's type. */
export function nextStepId(type: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = type.replace(/[^a-z0-9_]/g, '_') || 'step';
  for (let n = 1; ; n += 1) {
    const id = `${base}_${n}`;
    if (!used.has(id)) return id;
  }
}

/** `taken`: every step id of the workflow, its loops' included (ids are unique across them). */
export function newStepDraft(schema: WorkflowSchema, type: string, taken: Iterable<string>): Draft {
  return blank(stepFields(schema, type), type, { id: nextStepId(type, taken) });
}

/** Change a draft's type, keeping the settings (and the lists of steps) the new type shares. */
export function retyped(draft: Draft, fields: FieldSpec[], type: string): Draft {
  const next = blank(fields, type);
  for (const spec of fields) {
    if (spec.kind === 'steps') {
      next.lists[spec.name] = draft.lists[spec.name] ?? [];
      continue;
    }
    const kept = draft.values[spec.name];
    if (kept !== undefined && (Array.isArray(kept) ? kept.length > 0 : kept !== '')) next.values[spec.name] = kept;
  }
  return { ...next, key: draft.key };
}

/** The step ids of drafts (for the jump targets offered: jumps stay inside their list). */
export function stepIds(drafts: Draft[]): string[] {
  return drafts.map((d) => d.values.id).filter((id): id is string => typeof id === 'string' && id.trim() !== '').map((id) => id.trim());
}

/** The step ids of drafts and of the steps inside them (loops), at any depth. */
export function allStepIds(drafts: Draft[]): string[] {
  return drafts.flatMap((d) => [...stepIds([d]), ...Object.values(d.lists).flatMap(allStepIds)]);
}

/** `[1, 0]` → `2.1`: where a step is, counted from 1 (the second step's first inner step). */
export function stepNumber(trail: readonly number[]): string {
  return trail.map((i) => i + 1).join('.');
}

// --- From drafts to the definition ----------------------------------------------------------

/** JSON, not a template: `{"a": 1}` and `[1]`, but not `{{ input.items }}` or `{% … %}`. */
function looksLikeJson(text: string): boolean {
  return text.startsWith('[') || /^\{(?![{%#])/.test(text);
}

/** The JSON value of a draft, or the local error for `name` (bad JSON, not a whole number). */
function settingValue(spec: FieldSpec, value: DraftValue | undefined, at: string, errors: FieldErrors): unknown {
  if (spec.kind === 'multienum') {
    const chosen = Array.isArray(value) ? value : [];
    return chosen.length ? chosen : undefined;
  }
  const text = typeof value === 'string' ? value : '';
  const trimmed = text.trim();
  switch (spec.kind) {
    case 'integer': {
      if (!trimmed) return undefined;
      const n = Number(trimmed);
      if (!Number.isInteger(n)) {
        (errors[at] ??= []).push('Enter a whole number.');
        return undefined;
      }
      return n;
    }
    case 'boolean':
      return trimmed === 'true' ? true : trimmed === 'false' ? false : undefined;
    case 'json':
      if (!trimmed) return spec.required ? {} : undefined;
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (!isObject(parsed)) throw new Error('not an object');
        return parsed;
      } catch {
        (errors[at] ??= []).push('Enter a JSON object, e.g. {"name": "value"}.');
        return undefined;
      }
    case 'any':
      if (!trimmed) return undefined;
      if (looksLikeJson(trimmed)) {
        try {
          return JSON.parse(trimmed) as unknown;
        } catch {
          (errors[at] ??= []).push('Enter valid JSON, or a template such as {{ input.items }}.');
          return undefined;
        }
      }
      return text;
    case 'text':
    case 'longtext':
    case 'enum':
      // A required setting left empty is sent empty: the server names what it needs.
      return trimmed ? (spec.kind === 'longtext' ? text : trimmed) : spec.required ? '' : undefined;
  }
}

/** `fieldsOf`: the settings of a step inside a list of steps (by its type). */
function objectOf(draft: Draft, fields: FieldSpec[], path: string, errors: FieldErrors, fieldsOf: (type: string) => FieldSpec[]): Json {
  const out: Json = { ...draft.extra, type: draft.type };
  for (const spec of fields) {
    if (spec.kind === 'steps') {
      // Sent even when empty: the server says that a loop needs a step, next to the list.
      out[spec.name] = (draft.lists[spec.name] ?? []).map((inner, i) =>
        objectOf(inner, fieldsOf(inner.type), `${path}.${spec.name}[${i}]`, errors, fieldsOf),
      );
      continue;
    }
    const value = settingValue(spec, draft.values[spec.name], `${path}.${spec.name}`, errors);
    if (value !== undefined) out[spec.name] = value;
  }
  return out;
}

/**
 * The definition to send, with the local errors (under the server's paths,
 * `definition.steps[1].values`): nothing is sent while there are any.
 */
export function definitionFrom(schema: WorkflowSchema, trigger: Draft, steps: Draft[]): { definition: WorkflowDefinition; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const fieldsOf = (type: string) => stepFields(schema, type);
  const definition: WorkflowDefinition = {
    trigger: objectOf(trigger, triggerFields(schema, trigger.type), 'definition.trigger', errors, fieldsOf) as WorkflowDefinition['trigger'],
    steps: steps.map((step, i) => objectOf(step, fieldsOf(step.type), `definition.steps[${i}]`, errors, fieldsOf)),
  };
  return { definition, errors };
}

// --- The server's errors ------------------------------------------------------------------------

/**
 * The errors under `prefix` with the prefix removed: `definition.steps[2].url` under
 * `definition.steps[2]` is `url`, `definition.steps[2]` itself is `''`.
 */
export function errorsAt(errors: FieldErrors, prefix: string): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, messages] of Object.entries(errors)) {
    let rest: string | null = null;
    if (field === prefix) rest = '';
    else if (field.startsWith(`${prefix}.`)) rest = field.slice(prefix.length + 1);
    else if (field.startsWith(`${prefix}[`)) rest = field.slice(prefix.length);
    if (rest !== null) (out[rest] ??= []).push(...messages);
  }
  return out;
}

/** The messages of a setting, its parts' included (`values.Bad-Name` for `values`). */
export function settingMessages(errors: FieldErrors, name: string): string {
  return Object.entries(errors)
    .filter(([field]) => field === name || field.startsWith(`${name}.`) || field.startsWith(`${name}[`))
    .flatMap(([field, messages]) => (field === name ? messages : messages.map((m) => `${field.slice(name.length + 1) || field}: ${m}`)))
    .join(' ');
}

/** The messages about a setting itself, not its parts (a loop's list of steps, whose steps show theirs). */
export function ownMessages(errors: FieldErrors, name: string): string {
  return (errors[name] ?? []).join(' ');
}

/**
 * The server path of every step draft by its key, loops' steps included
 * (`definition.steps[2].steps[0]`): taken when the definition is sent, so that an error
 * stays with its step when steps are moved or removed afterwards.
 */
export function draftPaths(steps: readonly Draft[], prefix = 'definition.steps', into = new Map<number, string>()): Map<number, string> {
  steps.forEach((step, i) => {
    const path = `${prefix}[${i}]`;
    into.set(step.key, path);
    for (const [name, inner] of Object.entries(step.lists)) draftPaths(inner, `${path}.${name}`, into);
  });
  return into;
}

/** The errors of the step whose key is `key`, under the path it had when they came ({} for a step added since). */
export function stepErrors(errors: FieldErrors, paths: ReadonlyMap<number, string>, key: number): FieldErrors {
  const path = paths.get(key);
  return path === undefined ? {} : errorsAt(errors, path);
}

/** Whether a server error field belongs to a setting shown in the form. */
export function isShownField(field: string): boolean {
  return field === 'name' || field === 'description' || field === 'enabled' || field.startsWith('definition.trigger') || /^definition\.steps\[\d+\]/.test(field);
}

// --- Order -------------------------------------------------------------------------------------

/** `list` with the item at `from` moved to `to` (a new array). */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  const out = [...list];
  if (from < 0 || from >= out.length || to < 0 || to >= out.length || from === to) return out;
  const [item] = out.splice(from, 1);
  out.splice(to, 0, item as T);
  return out;
}
