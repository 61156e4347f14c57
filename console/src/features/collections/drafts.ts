// The collection editor's model: field drafts and their API payload, access rules, and the
// server's errors by field row.

import type { FieldErrors } from '../../lib/api';
import { errorsUnder } from '../../lib/fieldErrors';
import { commaList } from '../../lib/text';
import type { Collection, CollectionField, CollectionIndex, EditableFieldType, NewCollection, RuleName, Rules } from '../../lib/types';
import { RULES } from '../../lib/types';

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
  /** file: its files are read with a file token only. */
  protected: boolean;
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
    protected: false,
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
    protected: field.protected === true,
    original: field,
  };
}

/** The API's field JSON for a draft: the original's other options, the edited ones on top. */
export function fieldPayload(draft: FieldDraft): CollectionField {
  const field: CollectionField = { ...(draft.original ?? {}), name: draft.name.trim(), type: draft.type, required: draft.required };
  if (draft.original && draft.original.type !== draft.type) {
    // Options of the old type do not apply to the new one.
    for (const option of ['values', 'maxSelect', 'collectionId', 'mimeTypes', 'protected', 'maxSize', 'min', 'max', 'pattern']) {
      delete field[option];
    }
  }
  switch (draft.type) {
    case 'select':
      field.values = commaList(draft.values);
      field.maxSelect = Math.max(1, draft.maxSelect);
      break;
    case 'relation':
      field.collectionId = draft.collectionId.trim();
      field.maxSelect = Math.max(1, draft.maxSelect);
      break;
    case 'file':
      field.maxSelect = Math.max(1, draft.maxSelect);
      field.mimeTypes = commaList(draft.mimeTypes);
      field.protected = draft.protected;
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

/** The collection JSON to send: built-in fields as loaded, edited fields, the rules, the indexes. */
export function collectionPayload(
  name: string,
  drafts: FieldDraft[],
  rules: RuleDrafts,
  loaded: Collection | null,
  indexes: IndexDraft[] = indexDrafts(loaded),
): NewCollection {
  const builtIn = (loaded?.fields ?? []).filter(isBuiltIn);
  const payload: NewCollection = {
    name: name.trim(),
    fields: [...drafts.map(fieldPayload), ...builtIn],
    indexes: indexes.map(indexPayload),
  };
  if (!loaded) payload.type = 'base';
  for (const rule of RULES) payload[rule] = ruleValue(rules[rule]);
  return payload;
}

// --- Indexes -----------------------------------------------------------------------------

/** An index as the editor holds it. */
export interface IndexDraft {
  key: number;
  name: string;
  /** The covered fields, in order. */
  fields: string[];
  unique: boolean;
}

export function indexDrafts(collection: Pick<Collection, 'indexes'> | null): IndexDraft[] {
  return (collection?.indexes ?? []).map((index) => ({ key: nextKey++, name: index.name, fields: [...index.fields], unique: Boolean(index.unique) }));
}

/** A new index named after the collection (`idx_books_2`), free among `existing`. */
export function newIndexDraft(collectionName: string, existing: readonly IndexDraft[]): IndexDraft {
  const base = `idx_${collectionName.trim().replace(/[^A-Za-z0-9_]/g, '_') || 'collection'}`;
  const taken = new Set(existing.map((i) => i.name.toLowerCase()));
  let n = existing.length + 1;
  while (taken.has(`${base}_${n}`.toLowerCase())) n += 1;
  return { key: nextKey++, name: `${base}_${n}`, fields: [], unique: false };
}

export function indexPayload(draft: IndexDraft): CollectionIndex {
  return { name: draft.name.trim(), fields: [...draft.fields], unique: draft.unique };
}

/** `fields` with `field` added (at the end) or taken out: the order is the index's. */
export function toggleIndexField(fields: readonly string[], field: string, on: boolean): string[] {
  const rest = fields.filter((f) => f !== field);
  return on ? [...rest, field] : rest;
}

/** The fields an index may cover: `id`, the fields being edited, the built-in ones, and any it already names. */
export function indexableFields(drafts: readonly FieldDraft[], builtIn: readonly CollectionField[], chosen: readonly string[]): string[] {
  const names = ['id', ...drafts.map((d) => d.name.trim()), ...builtIn.map((f) => f.name), ...chosen].filter(Boolean);
  return [...new Set(names)];
}

/** The server's errors of the index at `index` (`indexes.2.fields` → `fields`, `indexes.2` → ''). */
export function indexErrors(errors: FieldErrors, index: number): FieldErrors {
  return itemErrors(errors, 'indexes', index);
}

/**
 * The errors of the item at `index` of a list (`fields.2.name` → `name`); those about the
 * item as a whole (`fields.2`) under ''.
 */
export function itemErrors(errors: FieldErrors, list: string, index: number): FieldErrors {
  const under = errorsUnder(errors, list);
  const own = errorsUnder(under, String(index));
  const whole = under[String(index)];
  return whole ? { ...own, '': [...(own[''] ?? []), ...whole] } : own;
}

/**
 * The index in the payload of the draft at `index`: drafts come first, so the server's
 * `fields.N` names the N-th draft.
 */
export function draftErrors(errors: FieldErrors, index: number): FieldErrors {
  return itemErrors(errors, 'fields', index);
}
