import { describe, expect, it } from 'vitest';
import { charactersLeft, movePage, searchTitle, seoForm, seoUpdate } from './seo';

describe('page SEO and order', () => {
  const page = { seo_title: 'Books', seo_description: '' };

  it('sends only what changed, trimmed', () => {
    expect(seoUpdate(seoForm(page), page)).toEqual({});
    expect(seoUpdate({ seo_title: ' Books ', seo_description: ' Every book. ' }, page)).toEqual({ seo_description: 'Every book.' });
    expect(seoUpdate({ seo_title: '', seo_description: '' }, page)).toEqual({ seo_title: '' });
  });

  it('counts characters and falls back to the name', () => {
    expect(charactersLeft('héllo', 200)).toBe('5 of 200 characters');
    expect(searchTitle({ seo_title: '  ', seo_description: '' }, 'Home')).toBe('Home');
    expect(searchTitle({ seo_title: 'The shop', seo_description: '' }, 'Home')).toBe('The shop');
  });

  it('moves a page up or down the list', () => {
    expect(movePage(['a', 'b', 'c'], 2, 1)).toEqual(['a', 'c', 'b']);
    expect(movePage(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
    expect(movePage(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c']);
    expect(movePage(['a', 'b', 'c'], 2, 9)).toEqual(['a', 'b', 'c']);
  });
});
