import { describe, expect, it } from 'vitest';
import { collabUrl, colorFor, initials, peersOf } from './collab';

describe('the collaboration room', () => {
  it('is reached on this host, over TLS when the console is', () => {
    expect(collabUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/api/v1/collab/pages');
    expect(collabUrl({ protocol: 'https:', host: 'socle.example' })).toBe('wss://socle.example/api/v1/collab/pages');
  });

  it('lists the other editors with their selection', () => {
    const states = new Map<number, Record<string, unknown>>([
      [7, { user: { name: 'Me', color: '#000000' } }],
      [12, { user: { name: 'Grace Hopper', color: '#1d6b35' }, selection: [0, 2] }],
      [3, { user: { name: 'Ada' }, selection: 'bad' }],
      [9, {}],
    ]);
    expect(peersOf(states, 7)).toEqual([
      { clientId: 3, user: { name: 'Ada', color: colorFor(3) }, selection: null },
      { clientId: 12, user: { name: 'Grace Hopper', color: '#1d6b35' }, selection: [0, 2] },
    ]);
  });

  it('shows initials', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('grace')).toBe('G');
    expect(initials('Jean Baptiste Joseph Fourier')).toBe('JF');
    expect(initials('  ')).toBe('?');
  });
});
