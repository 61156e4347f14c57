import { describe, expect, it } from 'vitest';
import { chunk, chunkFailure } from './lazy';

describe('chunks loaded on demand', () => {
  it('fetches a chunk once, and knows it after', async () => {
    let fetches = 0;
    const screens = chunk(async () => {
      fetches += 1;
      return { Screen: 'component' };
    });
    expect(screens.current).toBeUndefined();
    expect(fetches).toBe(0);
    const [a, b] = await Promise.all([screens.load(), screens.load()]);
    expect(a).toBe(b);
    expect(await screens.load()).toBe(a);
    expect(screens.current).toBe(a);
    expect(fetches).toBe(1);
  });

  it('forgets a failed fetch, so that trying again fetches again', async () => {
    let fetches = 0;
    const screens = chunk(async () => {
      fetches += 1;
      if (fetches === 1) throw new TypeError('Failed to fetch dynamically imported module');
      return { Screen: 'component' };
    });
    await expect(screens.load()).rejects.toThrow('Failed to fetch');
    expect(screens.current).toBeUndefined();
    expect(await screens.load()).toEqual({ Screen: 'component' });
    expect(screens.current).toEqual({ Screen: 'component' });
    expect(fetches).toBe(2);
  });

  it('says why a load failed', () => {
    expect(chunkFailure(true)).toMatch(/could not be loaded. Try again/);
    expect(chunkFailure(false)).toMatch(/offline/);
  });
});
