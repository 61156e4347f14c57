import { describe, expect, it } from 'vitest';
import {
  componentPath,
  componentsPath,
  documentMessages,
  documentPlace,
  parseJson,
  parseObject,
  placedField,
  pretty,
  readableSchema,
  readableTree,
  schemaMessages,
  subtreeDocument,
} from './componentForm';
import { previewTree } from './treePreview';

describe('the component editor', () => {
  it('reads JSON typed in a textarea', () => {
    expect(parseJson('{"a": 1}')).toEqual({ value: { a: 1 } });
    expect(parseJson('  ')).toEqual({ error: 'Type a JSON value.' });
    expect(parseJson('{a: 1}')).toHaveProperty('error', expect.stringMatching(/^This is not valid JSON: /));
    expect(parseObject('{"type": "section"}', 'The tree')).toEqual({ value: { type: 'section' } });
    expect(parseObject('[1]', 'The tree')).toEqual({ error: 'The tree is a JSON object ({…}).' });
    expect(parseObject('null', 'The tree')).toEqual({ error: 'The tree is a JSON object ({…}).' });
    expect(pretty({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
  });

  it('shows JSON the server answers by key name in the order people read it', () => {
    const tree = { children: [{ props: { text: 'Hi' }, type: 'heading' }], id: 'n1', props: {}, type: 'section' };
    expect(pretty(readableTree(tree))).toBe(
      pretty({ type: 'section', id: 'n1', props: {}, children: [{ type: 'heading', props: { text: 'Hi' } }] }),
    );
    const schema = {
      properties: { a: { default: 1, type: 'number' }, b: { enum: ['x'], type: 'string' } },
      required: ['a'],
      type: 'object',
      'x-order': ['b', 'a'],
    };
    expect(pretty(readableSchema(schema))).toBe(
      pretty({
        type: 'object',
        properties: { b: { type: 'string', enum: ['x'] }, a: { type: 'number', default: 1 } },
        required: ['a'],
        'x-order': ['b', 'a'],
      }),
    );
    expect(readableSchema('x')).toBe('x');
    expect(readableTree(null)).toBeNull();
  });

  it("places the server's errors about the tree where they are", () => {
    expect(documentPlace('/document/children/0/props/level')).toBe('children[0].props.level');
    expect(documentPlace('document.children.0.props.level')).toBe('children[0].props.level');
    expect(documentPlace('document.children[0].props.level')).toBe('children[0].props.level');
    expect(documentPlace('/document/type')).toBe('type');
    expect(documentPlace('document')).toBe('');
    expect(documentPlace('/document')).toBe('');
    expect(documentPlace('documents')).toBeNull();
    expect(documentPlace('name')).toBeNull();
    expect(
      documentMessages({
        document: ['a component cannot contain other components'],
        '/document/children/1/props/level': ['must be an integer from 1 to 6'],
        name: ['taken'],
      }),
    ).toEqual(['a component cannot contain other components', 'children[1].props.level: must be an integer from 1 to 6']);
  });

  it("places the server's errors about the props schema and the other fields", () => {
    expect(schemaMessages({ props_schema: ['not an object schema'], 'props_schema.properties': ['bad'], name: ['x'] })).toEqual([
      'not an object schema',
      'properties: bad',
    ]);
    for (const field of ['name', 'description', 'props_schema', 'props_schema.properties', 'document', '/document/children/0']) {
      expect(placedField(field)).toBe(true);
    }
    expect(placedField('organization_id')).toBe(false);
  });

  it('links to the components', () => {
    expect(componentsPath('o 1')).toBe('/organizations/o%201/components');
    expect(componentPath('o1', 'new')).toBe('/organizations/o1/components/new');
    expect(componentPath('o1', 'c/2')).toBe('/organizations/o1/components/c%2F2');
  });

  it("makes a page node's subtree a default tree, without the page's ids", () => {
    const node = {
      id: 'n1',
      type: 'section',
      name: 'Hero',
      props: { padding: 'md' },
      children: [{ id: 'n2', type: 'heading', props: { text: 'Hi', level: 2 } }],
    };
    expect(subtreeDocument(node)).toEqual({
      type: 'section',
      name: 'Hero',
      props: { padding: 'md' },
      children: [{ type: 'heading', props: { text: 'Hi', level: 2 } }],
    });
    expect(node.id).toBe('n1');
    expect(subtreeDocument('x')).toEqual({});
  });

  it('previews a tree as the only child of a page', () => {
    const { tree, doc } = previewTree({ type: 'section', props: {}, children: [{ type: 'heading', props: { text: 'Hi', level: 3 } }] });
    expect(tree.type).toBe('page');
    expect(tree.children.map((c) => c.type)).toEqual(['section']);
    expect(tree.children[0]?.children[0]?.props).toEqual({ text: 'Hi', level: 3 });
    doc.destroy();
  });
});
