import { describe, expect, it } from 'vitest';
import { componentKinds, humanize, propKind, template } from './pageSchema';

// The shape of GET /api/v1/studio/schema/page.json (crates/studio/src/pages/document.rs).
const common = {
  padding: { enum: ['none', 'sm', 'md'] },
  color: { anyOf: [{ enum: ['primary', 'muted'] }, { type: 'string', pattern: '^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$' }] },
  hidden: { type: 'boolean' },
};
const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $ref: '#/$defs/node',
  $defs: {
    page: {
      type: 'object',
      properties: {
        type: { const: 'page' },
        props: { type: 'object', properties: { title: { type: 'string', maxLength: 10000 }, ...common }, required: [] },
        children: { type: 'array', items: { $ref: '#/$defs/node' } },
      },
    },
    heading: {
      type: 'object',
      properties: {
        type: { const: 'heading' },
        props: {
          type: 'object',
          properties: { text: { type: 'string' }, level: { type: 'integer', minimum: 1, maximum: 6 }, ...common },
          required: ['text'],
        },
      },
    },
    grid: {
      type: 'object',
      properties: {
        type: { const: 'grid' },
        props: { type: 'object', properties: { columns: { type: 'integer', minimum: 1, maximum: 12 }, ...common }, required: ['columns'] },
        children: { type: 'array', items: { $ref: '#/$defs/node' } },
      },
    },
    image: {
      type: 'object',
      properties: {
        type: { const: 'image' },
        props: {
          type: 'object',
          properties: { src: { type: 'string', pattern: '^(https?://|/(?!/)|#)' }, fit: { enum: ['cover', 'contain'] }, ...common },
          required: ['src'],
        },
      },
    },
    input: {
      type: 'object',
      properties: {
        type: { const: 'input' },
        props: {
          type: 'object',
          properties: { options: { type: 'array', items: { type: 'string' } }, links: { type: 'array', items: { type: 'object' } }, ...common },
          required: [],
        },
      },
    },
    node: { oneOf: [{ $ref: '#/$defs/page' }] },
  },
};

describe('the page schema', () => {
  const kinds = componentKinds(schema);

  it('lists the kinds with their props, in order', () => {
    expect(kinds.map((k) => k.name)).toEqual(['page', 'heading', 'grid', 'image', 'input']);
    expect(kinds.map((k) => k.container)).toEqual([true, false, true, false, false]);
    const heading = kinds[1];
    expect(heading?.props.find((p) => p.name === 'level')).toEqual({
      name: 'level',
      kind: 'int',
      required: false,
      common: false,
      options: [],
      min: 1,
      max: 6,
    });
    expect(heading?.props.find((p) => p.name === 'text')).toMatchObject({ kind: 'text', required: true });
  });

  it('tells each prop kind and the props every kind takes', () => {
    const image = kinds[3];
    expect(image?.props.map((p) => [p.name, p.kind, p.common])).toEqual([
      ['src', 'url', false],
      ['fit', 'choice', false],
      ['padding', 'choice', true],
      ['color', 'color', true],
      ['hidden', 'bool', true],
    ]);
    expect(image?.props.find((p) => p.name === 'color')?.options).toEqual(['primary', 'muted']);
    const input = kinds[4];
    expect(input?.props.find((p) => p.name === 'options')?.kind).toBe('list');
    expect(input?.props.find((p) => p.name === 'links')?.kind).toBe('other');
  });

  it('describes the fields of a list of objects (a link: a label and an address)', () => {
    const links = propKind({
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        required: ['label', 'href'],
        properties: { label: { type: 'string' }, href: { type: 'string', pattern: '^(https?://|/(?!/)|#)' }, extra: { type: 'array' } },
      },
    });
    expect(links.kind).toBe('objects');
    expect(links.maxItems).toBe(50);
    expect(links.fields?.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['label', 'text', true],
      ['href', 'url', true],
    ]);
  });

  it('describes lists inside the items of a list, to any depth (a footer\'s columns of links)', () => {
    const columns = propKind({
      type: 'array',
      items: {
        type: 'object',
        required: ['title'],
        properties: {
          title: { type: 'string' },
          tags: { type: 'array', items: { type: 'string' } },
          links: {
            type: 'array',
            maxItems: 20,
            items: { type: 'object', required: ['href'], properties: { label: { type: 'string' }, href: { type: 'string', pattern: '^(https?://|/(?!/)|#)' } } },
          },
        },
      },
    });
    expect(columns.kind).toBe('objects');
    expect(columns.fields?.map((f) => [f.name, f.kind])).toEqual([
      ['title', 'text'],
      ['tags', 'list'],
      ['links', 'objects'],
    ]);
    const links = columns.fields?.find((f) => f.name === 'links');
    expect(links?.maxItems).toBe(20);
    expect(links?.fields?.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['label', 'text', false],
      ['href', 'url', true],
    ]);
  });

  it('makes valid new components', () => {
    const byName = (name: string) => kinds.find((k) => k.name === name)!;
    expect(template(byName('heading'), 'a')).toEqual({ type: 'heading', id: 'a', props: { text: 'Heading' } });
    expect(template(byName('grid'), 'b')).toEqual({ type: 'grid', id: 'b', props: { columns: 2 }, children: [] });
    expect(template(byName('image'), 'c')).toEqual({ type: 'image', id: 'c', props: { src: 'https://example.com' } });
  });

  it('reads nothing from a schema it does not understand', () => {
    expect(componentKinds(null)).toEqual([]);
    expect(componentKinds({ $defs: { x: 1 } })).toEqual([]);
    expect(humanize('text_align')).toBe('Text align');
  });
});
