// A small History API router for the console under /console: a table of path patterns,
// the current match as reactive state, and link clicks turned into navigations.

import { BASE, consolePath, href } from './paths';

export { BASE, consolePath, href, matchRoute } from './paths';
export type { Match, RouteDef } from './paths';

class Location {
  path = $state(consolePath(window.location.pathname));
  search = $state(window.location.search);

  constructor() {
    window.addEventListener('popstate', () => this.sync());
    document.addEventListener('click', (event) => this.intercept(event));
  }

  private sync() {
    this.path = consolePath(window.location.pathname);
    this.search = window.location.search;
  }

  navigate(path: string, options: { replace?: boolean } = {}) {
    const url = href(path);
    if (options.replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    this.sync();
    window.scrollTo(0, 0);
    if (!options.replace) {
      // Like a page load for assistive technology: the new screen's content has focus.
      queueMicrotask(() => document.getElementById('main')?.focus({ preventScroll: true }));
    }
  }

  /** Same-origin clicks on links under /console navigate without reloading. */
  private intercept(event: MouseEvent) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    const anchor = (event.target as Element | null)?.closest('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    if (url.pathname !== BASE && !url.pathname.startsWith(`${BASE}/`)) return;
    event.preventDefault();
    this.navigate(consolePath(url.pathname) + url.search);
  }
}

export const location = new Location();

export function navigate(path: string, options: { replace?: boolean } = {}) {
  location.navigate(path, options);
}
