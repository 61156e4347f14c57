import { describe, expect, it } from 'vitest';
import { componentPropSpecs } from '../pages/componentProps';
import { moveRow, newRow, optionList, propCount, retypedDefault, rowsFromSchema, schemaFromRows, type PropRow } from './propsBuilder';

function rows(schema: unknown): PropRow[] {
  const result = rowsFromSchema(schema);
  if ('refused' in result) throw new Error(result.refused);
  return result.rows;
}

function schema(list: PropRow[]): Record<string, unknown> {
  const result = schemaFromRows(list);
  if ('errors' in result) throw new Error(JSON.stringify(result.errors));
  return result.schema;
}

function refusal(value: unknown): string {
  const result = rowsFromSchema(value);
  return 'refused' in result ? result.refused : '';
}

const row = (fields: Partial<PropRow>): PropRow => ({ ...newRow(), ...fields });

// Every kind of prop the builder shows, with and without title, description and default.
const full = {
  type: 'object',
  properties: {
    title: { type: 'string', title: 'Title', description: 'Shown on top.', default: 'Hello' },
    size: { type: 'number', default: 1.5 },
    count: { type: 'integer', title: 'Count', default: 3 },
    dark: { type: 'boolean', default: false },
    tone: { type: 'string', enum: ['calm', 'loud'], default: 'loud' },
    note: { type: 'string' },
  },
  required: ['title', 'tone'],
  'x-order': ['title', 'size', 'count', 'dark', 'tone', 'note'],
};

