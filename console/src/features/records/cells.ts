// What the records table shows besides text: thumbnails of file fields (PocketBase's file
// URLs, with a file token for protected fields) and, for relation fields, a readable value
// of each related record (read with PocketBase's `expand`).

import { queryString } from '../../lib/api';
import type { Collection, CollectionField, RecordModel } from '../../lib/types';
import { fileNames, relationTarget } from './values';

/** The thumbnail size the server always makes (other sizes must be listed by the field). */
export const THUMB = '100x100';

/** A file token lasts two minutes on the server; one is asked for again after this long. */
export const FILE_TOKEN_REUSE_MS = 90_000;

/** Whether the server makes thumbnails of a file, by its name (PNG, JPEG, GIF, WebP). */
export function isThumbnailable(filename: string): boolean {
  return /\.(png|jpe?g|gif|webp)$/i.test(filename);
}

/** The address of a record's file, or of its thumbnail (`thumb`); `token` for protected fields. */
export function fileUrl(
  slug: string,
  collection: string,
  recordId: string,
  filename: string,
  options: { thumb?: string; token?: string } = {},
): string {
  const path = [slug, collection, recordId, filename].map(encodeURIComponent);
  return `/apps/${path[0]}/api/files/${path[1]}/${path[2]}/${path[3]}${queryString({ thumb: options.thumb, token: options.token })}`;
}

/** A record's files in a field, each with its link and, for images, its thumbnail. */
export function fileLinks(
  slug: string,
  collection: string,
  record: RecordModel,
  field: CollectionField,
  token = '',
): Array<{ name: string; url: string; thumb: string | null }> {
  const protectedToken = field.protected === true ? token || undefined : undefined;
  return fileNames(record[field.name]).map((name) => ({
    name,
    url: fileUrl(slug, collection, record.id, name, { token: protectedToken }),
    thumb: isThumbnailable(name) ? fileUrl(slug, collection, record.id, name, { thumb: THUMB, token: protectedToken }) : null,
  }));
}

/** Whether a shown file field is protected: its files need a file token. */
export function needsFileToken(collection: Collection, columns: readonly string[]): boolean {
  return collection.fields.some((f) => f.type === 'file' && f.protected === true && columns.includes(f.name));
}

/** Whether a token obtained at `obtainedAt` (ms) can still be used at `now`. */
export function tokenFresh(obtainedAt: number, now: number): boolean {
  return now - obtainedAt < FILE_TOKEN_REUSE_MS;
}

/** The `expand` of a list: the shown relation fields whose target collection is known ('' for none). */
export function expandFor(collection: Collection, collections: Collection[], columns: readonly string[]): string {
  return collection.fields
    .filter((f) => f.type === 'relation' && columns.includes(f.name) && relationTarget(f, collections) !== null)
    .map((f) => f.name)
    .join(',');
}

const TEXT_TYPES = new Set(['text', 'email', 'url', 'editor']);

/**
 * A related record as people read it: its presentable field, else the first text value among
 * its collection's text fields (the id field left out), else its id.
 */
export function relationText(target: Collection | null, record: RecordModel): string {
  const fields = target?.fields ?? [];
  const presentable = fields.find((f) => f.presentable === true);
  const candidates = [
    ...(presentable ? [presentable] : []),
    ...fields.filter((f) => TEXT_TYPES.has(f.type) && !f.primaryKey && !f.hidden),
  ];
  for (const field of candidates) {
    const value = record[field.name];
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (typeof value === 'number') return String(value);
  }
  return record.id;
}

/** The related records of a relation cell: each id, with its text when the record came expanded. */
export function relatedRecords(
  field: CollectionField,
  record: RecordModel,
  target: Collection | null,
): Array<{ id: string; text: string }> {
  const value = record[field.name];
  const ids = fileNames(value);
  const expanded = record.expand?.[field.name];
  const found = Array.isArray(expanded) ? expanded : expanded ? [expanded] : [];
  return ids.map((id) => {
    const related = found.find((r) => r.id === id);
    return { id, text: related ? relationText(target, related) : id };
  });
}
