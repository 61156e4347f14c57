// Parts of the console loaded on demand, each a chunk of its own (the build splits at every
// `import()`): the first screens load none of them. A chunk is fetched once; a failed fetch
// (offline, or the console was updated since the tab opened and the old chunk is gone) is
// forgotten, so that trying again fetches it again.

export interface Chunk<M> {
  /** The module, once loaded (undefined before). */
  readonly current: M | undefined;
  /** The module: fetched on the first call, the same promise after; a failure is not kept. */
  load(): Promise<M>;
}

export function chunk<M>(importer: () => Promise<M>): Chunk<M> {
  let current: M | undefined;
  let pending: Promise<M> | null = null;
  return {
    get current() {
      return current;
    },
    load() {
      pending ??= importer().then(
        (module) => (current = module),
        (error: unknown) => {
          pending = null;
          throw error;
        },
      );
      return pending;
    },
  };
}

/** What a failed load means for people. */
export function chunkFailure(online: boolean): string {
  return online
    ? 'This part of the console could not be loaded. Try again; if it still fails, the console may have been updated meanwhile: reload the page.'
    : 'This part of the console could not be loaded: you seem to be offline. Try again once connected.';
}