describe('the props builder', () => {
  it('shows every prop of a schema it can hold, in order', () => {
    const shown = rows(full);
    expect(shown.map((r) => [r.name, r.type, r.title, r.default, r.required, r.options])).toEqual([
      ['title', 'string', 'Title', 'Hello', true, ''],
      ['size', 'number', '', '1.5', false, ''],
      ['count', 'integer', 'Count', '3', false, ''],
      ['dark', 'boolean', '', 'false', false, ''],
      ['tone', 'enum', '', 'loud', true, 'calm, loud'],
      ['note', 'string', '', '', false, ''],
    ]);
    expect(shown[0]?.description).toBe('Shown on top.');
    expect(new Set(shown.map((r) => r.key)).size).toBe(shown.length);
  });

  it('round-trips what it shows', () => {
    expect(schema(rows(full))).toEqual(full);
    const empty = { type: 'object', properties: {} };
    expect(rows(empty)).toEqual([]);
    expect(schema(rows(empty))).toEqual(empty);
    const one = { type: 'object', properties: { on: { type: 'boolean', default: true } } };
    expect(schema(rows(one))).toEqual(one);
  });

  it('keeps the order of the props, which the server does not keep', () => {
    // As the server answers it: its keys by name, the order in `x-order`.
    const sorted = {
      type: 'object',
      properties: { b: { type: 'string' }, c: { type: 'number' }, a: { type: 'boolean' } },
      'x-order': ['c', 'a', 'b'],
    };
    expect(rows(sorted).map((r) => r.name)).toEqual(['c', 'a', 'b']);
    expect(Object.keys(schema(rows(sorted)).properties as object)).toEqual(['c', 'a', 'b']);
    expect(schema(rows(sorted))).toEqual(sorted);
    // Without it, the object's order, then written down.
    const unordered = { type: 'object', properties: { z: { type: 'string' }, y: { type: 'string' } } };
    expect(schema(rows(unordered))).toEqual({ ...unordered, 'x-order': ['z', 'y'] });
    const moved = moveRow(rows(sorted), 2, -2);
    expect(schema(moved)['x-order']).toEqual(['b', 'c', 'a']);
  });

  it('reads a schema without properties or with an empty required as none', () => {
    expect(rows({ type: 'object' })).toEqual([]);
    expect(schema(rows({ type: 'object', properties: { a: { type: 'string' } }, required: [] }))).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
    });
  });

  it('refuses what it cannot show, saying why', () => {
    expect(refusal(null)).toMatch(/not a JSON object/);
    expect(refusal([])).toMatch(/not a JSON object/);
    expect(refusal({ type: 'array' })).toMatch(/not of type “object”/);
    expect(refusal({ type: 'object', additionalProperties: false })).toMatch(/uses “additionalProperties”/);
    expect(refusal({ type: 'object', properties: [] })).toMatch(/properties are not an object/);
    expect(refusal({ type: 'object', properties: {}, required: 'a' })).toMatch(/not a list of names/);
    expect(refusal({ type: 'object', properties: {}, required: ['a'] })).toMatch(/“a” is required but not declared/);
    expect(refusal({ type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'a'] })).toMatch(/required twice/);
    for (const order of ['a', ['a'], ['a', 'a'], ['a', 'c'], ['a', 'b', 'c'], ['a', 1]]) {
      expect(refusal({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, 'x-order': order })).toMatch(
        /“x-order” does not list each prop once/,
      );
    }
    const prop = (p: unknown, name = 'a') => refusal({ type: 'object', properties: { [name]: p } });
    expect(prop({ type: 'string' }, 'my-prop')).toMatch(/prop name “my-prop”/);
    expect(prop({ type: 'string' }, '1st')).toMatch(/prop name “1st”/);
    expect(prop(true)).toMatch(/not an object schema/);
    expect(prop({ type: 'string', format: 'uri' })).toMatch(/“a” uses “format”/);
    expect(prop({ type: 'string', minLength: 1 })).toMatch(/uses “minLength”/);
    expect(prop({ type: 'array', items: { type: 'string' } })).toMatch(/uses “items”/);
    expect(prop({ type: 'array' })).toMatch(/of type "array"/);
    expect(prop({ type: 'object' })).toMatch(/of type "object"/);
    expect(prop({ type: ['string', 'null'] })).toMatch(/of type \["string","null"\]/);
    expect(prop({})).toMatch(/has no type/);
    expect(prop({ enum: ['x'] })).toMatch(/enum that is not of strings/);
    expect(prop({ type: 'string', enum: [1, 2] })).toMatch(/enum that is not of strings/);
    expect(prop({ type: 'string', enum: [] })).toMatch(/empty enum/);
    expect(prop({ type: 'string', enum: ['a,b'] })).toMatch(/commas/);
    expect(prop({ type: 'string', enum: [' a'] })).toMatch(/commas or spaces/);
    expect(prop({ type: 'string', enum: ['a', 'a'] })).toMatch(/value twice/);
    expect(prop({ type: 'string', enum: ['a'], default: 'b' })).toMatch(/not one of its values/);
    expect(prop({ type: 'string', default: 3 })).toMatch(/default that is not a text/);
    expect(prop({ type: 'string', default: '' })).toMatch(/default that is not a text/);
    expect(prop({ type: 'integer', default: 1.5 })).toMatch(/not an integer/);
    expect(prop({ type: 'number', default: '1' })).toMatch(/not a number/);
    expect(prop({ type: 'boolean', default: 'yes' })).toMatch(/not true or false/);
    expect(prop({ type: 'string', title: '' })).toMatch(/title that is not a plain text/);
    expect(prop({ type: 'string', description: ' padded ' })).toMatch(/description that is not a plain text/);
  });

  it('makes the schema of new rows', () => {
    const made = schema([
      row({ name: 'headline', type: 'string', title: ' Headline ', default: 'Welcome', required: true }),
      row({ name: 'columns', type: 'integer', default: ' 3 ' }),
      row({ name: 'ratio', type: 'number', default: '0.5' }),
      row({ name: 'dark', type: 'boolean', default: 'true' }),
      row({ name: 'tone', type: 'enum', options: ' calm , loud,, ', required: true }),
    ]);
    expect(made).toEqual({
      type: 'object',
      properties: {
        headline: { type: 'string', title: 'Headline', default: 'Welcome' },
        columns: { type: 'integer', default: 3 },
        ratio: { type: 'number', default: 0.5 },
        dark: { type: 'boolean', default: true },
        tone: { type: 'string', enum: ['calm', 'loud'] },
      },
      required: ['headline', 'tone'],
      'x-order': ['headline', 'columns', 'ratio', 'dark', 'tone'],
    });
    // The page editor reads it as inputs of these kinds.
    expect(componentPropSpecs(made).map((s) => [s.name, s.kind, s.required])).toEqual([
      ['headline', 'text', true],
      ['tone', 'choice', true],
      ['columns', 'int', false],
      ['ratio', 'number', false],
      ['dark', 'bool', false],
    ]);
    expect(schema([])).toEqual({ type: 'object', properties: {} });
  });

  it('says what is wrong with each row', () => {
    const a = row({ name: '' });
    const b = row({ name: 'x-y' });
    const c = row({ name: 'dup', type: 'integer', default: '1.5' });
    const d = row({ name: 'dup', type: 'number', default: 'many' });
    const e = row({ name: 'e', type: 'enum', options: ' , ', default: 'x' });
    const f = row({ name: 'f', type: 'enum', options: 'a, a' });
    const g = row({ name: 'g', type: 'boolean', default: 'yes' });
    const h = row({ name: 'fine', type: 'string' });
    const result = schemaFromRows([a, b, c, d, e, f, g, h]);
    expect('errors' in result && result.errors).toEqual({
      [a.key]: { name: 'A prop needs a name.' },
      [b.key]: { name: 'Letters, digits and _, not starting with a digit.' },
      [c.key]: { default: 'The default is not an integer.' },
      [d.key]: { name: 'Another prop is named “dup”.', default: 'The default is not a number.' },
      [e.key]: { options: 'An enum needs at least one value.', default: 'The default is one of the values.' },
      [f.key]: { options: 'A value is listed twice.' },
      [g.key]: { default: 'The default is true or false.' },
    });
  });

  it('keeps a text default as typed', () => {
    expect(schema([row({ name: 'a', default: ' spaced ' })])).toEqual({ type: 'object', properties: { a: { type: 'string', default: ' spaced ' } } });
  });

  it('drops a default its new type cannot choose', () => {
    expect(retypedDefault({ type: 'boolean', default: 'Welcome', options: '' })).toBe('');
    expect(retypedDefault({ type: 'boolean', default: 'true', options: '' })).toBe('true');
    expect(retypedDefault({ type: 'enum', default: 'loud', options: 'calm, loud' })).toBe('loud');
    expect(retypedDefault({ type: 'enum', default: 'x', options: 'calm, loud' })).toBe('');
    expect(retypedDefault({ type: 'integer', default: 'true', options: '' })).toBe('true');
  });

  it('moves rows up and down, not past either end', () => {
    expect(moveRow(['a', 'b', 'c'], 2, -1)).toEqual(['a', 'c', 'b']);
    expect(moveRow(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
    expect(moveRow(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c']);
    expect(moveRow(['a', 'b', 'c'], 2, 1)).toEqual(['a', 'b', 'c']);
  });

  it('counts the declared props and splits values', () => {
    expect(propCount(full)).toBe(6);
    expect(propCount({ type: 'object' })).toBe(0);
    expect(propCount(null)).toBe(0);
    expect(optionList(' a, ,b ,')).toEqual(['a', 'b']);
  });
});
