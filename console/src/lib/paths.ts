// Console paths: matching a path against the route table, and hrefs under /console.

export const BASE = '/console';

export interface Match {
  name: string;
  params: Record<string, string>;
}

export interface RouteDef {
  name: string;
  /** `/projects/:id`: segments starting with `:` are parameters. */
  pattern: string;
}

/** The route `path` (relative to BASE, starting with `/`) matches, or null. */
export function matchRoute(routes: readonly RouteDef[], path: string): Match | null {
  const segments = path.split('/').filter(Boolean);
  for (const route of routes) {
    const parts = route.pattern.split('/').filter(Boolean);
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (const [i, part] of parts.entries()) {
      const segment = segments[i] ?? '';
      if (part.startsWith(':')) {
        try {
          params[part.slice(1)] = decodeURIComponent(segment);
        } catch {
          ok = false;
        }
      } else if (part !== segment) {
        ok = false;
      }
      if (!ok) break;
    }
    if (ok) return { name: route.name, params };
  }
  return null;
}

/** The console-relative path of a location's pathname (`/console/x` → `/x`). */
export function consolePath(pathname: string): string {
  if (pathname === BASE) return '/';
  if (pathname.startsWith(`${BASE}/`)) return pathname.slice(BASE.length) || '/';
  return '/';
}

/** An href under the console for a console-relative path. */
export function href(path: string): string {
  return `${BASE}${path === '/' ? '' : path}`;
}

/** A parameter of a query string (`?token=…`), or '' when absent. */
export function queryParam(search: string, name: string): string {
  return new URLSearchParams(search).get(name) ?? '';
}

/** The sign-in screen that comes back to `path` (console-relative, with its query) once signed in. */
export function signInReturningTo(path: string): string {
  return `/signin?next=${encodeURIComponent(path)}`;
}

/** Where sign-in leads: the `next` parameter when it is a console path, else `fallback`. */
export function nextPath(search: string, fallback: string): string {
  return consoleNext(queryParam(search, 'next'), fallback);
}

/** `next` when it is a console path, else `fallback`. */
export function consoleNext(next: string, fallback: string): string {
  // Only a path of this console: no other origin (`//host`, `/\host`), no scheme.
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : fallback;
}
