import { describe, expect, it } from 'vitest';
import {
  actorLabel,
  changeLines,
  collectionChoices,
  createdColumns,
  describeMigrations,
  indexChanges,
  pageOf,
  parseIndexStatement,
  parseOperation,
  peopleOf,
  resolveCollection,
} from './migrations';
import type { Collection, SchemaMigration } from '../../lib/types';

const books: Collection = {
  id: 'pbc_books',
  name: 'novels',
  type: 'base',
  system: false,
  fields: [
    { id: 'id', name: 'id', type: 'text', system: true, primaryKey: true },
    { id: 't1', name: 'headline', type: 'text' },
    { id: 'n1', name: 'price', type: 'text' },
    { id: 'b1', name: 'in_stock', type: 'bool' },
    { id: 'i1', name: 'isbn', type: 'text' },
    { id: 'c', name: 'created', type: 'autodate' },
  ],
  indexes: [{ name: 'books_by_title', fields: ['headline'], unique: false }],
};

const T = '"p_1"."books"';
function migration(seq: number, operations: string[], statements: string[], extra: Partial<SchemaMigration> = {}): SchemaMigration {
  return {
    seq,
    collection_id: 'pbc_books',
    collection_name: 'books',
    operations,
    statements,
    actor_id: 'u1',
    created_at: `2025-01-0${seq}T10:00:00Z`,
    ...extra,
  };
}

const history: SchemaMigration[] = [
  migration(1, ['create collection books'], [
    `CREATE TABLE ${T} ("id" TEXT PRIMARY KEY NOT NULL, "title" TEXT NOT NULL DEFAULT '', "price" DOUBLE PRECISION NOT NULL DEFAULT 0, "in_stock" BOOLEAN NOT NULL DEFAULT FALSE, "created" TEXT NOT NULL DEFAULT '')`,
  ]),
  migration(2, ['add field isbn'], [`ALTER TABLE ${T} ADD COLUMN "isbn" TEXT NOT NULL DEFAULT ''`]),
  migration(3, ['change indexes'], [`CREATE INDEX "i_abc" ON ${T} ("title")`]),
  migration(4, ['rename field title to headline', 'convert field price from number to text (2 records)', 'change access rules'], [
    `DROP INDEX IF EXISTS "p_1"."i_abc"`,
    `ALTER TABLE ${T} RENAME COLUMN "title" TO "headline"`,
    `CREATE INDEX "i_def" ON ${T} ("headline")`,
  ]),
  migration(5, ['rename collection books to novels'], [`ALTER TABLE ${T} RENAME TO "novels"`], { collection_name: 'novels', actor_id: 'u2' }),
  migration(6, ['create collection scratch'], [`CREATE TABLE "p_1__scratch" ("id" TEXT PRIMARY KEY NOT NULL, "note" TEXT NOT NULL DEFAULT '', "created" TEXT NOT NULL DEFAULT '', "updated" TEXT NOT NULL DEFAULT '')`], {
    collection_id: 'pbc_scratch',
    collection_name: 'scratch',
  }),
  migration(7, ['drop collection scratch'], [`DROP TABLE IF EXISTS "p_1__scratch"`], { collection_id: 'pbc_scratch', collection_name: 'scratch' }),
];

