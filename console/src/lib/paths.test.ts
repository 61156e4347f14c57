import { describe, expect, it } from 'vitest';
import { consolePath, matchRoute, nextPath, queryParam, signInReturningTo } from './paths';
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
    expect(matchRoute(ROUTES, '/projects/p1/pages')).toEqual({ name: 'projectPages', params: { id: 'p1' } });
    expect(matchRoute(ROUTES, '/projects/p1/pages/pg1')).toEqual({ name: 'pageEditor', params: { id: 'p1', pageId: 'pg1' } });
    expect(matchRoute(ROUTES, '/')).toEqual({ name: 'home', params: {} });
    expect(matchRoute(ROUTES, '/reset-password')).toEqual({ name: 'resetPassword', params: {} });
    expect(matchRoute(ROUTES, '/invitations/accept')).toEqual({ name: 'acceptInvitation', params: {} });
    expect(matchRoute(ROUTES, '/admin/invoices')).toEqual({ name: 'adminInvoices', params: {} });
    expect(matchRoute(ROUTES, '/admin/revenue')).toEqual({ name: 'adminRevenue', params: {} });
    expect(matchRoute(ROUTES, '/oauth2/callback')).toEqual({ name: 'oauthCallback', params: {} });
    expect(matchRoute(ROUTES, '/admin/marketplace')).toEqual({ name: 'adminMarketplace', params: {} });
    expect(matchRoute(ROUTES, '/admin/notifications')).toEqual({ name: 'adminNotifications', params: {} });
    expect(matchRoute(ROUTES, '/admin/organizations')).toEqual({ name: 'adminOrganizations', params: {} });
    expect(matchRoute(ROUTES, '/admin/projects')).toEqual({ name: 'adminProjects', params: {} });
    expect(matchRoute(ROUTES, '/marketplace')).toEqual({ name: 'marketplace', params: {} });
    expect(matchRoute(ROUTES, '/marketplace/publish')).toEqual({ name: 'marketplacePublish', params: {} });
    expect(matchRoute(ROUTES, '/marketplace/seller')).toEqual({ name: 'marketplaceSeller', params: {} });
    expect(matchRoute(ROUTES, '/marketplace/it1')).toEqual({ name: 'marketplaceItem', params: { itemId: 'it1' } });
    expect(matchRoute(ROUTES, '/nothing/here')).toBeNull();
    expect(matchRoute(ROUTES, '/projects/%E0%A4%A')).toBeNull();
  });

  it('reads paths under /console', () => {
    expect(consolePath('/console')).toBe('/');
    expect(consolePath('/console/')).toBe('/');
    expect(consolePath('/console/projects/x')).toBe('/projects/x');
    expect(consolePath('/elsewhere')).toBe('/');
  });

  it('reads tokens and where sign-in leads back to', () => {
    expect(queryParam('?token=a%2Bb&x=1', 'token')).toBe('a+b');
    expect(queryParam('', 'token')).toBe('');
    const back = signInReturningTo('/invitations/accept?token=t1');
    expect(back).toBe('/signin?next=%2Finvitations%2Faccept%3Ftoken%3Dt1');
    expect(nextPath(back.slice('/signin'.length), '/projects')).toBe('/invitations/accept?token=t1');
    expect(nextPath('', '/projects')).toBe('/projects');
    for (const outside of ['https://evil.test/', '//evil.test/x', '/\\evil.test', 'javascript:alert(1)']) {
      expect(nextPath(`?next=${encodeURIComponent(outside)}`, '/projects')).toBe('/projects');
    }
  });
});
