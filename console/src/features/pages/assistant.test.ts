import { describe, expect, it } from 'vitest';
import { countComponents, topLevelTypes } from './assistant';

const page = {
  type: 'page',
  children: [
    { type: 'heading', props: { text: 'Hi' } },
    { type: 'section', children: [{ type: 'text' }, { type: 'button' }, 'junk'] },
  ],
};

describe('generated pages', () => {
  it('counts every component under the page', () => {
    expect(countComponents(page)).toBe(4);
    expect(countComponents({ type: 'page' })).toBe(0);
    expect(countComponents(null)).toBe(0);
  });

  it('lists the top-level types', () => {
    expect(topLevelTypes(page)).toEqual(['heading', 'section']);
    expect(topLevelTypes([])).toEqual([]);
  });
});
