// The project's schema migrations as the Migration history screen shows them: newest first,
// each change in words. The API keeps what changed as phrases (`add field title`) and the SQL
// run; a field's type and an index's name are read back from the collection as it is now
// (undoing the later changes), an index's fields from its CREATE statement. Who made it: a
// member's name or address, else their id. One collection's only (by id, or by a name it
// had), a page at a time.

import type { Collection, CollectionIndex, Member, Page, SchemaMigration, User } from '../../lib/types';
import { isBuiltIn } from './drafts';

export const MIGRATIONS_PER_PAGE = 20;

/** A migration as the history lists it. */
export interface MigrationView {
  seq: number;
  createdAt: string;
  collectionId: string;
  /** Its name when it was changed. */
  collectionName: string;
  /** Its name now; null once it is deleted. */
  currentName: string | null;
  actorId: string;
  /** What changed, one line each. */
  changes: string[];
  /** The SQL run, as the API gives it. */
  statements: string[];
  /** The operations as the API recorded them. */
  recorded: unknown[];
}

/** One of the API's phrases, read. */
export type Operation =
  | { kind: 'createCollection'; name: string }
  | { kind: 'dropCollection'; name: string }
  | { kind: 'renameCollection'; from: string; to: string }
  | { kind: 'updateView'; name: string }
  | { kind: 'addField'; name: string }
  | { kind: 'dropField'; name: string }
  | { kind: 'renameField'; from: string; to: string }
  | { kind: 'convertField'; name: string; from: string; to: string; note: string }
  | { kind: 'rules' }
  | { kind: 'indexes' }
  | { kind: 'other'; text: string };

const PHRASES: [RegExp, (m: RegExpMatchArray) => Operation][] = [
  [/^create collection (\S+)$/, (m) => ({ kind: 'createCollection', name: m[1]! })],
  [/^drop collection (\S+)$/, (m) => ({ kind: 'dropCollection', name: m[1]! })],
  [/^rename collection (\S+) to (\S+)$/, (m) => ({ kind: 'renameCollection', from: m[1]!, to: m[2]! })],
  [/^update view (\S+)$/, (m) => ({ kind: 'updateView', name: m[1]! })],
  [/^add field (\S+)$/, (m) => ({ kind: 'addField', name: m[1]! })],
  [/^drop field (\S+)$/, (m) => ({ kind: 'dropField', name: m[1]! })],
  [/^rename field (\S+) to (\S+)$/, (m) => ({ kind: 'renameField', from: m[1]!, to: m[2]! })],
  [
    /^convert field (\S+) from (\S+) to (\S+)(?: \((.*)\))?$/,
    (m) => ({ kind: 'convertField', name: m[1]!, from: m[2]!, to: m[3]!, note: m[4] ?? '' }),
  ],
  [/^change access rules$/, () => ({ kind: 'rules' })],
  [/^change indexes$/, () => ({ kind: 'indexes' })],
];

/** An operation of the API (a phrase; anything else is shown as its JSON). */
export function parseOperation(raw: unknown): Operation {
  if (typeof raw !== 'string') return { kind: 'other', text: JSON.stringify(raw) ?? String(raw) };
  const text = raw.trim();
  for (const [pattern, read] of PHRASES) {
    const match = text.match(pattern);
    if (match) return read(match);
  }
  return { kind: 'other', text };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))) : [];
}

/** The identifiers quoted in a piece of SQL (`"a", "b"` → a, b). */
function quotedNames(sql: string): string[] {
  return [...sql.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
}

/** The columns of a CREATE TABLE statement, in order (`id` left out); null for other SQL. */
export function createdColumns(sql: string): string[] | null {
  const match = sql.match(/^CREATE TABLE \S+ \(([\s\S]*)\)$/);
  if (!match) return null;
  const columns: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let part = '';
  const take = () => {
    const name = part.trim().match(/^"((?:[^"]|"")*)"/);
    if (name && name[1] !== 'id') columns.push(name[1]!.replace(/""/g, '"'));
    part = '';
  };
  for (const ch of match[1]!) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (ch === ',' && depth === 0) {
      take();
      continue;
    }
    part += ch;
  }
  take();
  return columns;
}

/** An index statement read: created (with its fields) or dropped, by its table's name for it. */
export type IndexStatement = { action: 'create'; physical: string; fields: string[]; unique: boolean } | { action: 'drop'; physical: string };

