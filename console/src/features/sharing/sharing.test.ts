import { describe, expect, it } from 'vitest';
import { bundleFileName, linkState, looksLikeBundle, shareLinkPayload, shareUrl } from './sharing';

describe('share links', () => {
  it('builds the address a token opens', () => {
    expect(shareUrl('http://localhost:8080/', 'shr_abc')).toBe('http://localhost:8080/api/v1/studio/share/shr_abc');
  });

  it('asks for the chosen lifetime', () => {
    expect(shareLinkPayload('')).toEqual({});
    expect(shareLinkPayload('86400')).toEqual({ expires_in_secs: 86400 });
    expect(shareLinkPayload('nonsense')).toEqual({});
  });

  it('tells whether a link still works', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    expect(linkState({ expires_at: null, revoked_at: null }, now)).toBe('active');
    expect(linkState({ expires_at: '2026-03-02T00:00:00Z', revoked_at: null }, now)).toBe('active');
    expect(linkState({ expires_at: '2026-03-01T11:00:00Z', revoked_at: null }, now)).toBe('expired');
    expect(linkState({ expires_at: null, revoked_at: '2026-02-01T00:00:00Z' }, now)).toBe('revoked');
  });
});

describe('project bundles', () => {
  it('names the file after the project', () => {
    expect(bundleFileName({ id: 'p1', name: 'Book shop' })).toBe('book-shop.socle.json.gz');
    expect(bundleFileName({ id: 'p1', name: 'Café Ünïcode!' })).toBe('cafe-unicode.socle.json.gz');
    expect(bundleFileName({ id: 'p1', name: '***' })).toBe('project-p1.socle.json.gz');
  });

  it('recognizes bundle files by name', () => {
    expect(looksLikeBundle('book-shop.socle.json.gz')).toBe(true);
    expect(looksLikeBundle('bundle.JSON')).toBe(true);
    expect(looksLikeBundle('photo.png')).toBe(false);
  });
});
