import { describe, expect, it } from 'vitest';
import {
  cellFor,
  cellText,
  editableRecordFields,
  fileFields,
  fileNames,
  inputValue,
  recordBody,
  recordLabel,
  recordValue,
  relationTarget,
} from './values';
import { posts } from '../../lib/fixtures';
import type { Collection, CollectionField } from '../../lib/types';

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