export function parseIndexStatement(sql: string): IndexStatement | null {
  const create = sql.match(/^CREATE (UNIQUE )?INDEX "((?:[^"]|"")+)" ON \S+ \((.*)\)$/);
  if (create) {
    return { action: 'create', physical: create[2]!.replace(/""/g, '"'), fields: quotedNames(create[3]!), unique: Boolean(create[1]) };
  }
  const drop = sql.match(/^DROP INDEX (?:IF EXISTS )?(?:"(?:[^"]|"")+"\.)?"((?:[^"]|"")+)"$/);
  return drop ? { action: 'drop', physical: drop[1]!.replace(/""/g, '"') } : null;
}

/** `index books_by_title on title`, `unique index on email`: named when the collection declared it. */
export function indexLabel(fields: string[], unique: boolean, declared: readonly CollectionIndex[]): string {
  const same = (a: string[]) => a.length === fields.length && a.every((f, i) => f === fields[i]);
  const index = declared.find((i) => i.unique === unique && same(i.fields));
  return `${unique ? 'unique index' : 'index'}${index ? ` ${index.name}` : ''} on ${fields.join(', ')}`;
}

/**
 * The index changes of a migration's statements: `create index …`, `drop index …`, `rebuild
 * index …` (dropped and created again). `declared`: its collection's indexes just after it;
 * `known`: the indexes earlier migrations created (by their name in the database), which
 * learns this one's.
 */
export function indexChanges(statements: string[], declared: readonly CollectionIndex[], known: Map<string, string>): string[] {
  const read = statements.map(parseIndexStatement).filter((s): s is IndexStatement => s !== null);
  const created = new Set(read.filter((s) => s.action === 'create').map((s) => s.physical));
  const dropped = new Set(read.filter((s) => s.action === 'drop').map((s) => s.physical));
  const lines: string[] = [];
  for (const s of read) {
    if (s.action === 'drop') {
      if (created.has(s.physical)) continue;
      const label = known.get(s.physical);
      lines.push(label ? `drop ${label}` : 'drop an index');
      known.delete(s.physical);
    } else {
      const label = indexLabel(s.fields, s.unique, declared);
      lines.push(`${dropped.has(s.physical) ? 'rebuild' : 'create'} ${label}`);
      known.set(s.physical, label);
    }
  }
  return lines;
}

/** `title (text)`, or the name alone when its type is unknown. */
function typed(name: string, types: ReadonlyMap<string, string>): string {
  const type = types.get(name);
  return type ? `${name} (${type})` : name;
}

/**
 * The lines of one migration. `types`: its collection's field types just after it; `columns`:
 * the fields a created collection started with; `indexes`: its index changes.
 */
export function changeLines(operations: Operation[], types: ReadonlyMap<string, string>, columns: string[], indexes: string[]): string[] {
  const lines: string[] = [];
  let rules = false;
  let indexesOnly = false;
  for (const op of operations) {
    switch (op.kind) {
      case 'createCollection':
        lines.push(`create collection ${op.name}${columns.length ? ` with ${columns.map((c) => typed(c, types)).join(', ')}` : ''}`);
        break;
      case 'dropCollection':
        lines.push(`drop collection ${op.name}`);
        break;
      case 'renameCollection':
        lines.push(`rename collection ${op.from} to ${op.to}`);
        break;
      case 'updateView':
        lines.push(`change view ${op.name}`);
        break;
      case 'addField':
        lines.push(`add field ${typed(op.name, types)}`);
        break;
      case 'dropField':
        lines.push(`drop field ${op.name}`);
        break;
      case 'renameField':
        lines.push(`rename field ${op.from} to ${op.to}`);
        break;
      case 'convertField':
        lines.push(`change field ${op.name} from ${op.from} to ${op.to}${op.note ? ` (${op.note})` : ''}`);
        break;
      case 'rules':
        rules = true;
        break;
      case 'indexes':
        indexesOnly = true;
        break;
      default:
        lines.push(op.text);
    }
  }
  lines.push(...indexes);
  if (indexesOnly && indexes.length === 0) lines.push('change indexes');
  if (rules) lines.push('change access rules');
  return lines;
}

/** What a collection's schema was just after a migration, as far as the history tells. */
export interface SchemaState {
  /** Field types by name. */
  types: Map<string, string>;
  /** The indexes it declared (by name, on its fields then). */
  indexes: CollectionIndex[];
}

/** A collection's schema now (none once it is deleted). */
export function stateOf(collection: Collection | undefined): SchemaState {
  return {
    types: new Map((collection?.fields ?? []).map((f) => [f.name, f.type])),
    indexes: (collection?.indexes ?? []).map((index) => ({ ...index, fields: [...index.fields] })),
  };
}

/** The schema before a migration, from the one after it (in place). */
export function undo(operations: Operation[], state: SchemaState): void {
  const { types } = state;
  for (const op of [...operations].reverse()) {
    if (op.kind === 'createCollection') {
      types.clear();
      state.indexes = [];
    } else if (op.kind === 'addField') types.delete(op.name);
    else if (op.kind === 'convertField') types.set(op.name, op.from);
    else if (op.kind === 'renameField') {
      const type = types.get(op.to);
      types.delete(op.to);
      if (type) types.set(op.from, type);
      else types.delete(op.from);
      for (const index of state.indexes) index.fields = index.fields.map((f) => (f === op.to ? op.from : f));
    }
  }
}

/** The history, newest first, each migration in words. `collections`: the project's now. */
export function describeMigrations(migrations: readonly SchemaMigration[], collections: readonly Collection[]): MigrationView[] {
  const byId = new Map(collections.map((c) => [c.id, c]));
  const newestFirst = [...migrations].sort((a, b) => b.seq - a.seq);
  const operations = new Map(newestFirst.map((m) => [m.seq, strings(m.operations).map(parseOperation)]));

  // Each collection's schema now, then just after each migration, going back.
  const states = new Map<string, SchemaState>();
  const after = new Map<number, SchemaState>();
  for (const m of newestFirst) {
    let state = states.get(m.collection_id);
    if (!state) {
      state = stateOf(byId.get(m.collection_id));
      states.set(m.collection_id, state);
    }
    after.set(m.seq, { types: new Map(state.types), indexes: state.indexes.map((i) => ({ ...i, fields: [...i.fields] })) });
    undo(operations.get(m.seq) ?? [], state);
  }

  // The indexes, going forward: a dropped one is known by its creation.
  const known = new Map<string, string>();
  const indexes = new Map<number, string[]>();
  for (const m of [...newestFirst].reverse()) {
    indexes.set(m.seq, indexChanges(strings(m.statements), after.get(m.seq)?.indexes ?? [], known));
  }

  return newestFirst.map((m) => {
    const collection = byId.get(m.collection_id);
    // Gone, its definition with it: the timestamps every new collection gets are left out.
    const builtIn = new Set(collection ? collection.fields.filter(isBuiltIn).map((f) => f.name) : ['created', 'updated']);
    const statements = strings(m.statements);
    const columns = (statements.map(createdColumns).find((c) => c !== null) ?? []).filter((c) => !builtIn.has(c));
    return {
      seq: m.seq,
      createdAt: m.created_at,
      collectionId: m.collection_id,
      collectionName: m.collection_name,
      currentName: collection?.name ?? null,
      actorId: m.actor_id,
      changes: changeLines(operations.get(m.seq) ?? [], after.get(m.seq)?.types ?? new Map(), columns, indexes.get(m.seq) ?? []),
      statements,
      recorded: Array.isArray(m.operations) ? m.operations : [],
    };
  });
}

/** The collection `key` names in the history: its id, else the newest migration's under that name. */
export function resolveCollection(key: string, views: readonly MigrationView[]): string | null {
  if (!key) return null;
  if (views.some((v) => v.collectionId === key)) return key;
  return views.find((v) => v.collectionName === key)?.collectionId ?? null;
}

/** The collections of the history to choose from: by id, under their name now (else their last). */
export function collectionChoices(views: readonly MigrationView[]): { id: string; label: string }[] {
  const choices = new Map<string, string>();
  for (const v of views) {
    if (!choices.has(v.collectionId)) choices.set(v.collectionId, v.currentName ?? `${v.collectionName} (deleted)`);
  }
  return [...choices].map(([id, label]) => ({ id, label })).sort((a, b) => a.label.localeCompare(b.label));
}

/** A page of a list held whole (`page` from 1, kept within the pages). */
export function pageOf<T>(items: readonly T[], page: number, perPage = MIGRATIONS_PER_PAGE): Page<T> {
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const current = Math.min(Math.max(1, Math.floor(page) || 1), totalPages);
  return {
    items: items.slice((current - 1) * perPage, current * perPage),
    page: current,
    per_page: perPage,
    total_items: items.length,
    total_pages: totalPages,
  };
}

/** Someone who may appear as a migration's author. */
export interface Person {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
}

/** The people known by id: the organization's members and the signed-in builder. */
export function peopleOf(members: readonly Member[], me: User | null): Map<string, Person> {
  const people = new Map<string, Person>(members.map((m) => [m.user_id, { ...m, id: m.user_id }]));
  if (me) people.set(me.id, me);
  return people;
}

/** Who made a migration: their name, else their address, else their id. */
export function actorLabel(actorId: string, people: ReadonlyMap<string, Person>): string {
  const person = people.get(actorId);
  if (!person) return actorId;
  return `${person.first_name} ${person.last_name}`.trim() || person.email || actorId;
}
