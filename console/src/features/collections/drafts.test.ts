import { describe, expect, it } from 'vitest';
import { collectionPayload, draftFrom, fieldPayload, newFieldDraft, ruleDraft, ruleDrafts, ruleValue } from './drafts';
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