describe('the migration history', () => {
  it('reads the API’s phrases, anything else as it is', () => {
    expect(parseOperation('add field title')).toEqual({ kind: 'addField', name: 'title' });
    expect(parseOperation('rename field a to b')).toEqual({ kind: 'renameField', from: 'a', to: 'b' });
    expect(parseOperation('convert field price from number to text (3 records, 1 reset by force)')).toEqual({
      kind: 'convertField',
      name: 'price',
      from: 'number',
      to: 'text',
      note: '3 records, 1 reset by force',
    });
    expect(parseOperation('change access rules')).toEqual({ kind: 'rules' });
    expect(parseOperation('imported: entry 3 of the exported project')).toEqual({ kind: 'other', text: 'imported: entry 3 of the exported project' });
    expect(parseOperation({ op: 'x' })).toEqual({ kind: 'other', text: '{"op":"x"}' });
  });

  it('reads the columns of a created table, CHECKs and defaults aside', () => {
    expect(
      createdColumns(
        `CREATE TABLE "p__a" ("id" TEXT PRIMARY KEY NOT NULL, "tags" TEXT NOT NULL DEFAULT '[]' CHECK (json_type("tags") = 'array'), "a, b" TEXT NOT NULL DEFAULT ',', "data" TEXT DEFAULT NULL CHECK ("data" IS NULL OR json_valid("data")))`,
      ),
    ).toEqual(['tags', 'a, b', 'data']);
    expect(createdColumns('ALTER TABLE "x" ADD COLUMN "y" TEXT')).toBeNull();
  });

  it('reads index statements of either database', () => {
    expect(parseIndexStatement(`CREATE UNIQUE INDEX "i_1" ON "p"."t" ("a", "b")`)).toEqual({ action: 'create', physical: 'i_1', fields: ['a', 'b'], unique: true });
    expect(parseIndexStatement(`DROP INDEX IF EXISTS "p"."i_1"`)).toEqual({ action: 'drop', physical: 'i_1' });
    expect(parseIndexStatement(`DROP INDEX IF EXISTS "p__i_1"`)).toEqual({ action: 'drop', physical: 'p__i_1' });
    expect(parseIndexStatement('DROP TABLE IF EXISTS "t"')).toBeNull();
  });

  it('names indexes the collection declares, and remembers them to say what is dropped', () => {
    const known = new Map<string, string>();
    const declared = books.indexes ?? [];
    expect(indexChanges([`CREATE INDEX "i_1" ON "t" ("headline")`, `CREATE UNIQUE INDEX "i_2" ON "t" ("isbn")`], declared, known)).toEqual([
      'create index books_by_title on headline',
      'create unique index on isbn',
    ]);
    expect(indexChanges([`DROP INDEX IF EXISTS "i_2"`, `DROP INDEX IF EXISTS "i_9"`], declared, known)).toEqual(['drop unique index on isbn', 'drop an index']);
    expect(indexChanges([`DROP INDEX IF EXISTS "i_1"`, `CREATE INDEX "i_1" ON "t" ("headline")`], declared, known)).toEqual([
      'rebuild index books_by_title on headline',
    ]);
  });

  it('keeps “change indexes” only when no statement says which', () => {
    expect(changeLines([{ kind: 'indexes' }], new Map(), [], [])).toEqual(['change indexes']);
    expect(changeLines([{ kind: 'indexes' }], new Map(), [], ['create index on a'])).toEqual(['create index on a']);
    expect(changeLines([{ kind: 'rules' }, { kind: 'addField', name: 'a' }], new Map([['a', 'url']]), [], ['create index on a'])).toEqual([
      'add field a (url)',
      'create index on a',
      'change access rules',
    ]);
  });

  it('lists the history newest first, with the field types of the time', () => {
    const views = describeMigrations(history, [books]);
    expect(views.map((v) => v.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    const bySeq = (seq: number) => views.find((v) => v.seq === seq)!;
    // The title was renamed and the price converted since: their types then, not now.
    expect(bySeq(1).changes).toEqual(['create collection books with title (text), price (number), in_stock (bool)']);
    expect(bySeq(2).changes).toEqual(['add field isbn (text)']);
    // The index was declared on the title, renamed headline since.
    expect(bySeq(3).changes).toEqual(['create index books_by_title on title']);
    expect(bySeq(4).changes).toEqual([
      'rename field title to headline',
      'change field price from number to text (2 records)',
      'drop index books_by_title on title',
      'create index books_by_title on headline',
      'change access rules',
    ]);
    expect(bySeq(5)).toMatchObject({ collectionName: 'novels', currentName: 'novels', actorId: 'u2', changes: ['rename collection books to novels'] });
    // A deleted collection: no name now, its fields without types (its timestamps left out).
    expect(bySeq(6)).toMatchObject({ currentName: null, changes: ['create collection scratch with note'] });
    expect(bySeq(7).statements).toEqual(['DROP TABLE IF EXISTS "p_1__scratch"']);
  });

  it('finds a collection by id or by a name it had, and offers each once', () => {
    const views = describeMigrations(history, [books]);
    expect(resolveCollection('pbc_books', views)).toBe('pbc_books');
    expect(resolveCollection('books', views)).toBe('pbc_books');
    expect(resolveCollection('scratch', views)).toBe('pbc_scratch');
    expect(resolveCollection('nothing', views)).toBeNull();
    expect(resolveCollection('', views)).toBeNull();
    expect(collectionChoices(views)).toEqual([
      { id: 'pbc_books', label: 'novels' },
      { id: 'pbc_scratch', label: 'scratch (deleted)' },
    ]);
  });

  it('pages a list held whole', () => {
    const items = Array.from({ length: 45 }, (_, i) => i);
    expect(pageOf(items, 1)).toMatchObject({ page: 1, per_page: 20, total_items: 45, total_pages: 3 });
    expect(pageOf(items, 3).items).toEqual([40, 41, 42, 43, 44]);
    expect(pageOf(items, 9).page).toBe(3);
    expect(pageOf([], 1)).toMatchObject({ items: [], page: 1, total_pages: 1 });
  });

  it('names the author: name, else address, else id', () => {
    const people = peopleOf(
      [
        { user_id: 'u1', email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', role: 'OWNER', joined_at: '' },
        { user_id: 'u2', email: 'bob@example.com', first_name: '', last_name: '', role: 'MEMBER', joined_at: '' },
      ],
      { id: 'u3', email: 'me@example.com', first_name: '', last_name: '', role: 'user', status: 'active' },
    );
    expect(actorLabel('u1', people)).toBe('Ada Lovelace');
    expect(actorLabel('u2', people)).toBe('bob@example.com');
    expect(actorLabel('u3', people)).toBe('me@example.com');
    expect(actorLabel('u9', people)).toBe('u9');
  });
});
