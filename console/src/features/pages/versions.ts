// A page's saved versions for people.

import type { PageVersion } from '../../lib/types';
import { bytes } from '../organizations/billing';

/** `“Home” (/home), 1.2 KB`: what a version holds besides its number and date. */
export function versionSummary(version: Pick<PageVersion, 'name' | 'slug' | 'size_bytes'>): string {
  return `“${version.name}” (/${version.slug.replace(/^\/+/, '')}), ${bytes(version.size_bytes)}`;
}

/** Whether `version` is the page's current one (restoring it would change nothing). */
export function isCurrent(version: Pick<PageVersion, 'version'>, current: number): boolean {
  return version.version === current;
}
