// Form helpers shared by the screens: server field errors by input, the collection field
// editor's drafts and their API payload, access rules, and record values by field type.

import type { FieldErrors } from './api';
import type { Collection, CollectionField, EditableFieldType, NewCollection, RecordModel, RuleName, Rules } from './types';
import { RULES } from './types';

/** The messages for `field`, joined into one sentence ('' when none). */
export function messageFor(errors: FieldErrors, field: string): string {
  return (errors[field] ?? []).join('; ');
}

/** The errors under `prefix.` with the prefix removed (`fields.2.name` → `2.name`). */
export function errorsUnder(errors: FieldErrors, prefix: string): FieldErrors {
  const out: FieldErrors = {};
  const start = `${prefix}.`;
  for (const [field, messages] of Object.entries(errors)) {
    if (field.startsWith(start)) out[field.slice(start.length)] = messages;
  }
  return out;
}

/** Messages for fields no input shows, so that no server message is lost. */
export function unplacedMessages(errors: FieldErrors, shown: (field: string) => boolean): string[] {
  return Object.entries(errors)
    .filter(([field]) => !shown(field))
    .flatMap(([field, messages]) => messages.map((m) => `${field}: ${m}`));
}

// --- The collection field editor -------------------------------------------------------------

/** One field as the editor holds it: strings for text inputs, the original kept for round trips. */
export interface FieldDraft {
  key: number;
  name: string;
  type: EditableFieldType | string;
  required: boolean;
  /** select: values separated by commas. */
  values: string;
  /** select, relation, file: how many may be chosen (1: a single value). */
  maxSelect: number;
  /** relation: the target collection's name or id. */
  collectionId: string;
  /** file: accepted MIME types separated by commas. */
  mimeTypes: string;
  /** The field as loaded, with options the editor does not show. */
  original: CollectionField | null;
}

let nextKey = 1;

export function newFieldDraft(type: EditableFieldType = 'text'): FieldDraft {
  return {
    key: nextKey++,
    name: '',
    type,
    required: false,
    values: '',
    maxSelect: 1,
    collectionId: '',
    mimeTypes: '',
    original: null,
  };
}

/** Fields the platform manages (id, created, updated, auth fields): shown, not edited. */
export function isBuiltIn(field: CollectionField): boolean {
  return Boolean(field.system) || Boolean(field.primaryKey) || field.type === 'autodate';
}

export function draftFrom(field: CollectionField): FieldDraft {
  return {
    key: nextKey++,
    name: field.name,
    type: field.type,
    required: Boolean(field.required),
    values: (field.values ?? []).join(', '),
    maxSelect: field.maxSelect ?? 1,
    collectionId: field.collectionId ?? '',
    mimeTypes: (field.mimeTypes ?? []).join(', '),
    original: field,
  };
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The API's field JSON for a draft: the original's other options, the edited ones on top. */
export function fieldPayload(draft: FieldDraft): CollectionField {
  const field: CollectionField = { ...(draft.original ?? {}), name: draft.name.trim(), type: draft.type, required: draft.required };
  if (draft.original && draft.original.type !== draft.type) {
    // Options of the old type do not apply to the new one.
    for (const option of ['values', 'maxSelect', 'collectionId', 'mimeTypes', 'maxSize', 'min', 'max', 'pattern']) {
      delete field[option];
    }
  }
  switch (draft.type) {
    case 'select':
      field.values = list(draft.values);
      field.maxSelect = Math.max(1, draft.maxSelect);
      break;
    case 'relation':
      field.collectionId = draft.collectionId.trim();
      field.maxSelect = Math.max(1, draft.maxSelect);
      break;
    case 'file':
      field.maxSelect = Math.max(1, draft.maxSelect);
      field.mimeTypes = list(draft.mimeTypes);
      break;
  }
  return field;
}

// --- Access rules ------------------------------------------------------------------------

/** `locked`: builders only (null); `public`: everyone (''); `custom`: an expression. */
export type RuleMode = 'locked' | 'public' | 'custom';

export interface RuleDraft {
  mode: RuleMode;
  expression: string;
}

export function ruleDraft(value: string | null | undefined): RuleDraft {
  if (value === null || value === undefined) return { mode: 'locked', expression: '' };
  if (value === '') return { mode: 'public', expression: '' };
  return { mode: 'custom', expression: value };
}

export function ruleValue(draft: RuleDraft): string | null {
  switch (draft.mode) {
    case 'locked':
      return null;
    case 'public':
      return '';
    case 'custom':
      return draft.expression.trim();
  }
}

export type RuleDrafts = Record<RuleName, RuleDraft>;

export function ruleDrafts(collection: Partial<Rules> | null): RuleDrafts {
  const drafts = {} as RuleDrafts;
  for (const rule of RULES) drafts[rule] = ruleDraft(collection ? collection[rule] : null);
  return drafts;
}

/** The collection JSON to send: built-in fields as loaded, edited fields, the rules. */
export function collectionPayload(
  name: string,
  drafts: FieldDraft[],
  rules: RuleDrafts,
  loaded: Collection | null,
): NewCollection {
  const builtIn = (loaded?.fields ?? []).filter(isBuiltIn);
  const payload: NewCollection = {
    name: name.trim(),
    fields: [...drafts.map(fieldPayload), ...builtIn],
  };
  if (!loaded) payload.type = 'base';
  for (const rule of RULES) payload[rule] = ruleValue(rules[rule]);
  return payload;
}

/**
 * The index in the payload of the draft at `index`: drafts come first, so the server's
 * `fields.N` names the N-th draft.
 */
export function draftErrors(errors: FieldErrors, index: number): FieldErrors {
  return errorsUnder(errorsUnder(errors, 'fields'), String(index));
}

// --- Record values -------------------------------------------------------------------------

/** What a record form input holds for a field. */
export type InputValue = string | boolean;

/** The input's value for a record's field value. */
export function inputValue(field: CollectionField, value: unknown): InputValue {
  switch (field.type) {
    case 'password':
      return '';
    case 'bool':
      return value === true;
    case 'json':
      return value === undefined || value === null ? '' : JSON.stringify(value, null, 2);
    default:
      if (Array.isArray(value)) return value.join(', ');
      if (value === undefined || value === null) return '';
      return String(value);
  }
}

function isMultiple(field: CollectionField): boolean {
  return (field.maxSelect ?? 1) > 1;
}

/**
 * The value to send for an input, or an error message for values the input cannot hold
 * (a number that is not one, JSON that does not parse).
 */
export function recordValue(field: CollectionField, input: InputValue): { value: unknown } | { error: string } {
  if (field.type === 'bool') return { value: input === true };
  const text = typeof input === 'string' ? input.trim() : '';
  switch (field.type) {
    case 'number': {
      if (text === '') return { value: null };
      const number = Number(text);
      return Number.isFinite(number) ? { value: number } : { error: 'Enter a number.' };
    }
    case 'json':
      if (text === '') return { value: null };
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: 'Enter valid JSON.' };
      }
    case 'select':
    case 'relation':
      return { value: isMultiple(field) ? list(text) : text };
    default:
      return { value: text };
  }
}

