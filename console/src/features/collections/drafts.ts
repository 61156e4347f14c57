// The collection editor's model: field drafts and their API payload, access rules, and the
// server's errors by field row.

import type { FieldErrors } from '../../lib/api';
import { errorsUnder } from '../../lib/fieldErrors';
import { commaList } from '../../lib/text';
import type { Collection, CollectionField, EditableFieldType, NewCollection, RuleName, Rules } from '../../lib/types';
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
