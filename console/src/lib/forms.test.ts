import { describe, expect, it } from 'vitest';
import {
  cellFor,
  cellText,
  collectionPayload,
  draftErrors,
  draftFrom,
  editableRecordFields,
  fileFields,
  fileNames,
  fieldPayload,
  inputValue,
  messageFor,
  newFieldDraft,
  recordBody,
  recordLabel,
  relationTarget,
  recordValue,
  ruleDraft,
  ruleDrafts,
  ruleValue,
  unplacedMessages,
} from './forms';
import type { Collection, CollectionField } from './types';

const posts: Collection = {
  id: 'pbc_1',
  name: 'posts',
  type: 'base',
  system: false,
  fields: [
    { id: 't1', name: 'title', type: 'text', required: true, max: 200 },
    { id: 's1', name: 'tag', type: 'select', values: ['a', 'b'], maxSelect: 2 },
    { id: 'f1', name: 'cover', type: 'file', maxSelect: 1 },
    { id: 'id', name: 'id', type: 'text', system: true, primaryKey: true },
    { id: 'c', name: 'created', type: 'autodate', onCreate: true },
  ],
  listRule: '',
  viewRule: null,
  createRule: "@request.auth.id != ''",
  updateRule: null,
  deleteRule: null,
};

describe('field errors', () => {
  const errors = { name: ['taken'], 'fields.1.values': ['needs values'], 'fields.1.name': ['bad'], 'fields.10.name': ['x'] };

  it('joins the messages of one field', () => {
    expect(messageFor({ password: ['too short', 'needs a digit'] }, 'password')).toBe('too short; needs a digit');
    expect(messageFor({}, 'x')).toBe('');
  });

  it("maps fields.N.option to the N-th draft's option", () => {
    expect(draftErrors(errors, 1)).toEqual({ values: ['needs values'], name: ['bad'] });
    expect(draftErrors(errors, 0)).toEqual({});
  });

  it('lists the messages no input shows', () => {
    expect(unplacedMessages(errors, (f) => f === 'name' || f.startsWith('fields.'))).toEqual([]);
    expect(unplacedMessages({ indexes: ['bad index'] }, () => false)).toEqual(['indexes: bad index']);
  });
});

describe('the field editor', () => {
  it('round-trips a field, keeping options it does not show', () => {
    const draft = draftFrom(posts.fields[0]!);
    draft.name = ' headline ';
    expect(fieldPayload(draft)).toEqual({ id: 't1', name: 'headline', type: 'text', required: true, max: 200 });
  });

  it('writes the options of select, relation and file fields', () => {
    const select = { ...newFieldDraft('select'), name: 'tag', values: 'a, b ,, c', maxSelect: 1 };
    expect(fieldPayload(select)).toMatchObject({ type: 'select', values: ['a', 'b', 'c'], maxSelect: 1 });
    const relation = { ...newFieldDraft('relation'), name: 'author', collectionId: 'users ', maxSelect: 3 };
    expect(fieldPayload(relation)).toMatchObject({ type: 'relation', collectionId: 'users', maxSelect: 3 });
    const file = { ...newFieldDraft('file'), name: 'pic', mimeTypes: 'image/png,image/jpeg' };
    expect(fieldPayload(file)).toMatchObject({ type: 'file', mimeTypes: ['image/png', 'image/jpeg'], maxSelect: 1 });
  });

  it("drops the old type's options when the type changes", () => {
    const draft = draftFrom(posts.fields[1]!);
    draft.type = 'number';
    expect(fieldPayload(draft)).toEqual({ id: 's1', name: 'tag', type: 'number', required: false });
  });

  it('sends edited fields first, built-in fields as loaded, and the rules', () => {
    const drafts = posts.fields.filter((f) => !f.system && f.type !== 'autodate').map(draftFrom);
    const payload = collectionPayload('posts', drafts, ruleDrafts(posts), posts);
    expect(payload.fields.map((f) => f.name)).toEqual(['title', 'tag', 'cover', 'id', 'created']);
    expect(payload.type).toBeUndefined();
    expect(payload.listRule).toBe('');
    expect(payload.viewRule).toBeNull();
    expect(payload.createRule).toBe("@request.auth.id != ''");
    const created = collectionPayload(' things ', [], ruleDrafts(null), null);
    expect(created).toMatchObject({ name: 'things', type: 'base', fields: [], listRule: null });
  });
});

describe('rules', () => {
  it('are builders only (null), everyone (empty) or an expression', () => {
    expect(ruleDraft(null)).toEqual({ mode: 'locked', expression: '' });
    expect(ruleDraft('')).toEqual({ mode: 'public', expression: '' });
    expect(ruleDraft('a = 1')).toEqual({ mode: 'custom', expression: 'a = 1' });
    expect(ruleValue({ mode: 'locked', expression: 'ignored' })).toBeNull();
    expect(ruleValue({ mode: 'public', expression: 'ignored' })).toBe('');
    expect(ruleValue({ mode: 'custom', expression: ' a = 1 ' })).toBe('a = 1');
  });
});

