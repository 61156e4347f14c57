import { describe, expect, it } from 'vitest';
import { expandFor, fileLinks, fileUrl, isThumbnailable, needsFileToken, relatedRecords, relationText, tokenFresh } from './cells';
import { posts } from '../../lib/fixtures';
import type { Collection, RecordModel } from '../../lib/types';

const users: Collection = {
  ...posts,
  id: '_pb_users_auth_',
  name: 'users',
  type: 'auth',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'id', type: 'text', system: true, primaryKey: true },
    { name: 'tokenKey', type: 'text', hidden: true },
    { name: 'email', type: 'email' },
  ],
};
const books: Collection = {
  ...posts,
  id: 'pbc_books',
  name: 'books',
  fields: [
    { name: 'title', type: 'text' },
    { name: 'reader', type: 'relation', collectionId: 'users' },
    { name: 'lost', type: 'relation', collectionId: 'nowhere' },
    { name: 'cover', type: 'file' },
    { name: 'scan', type: 'file', protected: true },
  ],
};
const record = (fields: Record<string, unknown>): RecordModel => ({ id: 'r1', collectionId: 'c', collectionName: 'books', ...fields });

describe('record cells', () => {
  it('address files and their thumbnails', () => {
    expect(fileUrl('shop', 'books', 'r1', 'cover_ab.png')).toBe('/apps/shop/api/files/books/r1/cover_ab.png');
    expect(fileUrl('shop', 'books', 'r1', 'a b.png', { thumb: '100x100', token: 't' })).toBe(
      '/apps/shop/api/files/books/r1/a%20b.png?thumb=100x100&token=t',
    );
    expect(isThumbnailable('x.PNG')).toBe(true);
    expect(isThumbnailable('x.jpeg')).toBe(true);
    expect(isThumbnailable('x.webp')).toBe(true);
    expect(isThumbnailable('terms.pdf')).toBe(false);
    expect(isThumbnailable('vector.svg')).toBe(false);
  });

  it('link each file, with a thumbnail for images and the token for protected fields only', () => {
    const r = record({ cover: 'c.png', scan: ['s.jpg', 'terms.pdf'] });
    const [cover, scan] = [books.fields[3]!, books.fields[4]!];
    expect(fileLinks('shop', 'books', r, cover, 'tok')).toEqual([
      { name: 'c.png', url: '/apps/shop/api/files/books/r1/c.png', thumb: '/apps/shop/api/files/books/r1/c.png?thumb=100x100' },
    ]);
    expect(fileLinks('shop', 'books', r, scan, 'tok')).toEqual([
      {
        name: 's.jpg',
        url: '/apps/shop/api/files/books/r1/s.jpg?token=tok',
        thumb: '/apps/shop/api/files/books/r1/s.jpg?thumb=100x100&token=tok',
      },
      { name: 'terms.pdf', url: '/apps/shop/api/files/books/r1/terms.pdf?token=tok', thumb: null },
    ]);
    expect(fileLinks('shop', 'books', record({}), cover)).toEqual([]);
  });

  it('ask for a file token only when a shown field is protected, and reuse it a while', () => {
    expect(needsFileToken(books, ['id', 'scan'])).toBe(true);
    expect(needsFileToken(books, ['id', 'cover'])).toBe(false);
    expect(tokenFresh(1_000, 60_000)).toBe(true);
    expect(tokenFresh(1_000, 91_000)).toBe(false);
  });

  it('expand the shown relations whose collection is known', () => {
    expect(expandFor(books, [books, users], ['id', 'title', 'reader', 'lost'])).toBe('reader');
    expect(expandFor(books, [books, users], ['id', 'title'])).toBe('');
  });

  it("show a related record's first text value", () => {
    const reader = { id: 'u1', collectionId: '_pb_users_auth_', collectionName: 'users', name: '', email: 'reader@example.com' };
    expect(relationText(users, reader)).toBe('reader@example.com');
    expect(relationText(users, { ...reader, name: 'Ada' })).toBe('Ada');
    expect(relationText(users, { ...reader, email: '' })).toBe('u1');
    expect(relationText(null, reader)).toBe('u1');
    const coded: Collection = { ...users, fields: [...users.fields, { name: 'code', type: 'number', presentable: true }] };
    expect(relationText(coded, { ...reader, code: 7 })).toBe('7');
    const relation = books.fields[1]!;
    expect(relatedRecords(relation, record({ reader: 'u1', expand: { reader } }), users)).toEqual([{ id: 'u1', text: 'reader@example.com' }]);
    expect(relatedRecords(relation, record({ reader: ['u1', 'u2'], expand: { reader: [reader] } }), users)).toEqual([
      { id: 'u1', text: 'reader@example.com' },
      { id: 'u2', text: 'u2' },
    ]);
    expect(relatedRecords(relation, record({ reader: '' }), users)).toEqual([]);
  });
});
