import { describe, expect, it } from 'vitest';
import { rememberOAuth, takeOAuth } from './oauth';

function fakeStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe('the OAuth2 trip', () => {
  it('remembers the provider and where to go on, once', () => {
    const store = fakeStorage();
    rememberOAuth({ provider: 'github', next: '/invitations/accept?token=t' }, store);
    expect(store.items.get('socle.console.oauth.next')).toBe('/invitations/accept?token=t');
    expect(takeOAuth(store)).toEqual({ provider: 'github', next: '/invitations/accept?token=t' });
    expect(takeOAuth(store)).toBeNull();
    expect(store.items.size).toBe(0);
  });

  it('goes on only to a console path', () => {
    const store = fakeStorage();
    rememberOAuth({ provider: 'google', next: '//evil.example' }, store);
    expect(takeOAuth(store)).toEqual({ provider: 'google', next: '/projects' });
    expect(takeOAuth(null)).toBeNull();
  });
});