describe('record values', () => {
  const field = (type: string, extra: Partial<CollectionField> = {}): CollectionField => ({ name: 'f', type, ...extra });

  it('convert inputs to typed values', () => {
    expect(recordValue(field('number'), ' 12.5 ')).toEqual({ value: 12.5 });
    expect(recordValue(field('number'), '')).toEqual({ value: null });
    expect(recordValue(field('number'), 'abc')).toEqual({ error: 'Enter a number.' });
    expect(recordValue(field('bool'), true)).toEqual({ value: true });
    expect(recordValue(field('json'), '{"a": [1]}')).toEqual({ value: { a: [1] } });
    expect(recordValue(field('json'), '{')).toEqual({ error: 'Enter valid JSON.' });
    expect(recordValue(field('select', { maxSelect: 3 }), 'a, b')).toEqual({ value: ['a', 'b'] });
    expect(recordValue(field('select'), 'a')).toEqual({ value: 'a' });
    expect(recordValue(field('text'), ' hi ')).toEqual({ value: 'hi' });
  });

  it('show stored values in inputs', () => {
    expect(inputValue(field('bool'), true)).toBe(true);
    expect(inputValue(field('json'), { a: 1 })).toBe('{\n  "a": 1\n}');
    expect(inputValue(field('select', { maxSelect: 2 }), ['a', 'b'])).toBe('a, b');
    expect(inputValue(field('number'), 0)).toBe('0');
    expect(inputValue(field('text'), null)).toBe('');
  });

  it('edit the collection’s own fields only', () => {
    expect(editableRecordFields(posts).map((f) => f.name)).toEqual(['title', 'tag']);
    const users: Collection = {
      ...posts,
      type: 'auth',
      fields: [
        { name: 'id', type: 'text', system: true, primaryKey: true },
        { name: 'password', type: 'password', system: true, hidden: true },
        { name: 'tokenKey', type: 'text', system: true, hidden: true },
        { name: 'email', type: 'email', system: true },
        { name: 'verified', type: 'bool', system: true },
      ],
    };
    expect(editableRecordFields(users).map((f) => f.name)).toEqual(['password', 'email', 'verified']);
  });

  it('find a relation’s target and name records for pickers', () => {
    const users: Collection = { ...posts, id: '_pb_users_auth_', name: 'users', fields: [{ name: 'email', type: 'email' }] };
    expect(relationTarget({ name: 'r', type: 'relation', collectionId: '_pb_users_auth_' }, [posts, users])).toBe(users);
    expect(relationTarget({ name: 'r', type: 'relation', collectionId: 'posts' }, [posts, users])).toBe(posts);
    expect(relationTarget({ name: 'r', type: 'relation', collectionId: 'nope' }, [posts, users])).toBeNull();
    const record = { id: 'r1', collectionId: 'x', collectionName: 'users', email: 'a@b.c' };
    expect(recordLabel(users, record)).toBe('a@b.c (r1)');
    expect(recordLabel(users, { ...record, email: '' })).toBe('r1');
    const named = { ...posts, fields: [{ name: 'code', type: 'text', presentable: true }] };
    expect(recordLabel(named, { ...record, code: 'X-1', title: 'ignored' })).toBe('X-1 (r1)');
  });

  it('list file fields and stored file names', () => {
    expect(fileFields(posts).map((f) => f.name)).toEqual(['cover']);
    expect(fileNames('a.png')).toEqual(['a.png']);
    expect(fileNames(['a.png', '', 'b.png'])).toEqual(['a.png', 'b.png']);
    expect(fileNames('')).toEqual([]);
    expect(fileNames(null)).toEqual([]);
  });

  it('make the body of a record form', () => {
    const fields: CollectionField[] = [
      { name: 'password', type: 'password' },
      { name: 'email', type: 'email' },
      { name: 'age', type: 'number' },
    ];
    expect(recordBody(fields, { password: '', email: 'a@b.c', age: '3' })).toEqual({ body: { email: 'a@b.c', age: 3 }, errors: {} });
    expect(recordBody(fields, { password: 'pw', passwordConfirm: 'pw', email: '', age: 'x' })).toEqual({
      body: { password: 'pw', passwordConfirm: 'pw', email: '' },
      errors: { age: ['Enter a number.'] },
    });
  });

  it('show cells short and on one line', () => {
    expect(cellText('a\nb')).toBe('a b');
    expect(cellText(['x', 'y'])).toBe('x, y');
    expect(cellText('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(cellText(null)).toBe('');
    expect(cellFor('autodate', '2026-12-06 10:20:29.142Z')).toBe('2026-12-06 10:20');
    expect(cellFor('number', 3)).toBe('3');
  });
});
