import { describe, expect, it } from 'vitest';
import {
  collectionPayload,
  draftErrors,
  draftFrom,
  fieldPayload,
  indexDrafts,
  indexErrors,
  indexPayload,
  indexableFields,
  newFieldDraft,
  newIndexDraft,
  ruleDraft,
  ruleDrafts,
  ruleValue,
  toggleIndexField,
} from './drafts';
import { posts } from '../../lib/fixtures';

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
    expect(fieldPayload(file)).toMatchObject({ type: 'file', mimeTypes: ['image/png', 'image/jpeg'], maxSelect: 1, protected: false });
  });

  it('round-trips the protected option of file fields', () => {
    const draft = draftFrom({ name: 'scan', type: 'file', protected: true });
    expect(draft.protected).toBe(true);
    expect(fieldPayload(draft)).toMatchObject({ type: 'file', protected: true });
    draft.protected = false;
    expect(fieldPayload(draft)).toMatchObject({ protected: false });
    draft.type = 'text';
    expect(fieldPayload(draft)).not.toHaveProperty('protected');
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

describe('indexes', () => {
  const books = { indexes: [{ name: 'idx_title', fields: ['title'], unique: true }] };

  it('round-trips the indexes and sends them with the collection', () => {
    const drafts = indexDrafts(books);
    expect(drafts.map(indexPayload)).toEqual(books.indexes);
    drafts[0]!.name = ' by_title ';
    const payload = collectionPayload('books', [], ruleDrafts(null), null, drafts);
    expect(payload.indexes).toEqual([{ name: 'by_title', fields: ['title'], unique: true }]);
    expect(indexDrafts(null)).toEqual([]);
    // Without index drafts, those loaded are sent back as they were.
    const loaded = { ...posts, indexes: books.indexes };
    expect(collectionPayload('posts', [], ruleDrafts(posts), loaded).indexes).toEqual(books.indexes);
  });

  it('names a new index after the collection', () => {
    const first = newIndexDraft('books', []);
    expect(first).toMatchObject({ name: 'idx_books_1', fields: [], unique: false });
    expect(newIndexDraft('my books', [first, { ...first, name: 'idx_my_books_3' }]).name).toBe('idx_my_books_4');
  });

  it('keeps the order the fields were chosen in', () => {
    expect(toggleIndexField(['a'], 'b', true)).toEqual(['a', 'b']);
    expect(toggleIndexField(['a', 'b'], 'a', false)).toEqual(['b']);
    expect(toggleIndexField(['a', 'b'], 'a', true)).toEqual(['b', 'a']);
  });

  it('offers the fields an index may cover', () => {
    const drafts = [{ ...newFieldDraft('text'), name: 'title' }, newFieldDraft('text')];
    expect(indexableFields(drafts, [{ name: 'created', type: 'autodate' }], ['gone'])).toEqual(['id', 'title', 'created', 'gone']);
  });

  it("finds the server's errors of an index, and of a whole item", () => {
    const errors = { 'indexes.1.fields': ['an index covers at least one field'], 'indexes.1': ['bad'], 'fields.0': ['invalid field'] };
    expect(indexErrors(errors, 1)).toEqual({ fields: ['an index covers at least one field'], '': ['bad'] });
    expect(indexErrors(errors, 0)).toEqual({});
    expect(draftErrors(errors, 0)).toEqual({ '': ['invalid field'] });
  });
});
