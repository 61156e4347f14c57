import { describe, expect, it } from 'vitest';
import { appFilter, appScreenPath, liveDeployment, organizationAppsPath } from './apps';
import { emptyDirectoryForm, perPage } from './directory';
import { queryString } from '../../lib/api';
import { matchRoute } from '../../lib/paths';
import { ROUTES } from '../../routes';

describe('the Apps list', () => {
  it('keeps the filled-in filters, trimmed', () => {
    expect(appFilter(emptyDirectoryForm())).toEqual({});
    expect(appFilter({ search: ' shop ' }, ' o1 ', '')).toEqual({ search: 'shop', organization_id: 'o1' });
    expect(appFilter({ search: '' }, '', 'p1')).toEqual({ project_id: 'p1' });
  });

  it('builds the query the API reads', () => {
    expect(queryString({ ...appFilter({ search: 'Book & co' }, 'o 1'), page: 2, per_page: 50 })).toBe(
      '?search=Book+%26+co&organization_id=o+1&page=2&per_page=50',
    );
    expect(queryString({ ...appFilter(emptyDirectoryForm()), page: 1, per_page: perPage(emptyDirectoryForm()) })).toBe('?page=1&per_page=25');
  });

  it("links an app to its project's apps and an organization to its apps", () => {
    expect(appScreenPath({ project_id: 'p 1' })).toBe('/projects/p%201/apps');
    expect(matchRoute(ROUTES, appScreenPath({ project_id: 'p1' }))).toEqual({ name: 'projectApps', params: { id: 'p1' } });
    expect(organizationAppsPath('a/b')).toBe('/admin/apps?organization_id=a%2Fb');
    expect(matchRoute(ROUTES, '/admin/apps')).toEqual({ name: 'adminApps', params: {} });
  });

  it('says which deployment is live', () => {
    expect(liveDeployment({ current_deployment: null })).toBe('Not deployed');
    expect(liveDeployment({ current_deployment: 2 })).toBe('Deployment 2');
  });
});
