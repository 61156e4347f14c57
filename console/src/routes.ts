// Every screen of the console and its path under /console.
import type { RouteDef } from './lib/paths';

export const ROUTES = [
  { name: 'home', pattern: '/' },
  { name: 'signin', pattern: '/signin' },
  { name: 'signup', pattern: '/signup' },
  { name: 'organizations', pattern: '/organizations' },
  { name: 'projects', pattern: '/projects' },
  { name: 'project', pattern: '/projects/:id' },
  { name: 'projectApps', pattern: '/projects/:id/apps' },
  { name: 'collectionNew', pattern: '/projects/:id/collections/new' },
  { name: 'collection', pattern: '/projects/:id/collections/:name' },
  { name: 'records', pattern: '/apps/:appId/records' },
  { name: 'recordsOf', pattern: '/apps/:appId/records/:collection' },
] as const satisfies readonly RouteDef[];

/** Screens open without signing in. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['signin', 'signup']);
