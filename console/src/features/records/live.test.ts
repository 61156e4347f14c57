import { describe, expect, it } from 'vitest';
import { clientIdOf } from './live';

describe('the realtime connection event', () => {
  it('names the client', () => {
    expect(clientIdOf('{"clientId":"abc"}')).toBe('abc');
    expect(clientIdOf('{"other":1}')).toBeNull();
    expect(clientIdOf('not json')).toBeNull();
  });
});
