import { describe, expect, it } from 'vitest';
import { deleteQuestion, editorName, emptyReplayForm, isReplayFilterField, pageEditorPath, replayFilter } from './replays';
import { queryString } from '../../lib/api';
import { matchRoute } from '../../lib/paths';
import { ROUTES } from '../../routes';

describe('the Replays list', () => {
  it('keeps the filled-in filters, trimmed, as the query the API reads', () => {
    expect(replayFilter(emptyReplayForm())).toEqual({});
    expect(replayFilter({ organizationId: '  o 1 ' })).toEqual({ organization_id: 'o 1' });
    expect(queryString({ ...replayFilter({ organizationId: ' o 1' }), page: 2, per_page: 50 })).toBe('?organization_id=o+1&page=2&per_page=50');
    expect(queryString({ ...replayFilter(emptyReplayForm()), page: 1, per_page: 25 })).toBe('?page=1&per_page=25');
  });

  it('places the errors of the filters next to them', () => {
    expect(['organization_id', 'per_page', 'page'].filter(isReplayFilterField)).toEqual(['organization_id', 'per_page']);
  });

  it("links a session to its page's editor when it names one the administrator can open", () => {
    const member = new Set(['o1']);
    expect(pageEditorPath({ organization_id: 'o1', project_id: 'p1', page_id: 'pg 1' }, member)).toBe('/projects/p1/pages/pg%201');
    expect(matchRoute(ROUTES, pageEditorPath({ organization_id: 'o1', project_id: 'p1', page_id: 'pg1' }, member) ?? '')).toEqual({
      name: 'pageEditor',
      params: { id: 'p1', pageId: 'pg1' },
    });
    expect(pageEditorPath({ organization_id: 'o1', project_id: '', page_id: 'pg1' }, member)).toBeNull();
    expect(pageEditorPath({ organization_id: 'o2', project_id: 'p1', page_id: 'pg1' }, member)).toBeNull();
    expect(matchRoute(ROUTES, '/admin/replays')).toEqual({ name: 'adminReplays', params: {} });
  });

  it('names the editors: the platform, an account by its name, one that is gone by its id', () => {
    expect(editorName({ user_id: 'u1', user_name: 'Ada Lovelace' })).toBe('Ada Lovelace');
    expect(editorName({ user_id: 'u2', user_name: null })).toBe('u2');
    expect(editorName({ user_id: 'system', user_name: null })).toBe('Socle');
  });

  it('asks before deleting, saying what is lost', () => {
    expect(deleteQuestion({ changes: 1, ended_at: '2026-03-05T10:00:00Z' }, 'Ada')).toMatch(
      /^Delete the replay of Ada's session \(1 change\)\? The page's history up to the end of this session goes, its earlier sessions with it/,
    );
    expect(deleteQuestion({ changes: 3, ended_at: null }, 'Ada')).toContain('(3 changes)? It is still going on.');
  });
});
