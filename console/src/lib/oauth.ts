// What an OAuth2 sign-in remembers across its trip to the provider: which provider, and the
// console path to go on to once signed in. Kept in sessionStorage (this tab only).

import { consoleNext } from './paths';

const PROVIDER_KEY = 'socle.console.oauth.provider';
const NEXT_KEY = 'socle.console.oauth.next';

export interface OAuthTrip {
  provider: string;
  next: string;
}

type Store = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

function storage(): Store | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function rememberOAuth(trip: OAuthTrip, store: Store | null = storage()): void {
  store?.setItem(PROVIDER_KEY, trip.provider);
  store?.setItem(NEXT_KEY, trip.next);
}

/** The remembered trip (null when none: a reload, another tab); it is then gone. */
export function takeOAuth(store: Store | null = storage()): OAuthTrip | null {
  const provider = store?.getItem(PROVIDER_KEY) ?? '';
  const next = store?.getItem(NEXT_KEY) ?? '';
  store?.removeItem(PROVIDER_KEY);
  store?.removeItem(NEXT_KEY);
  if (!provider) return null;
  return { provider, next: consoleNext(next, '/projects') };
}