/**
 * Fields a record form edits: all but the id, automatic dates, files and hidden internals
 * (an auth collection's email, verified flag and password are edited).
 */
export function editableRecordFields(collection: Collection): CollectionField[] {
  return collection.fields.filter(
    (f) => !f.primaryKey && f.type !== 'autodate' && f.type !== 'file' && (!f.hidden || f.type === 'password'),
  );
}

/** The collection a relation field points at (stored by id; a name is accepted too). */
export function relationTarget(field: CollectionField, collections: Collection[]): Collection | null {
  const target = field.collectionId ?? '';
  return collections.find((c) => c.id === target) ?? collections.find((c) => c.name === target) ?? null;
}

/** How a record is named in a picker: its presentable field, else a usual name field, else its id. */
export function recordLabel(collection: Collection, record: RecordModel): string {
  const presentable = collection.fields.find((f) => f.presentable)?.name;
  for (const name of [presentable, 'name', 'title', 'email', 'username']) {
    const value = name ? record[name] : undefined;
    if (typeof value === 'string' && value !== '') return `${value} (${record.id})`;
  }
  return record.id;
}

/** File fields, uploaded next to the form's values. */
export function fileFields(collection: Collection): CollectionField[] {
  return collection.fields.filter((f) => f.type === 'file');
}

/** The names of a record's files in a field (one name, a list, or none). */
export function fileNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return typeof value === 'string' && value !== '' ? [value] : [];
}

/** The input holding the confirmation of an auth collection's password. */
export const PASSWORD_CONFIRM = 'passwordConfirm';

/**
 * The JSON body of a record form, or the inputs whose values cannot be sent. An empty
 * password is left out (unchanged); a given one goes with its confirmation.
 */
export function recordBody(
  fields: CollectionField[],
  values: Record<string, InputValue>,
): { body: Record<string, unknown>; errors: FieldErrors } {
  const body: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const field of fields) {
    const input = values[field.name] ?? '';
    if (field.type === 'password') {
      if (input === '') continue;
      body[field.name] = input;
      body[PASSWORD_CONFIRM] = values[PASSWORD_CONFIRM] ?? '';
      continue;
    }
    const result = recordValue(field, input);
    if ('error' in result) errors[field.name] = [result.error];
    else body[field.name] = result.value;
  }
  return { body, errors };
}

/** Columns the records browser shows: id first, then the collection's visible fields. */
export function recordColumns(collection: Collection): string[] {
  const own = collection.fields.filter((f) => !f.hidden && !f.primaryKey && f.type !== 'password').map((f) => f.name);
  return ['id', ...own];
}

/** A cell's text for a field's value: dates to the minute, the rest by `cellText`. */
export function cellFor(type: string | undefined, value: unknown): string {
  if ((type === 'date' || type === 'autodate') && typeof value === 'string') return value.slice(0, 16);
  return cellText(value);
}

/** A cell's text: short and on one line. */
export function cellText(value: unknown, max = 60): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (typeof value === 'string') text = value;
  else if (Array.isArray(value)) text = value.join(', ');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  text = text.replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
