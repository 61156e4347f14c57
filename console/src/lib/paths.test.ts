import { describe, expect, it } from 'vitest';
import { consolePath, matchRoute } from './paths';
import { ROUTES } from '../routes';

describe('the router', () => {
  it('matches screens with their parameters', () => {
    expect(matchRoute(ROUTES, '/projects')).toEqual({ name: 'projects', params: {} });
    expect(matchRoute(ROUTES, '/projects/p1/collections/new')).toEqual({ name: 'collectionNew', params: { id: 'p1' } });
    expect(matchRoute(ROUTES, '/projects/p1/collections/my%20posts')).toEqual({
      name: 'collection',
      params: { id: 'p1', name: 'my posts' },
    });
    expect(matchRoute(ROUTES, '/apps/a1/records/posts')).toEqual({ name: 'recordsOf', params: { appId: 'a1', collection: 'posts' } });
    expect(matchRoute(ROUTES, '/')).toEqual({ name: 'home', params: {} });
    expect(matchRoute(ROUTES, '/nothing/here')).toBeNull();
    expect(matchRoute(ROUTES, '/projects/%E0%A4%A')).toBeNull();
  });

  it('reads paths under /console', () => {
    expect(consolePath('/console')).toBe('/');
    expect(consolePath('/console/')).toBe('/');
    expect(consolePath('/console/projects/x')).toBe('/projects/x');
    expect(consolePath('/elsewhere')).toBe('/');
  });
});
