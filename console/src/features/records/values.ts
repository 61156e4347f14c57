// The records browser's model: form inputs and the values they send by field type, the
// fields a form edits, relation pickers, files, and table cells.

import type { FieldErrors } from '../../lib/api';
import { commaList } from '../../lib/text';
import type { Collection, CollectionField, RecordModel } from '../../lib/types';

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
      return { value: isMultiple(field) ? commaList(text) : text };
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
