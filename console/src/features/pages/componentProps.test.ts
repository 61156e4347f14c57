import { describe, expect, it } from 'vitest';
import type { StudioComponent } from '../../lib/types';
import { componentPropSpecs, findComponent, previewRows, propsFor } from './componentProps';

// A component's props as its builder declares them (`props_schema`, a JSON Schema of type object).
const propsSchema = {
  type: 'object',
  required: ['title', 'columns'],
  properties: {
    title: { type: 'string', default: 'Useful links', description: 'Shown above the columns.' },
    size: { type: 'number', minimum: 0.5, maximum: 3 },
    count: { type: 'integer', minimum: 1 },
    dark: { type: 'boolean', default: false },
    tone: { enum: ['calm', 'loud'] },
    code: { type: 'string', pattern: '^[A-Z]{3}$', maxLength: 3 },
    home: { type: 'string', format: 'uri' },
    tags: { type: 'array', items: { type: 'string' } },
    extra: { type: 'object' },
    note: { type: ['string', 'null'] },
    columns: {
      type: 'array',
      maxItems: 4,
      items: {
        type: 'object',
        required: ['heading'],
        properties: {
          heading: { type: 'string' },
          links: {
            type: 'array',
            items: { type: 'object', required: ['label', 'url'], properties: { label: { type: 'string' }, url: { type: 'string', format: 'uri' } } },
          },
        },
      },
    },
  },
};

const component = (id: string, name: string, schema: unknown = propsSchema): StudioComponent => ({
  id,
  organization_id: 'o1',
  name,
  description: '',
  props_schema: schema as Record<string, unknown>,
  document: { type: 'section' },
  created_at: '',
  updated_at: '',
});

describe("a component's declared props", () => {
  const specs = componentPropSpecs(propsSchema);
  const byName = (name: string) => specs.find((s) => s.name === name);

  it('are inputs of their types, required ones first', () => {
    expect(specs.map((s) => [s.name, s.kind])).toEqual([
      ['title', 'text'],
      ['columns', 'objects'],
      ['size', 'number'],
      ['count', 'int'],
      ['dark', 'bool'],
      ['tone', 'choice'],
      ['code', 'text'],
      ['home', 'url'],
      ['tags', 'list'],
      ['extra', 'other'],
      ['note', 'text'],
    ]);
    expect(byName('title')).toMatchObject({ required: true, default: 'Useful links', description: 'Shown above the columns.' });
    expect(byName('size')).toMatchObject({ min: 0.5, max: 3 });
    expect(byName('tone')?.options).toEqual(['calm', 'loud']);
    expect(byName('code')).toMatchObject({ pattern: '^[A-Z]{3}$', maxLength: 3 });
    // An address of a published page: the page schema's safe ones.
    expect(byName('home')?.pattern).toBe('^(https?://|/(?!/)|#)');
  });

  it('describe lists inside the items of a list', () => {
    const columns = byName('columns');
    expect(columns?.maxItems).toBe(4);
    expect(columns?.fields?.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['heading', 'text', true],
      ['links', 'objects', false],
    ]);
    const links = columns?.fields?.find((f) => f.name === 'links');
    expect(links?.fields?.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['label', 'text', true],
      ['url', 'url', true],
    ]);
  });

  it("come in the order the props builder gave them (`x-order`), the others after", () => {
    const sorted = {
      type: 'object',
      required: ['c'],
      properties: { a: { type: 'string' }, b: { type: 'number' }, c: { type: 'boolean' }, d: { type: 'string' } },
      'x-order': ['d', 'b', 'x', 'b', 'a'],
    };
    expect(componentPropSpecs(sorted).map((s) => s.name)).toEqual(['c', 'd', 'b', 'a']);
  });

  it('are none when the schema declares none', () => {
    expect(componentPropSpecs({ type: 'object' })).toEqual([]);
    expect(componentPropSpecs(null)).toEqual([]);
  });
});

describe('the placed component', () => {
  const list = [component('c1', 'Footer menu'), component('c2', 'Hero', { type: 'object', properties: { title: { type: 'string' } } })];

  it('is found by its id, or its name (which the server accepts too)', () => {
    expect(findComponent(list, 'c2')?.name).toBe('Hero');
    expect(findComponent(list, 'Footer menu')?.id).toBe('c1');
    expect(findComponent(list, 'ref')).toBeUndefined();
  });

  it('gets its required props when chosen, keeping the values it declares too', () => {
    const specs = componentPropSpecs(propsSchema);
    expect(propsFor(specs, undefined)).toEqual({ title: 'Useful links', columns: [] });
    expect(propsFor(specs, { title: 'Mine', tone: 'calm', other: 1 })).toEqual({ title: 'Mine', columns: [], tone: 'calm' });
    expect(propsFor(componentPropSpecs({ type: 'object', required: ['n', 'on'], properties: { n: { type: 'integer', minimum: 2 }, on: { type: 'boolean' } } }), {})).toEqual({
      n: 2,
      on: false,
    });
  });

  it('shows its props on the canvas, lists item by item to any depth', () => {
    expect(
      previewRows({ title: 'Links', tags: ['a', 'b'], columns: [{ heading: 'Shop', links: [{ label: 'Books', url: '/books' }] }], n: 2, off: false }),
    ).toEqual([
      { label: 'Title', text: 'Links' },
      { label: 'Tags', text: 'a, b' },
      { label: 'Columns', text: '', items: [[{ label: 'Heading', text: 'Shop' }, { label: 'Links', text: '', items: [[{ label: 'Label', text: 'Books' }, { label: 'URL', text: '/books' }]] }]] },
      { label: 'N', text: '2' },
      { label: 'Off', text: 'false' },
    ]);
    expect(previewRows(undefined)).toEqual([]);
  });
});
