import { describe, expect, it } from 'vitest';
import { diffSummary, isCurrent, lineDiff, prettyJson, versionSummary, withContext } from './versions';

describe('page versions', () => {
  it('sums up a version', () => {
    expect(versionSummary({ name: 'Home', slug: 'home', size_bytes: 2048 })).toBe('“Home” (/home), 2 KB');
    expect(versionSummary({ name: 'Root', slug: '/', size_bytes: 10 })).toBe('“Root” (/), 10 B');
  });

  it('knows the current version', () => {
    expect(isCurrent({ version: 3 }, 3)).toBe(true);
    expect(isCurrent({ version: 2 }, 3)).toBe(false);
  });

  it('pretty-prints a document with its keys sorted', () => {
    expect(prettyJson({ type: 'page', children: [{ b: 1, a: 2 }] })).toBe('{\n  "children": [\n    {\n      "a": 2,\n      "b": 1\n    }\n  ],\n  "type": "page"\n}');
    expect(prettyJson({ b: 1, a: 2 })).toBe(prettyJson({ a: 2, b: 1 }));
  });

  it('compares lines: unchanged, removed and added, in order', () => {
    const marks = (before: string, after: string) =>
      lineDiff(before, after).map((l) => `${l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' '}${l.text}`);
    expect(marks('a\nb\nc', 'a\nb\nc')).toEqual([' a', ' b', ' c']);
    expect(marks('a\nb\nc', 'a\nx\nc')).toEqual([' a', '-b', '+x', ' c']);
    expect(marks('a\nc', 'a\nb\nc\nd')).toEqual([' a', '+b', ' c', '+d']);
    expect(marks('a\nb\nc\nd', 'b\nd')).toEqual(['-a', ' b', '-c', ' d']);
    expect(marks('', 'a')).toEqual(['+a']);
    expect(marks('a', '')).toEqual(['-a']);
    expect(marks('x\na\nb', 'a\nb\ny')).toEqual(['-x', ' a', ' b', '+y']);
  });

  it('compares two documents line by line', () => {
    const before = prettyJson({ type: 'page', children: [] });
    const after = prettyJson({ type: 'page', children: [{ type: 'heading', props: { text: 'Hi' } }] });
    const diff = lineDiff(before, after);
    expect(diff.filter((l) => l.kind === 'removed').map((l) => l.text)).toEqual(['  "children": [],']);
    expect(diff.filter((l) => l.kind === 'added').map((l) => l.text.trim())).toContain('"text": "Hi"');
    expect(diffSummary(diff)).toBe('8 lines added, 1 removed');
    expect(diffSummary(lineDiff(before, before))).toBe('No change');
  });

  it('folds unchanged lines far from a change', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const after = before.replace('l10', 'ten');
    const rows = withContext(lineDiff(before, after), 2);
    expect(rows).toEqual([
      { kind: 'skipped', count: 8 },
      { kind: 'same', text: 'l8' },
      { kind: 'same', text: 'l9' },
      { kind: 'removed', text: 'l10' },
      { kind: 'added', text: 'ten' },
      { kind: 'same', text: 'l11' },
      { kind: 'same', text: 'l12' },
      { kind: 'skipped', count: 7 },
    ]);
  });
});
