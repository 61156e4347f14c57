import { describe, expect, it } from 'vitest';
import {
  deviceName,
  sessionAddress,
  signOutEverywhereQuestion,
  signOutQuestion,
  signedOutEverywhereMessage,
  signedOutMessage,
} from './sessions';
import { when } from './format';

const chrome = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36';

describe("an account's sessions in the Users detail", () => {
  it('names the device by its user agent, as the account sees it, and the address', () => {
    expect(deviceName({ user_agent: chrome })).toBe(chrome);
    expect(deviceName({ user_agent: null })).toBe('Unknown device');
    expect(deviceName({ user_agent: '  ' })).toBe('Unknown device');
    expect(sessionAddress({ ip: '203.0.113.7' })).toBe('203.0.113.7');
    expect(sessionAddress({ ip: null })).toBe('Unknown');
  });

  it('asks before signing a device or every device out, warning when it is the administrator', () => {
    const session = { user_agent: chrome, last_used_at: '2026-03-01T10:00:00Z' };
    expect(signOutQuestion('Ada Lovelace', session)).toBe(
      `Sign Ada Lovelace out of ${chrome} (last used ${when(session.last_used_at)})? They must sign in again on it.`,
    );
    expect(signOutQuestion('Me', { user_agent: null, last_used_at: session.last_used_at }, true)).toMatch(
      /^Sign Me out of Unknown device .*If it is this browser, you are signed out\.$/,
    );
    expect(signOutEverywhereQuestion('Ada Lovelace')).toBe('Sign Ada Lovelace out of every device? They must sign in again on each.');
    expect(signOutEverywhereQuestion('Me', true)).toBe('Sign Me out of every device? This browser too: you are signed out.');
  });

  it('says what was signed out', () => {
    expect(signedOutMessage('Ada Lovelace', { user_agent: null })).toBe('Ada Lovelace is signed out of Unknown device.');
    expect(signedOutEverywhereMessage('Ada Lovelace', 0)).toBe('Ada Lovelace had no open session.');
    expect(signedOutEverywhereMessage('Ada Lovelace', 1)).toBe('Ada Lovelace is signed out everywhere (1 session).');
    expect(signedOutEverywhereMessage('Ada Lovelace', 3)).toBe('Ada Lovelace is signed out everywhere (3 sessions).');
  });
});
