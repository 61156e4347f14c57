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

// --- A version compared with the current document ------------------------------------------

/** JSON with two-space indents and its objects' keys sorted (key order is not a change). */
export function prettyJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sorted(value), null, 2) ?? '';
}

export type DiffLine = { kind: 'same' | 'added' | 'removed'; text: string };

/** Past this many line pairs to compare, the changed middle is shown as removed then added. */
const MAX_CELLS = 4_000_000;

/**
 * The lines of `after` against those of `before`: unchanged, removed (only in `before`) and
 * added (only in `after`), in order, by a longest common subsequence of the lines (removed
 * lines come before the added ones that replace them).
 */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const same = (text: string): DiffLine => ({ kind: 'same', text });
  const out: DiffLine[] = a.slice(0, start).map(same);
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  if (n * m > MAX_CELLS) {
    for (const text of midA) out.push({ kind: 'removed', text });
    for (const text of midB) out.push({ kind: 'added', text });
  } else {
    // lcs[i * (m + 1) + j]: the common subsequence's length of midA[i..] and midB[j..].
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        lcs[i * (m + 1) + j] =
          midA[i] === midB[j] ? (lcs[(i + 1) * (m + 1) + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * (m + 1) + j] ?? 0, lcs[i * (m + 1) + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        out.push(same(midA[i] as string));
        i += 1;
        j += 1;
      } else if (j >= m || (i < n && (lcs[(i + 1) * (m + 1) + j] ?? 0) >= (lcs[i * (m + 1) + j + 1] ?? 0))) {
        out.push({ kind: 'removed', text: midA[i] as string });
        i += 1;
      } else {
        out.push({ kind: 'added', text: midB[j] as string });
        j += 1;
      }
    }
  }
  for (const text of a.slice(endA)) out.push(same(text));
  return out;
}

export type DiffRow = DiffLine | { kind: 'skipped'; count: number };

/** The changed lines with `context` unchanged lines around each run; longer unchanged runs folded. */
export function withContext(lines: readonly DiffLine[], context = 3): DiffRow[] {
  const near = lines.map(() => false);
  lines.forEach((line, i) => {
    if (line.kind === 'same') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k += 1) near[k] = true;
  });
  const rows: DiffRow[] = [];
  let skipped = 0;
  lines.forEach((line, i) => {
    if (near[i]) {
      if (skipped > 0) rows.push({ kind: 'skipped', count: skipped });
      skipped = 0;
      rows.push(line);
    } else {
      skipped += 1;
    }
  });
  if (skipped > 0) rows.push({ kind: 'skipped', count: skipped });
  return rows;
}

/** `3 lines added, 1 removed` (or `No change`). */
export function diffSummary(lines: readonly DiffLine[]): string {
  const added = lines.filter((l) => l.kind === 'added').length;
  const removed = lines.filter((l) => l.kind === 'removed').length;
  if (added === 0 && removed === 0) return 'No change';
  return `${added} ${added === 1 ? 'line' : 'lines'} added, ${removed} removed`;
}
