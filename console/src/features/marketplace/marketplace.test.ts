import { describe, expect, it } from 'vitest';
import {
  emptyPublish,
  emptySearch,
  isCategory,
  kindLabel,
  minorUnits,
  priceText,
  publishRequest,
  ratingText,
  screenshotList,
  searchQuery,
  stars,
  summary,
} from './marketplace';

describe('marketplace format', () => {
  it('shows free items as Free', () => {
    expect(priceText(0, 'EUR', 'en-US')).toBe('Free');
    expect(priceText(1999, 'EUR', 'en-US')).toBe('€19.99');
  });

  it('draws five stars from a mean rating', () => {
    expect(stars(null)).toBe('');
    expect(stars(4.4)).toBe('★★★★☆');
    expect(stars(4.6)).toBe('★★★★★');
    expect(stars(0)).toBe('☆☆☆☆☆');
    expect(stars(9)).toBe('★★★★★');
  });

  it('words a rating', () => {
    expect(ratingText(null, 0)).toBe('No reviews yet');
    expect(ratingText(4.25, 1)).toBe('4.3 out of 5 (1 review)');
    expect(ratingText(3, 12)).toBe('3.0 out of 5 (12 reviews)');
  });

  it('names kinds', () => {
    expect(kindLabel('template')).toBe('Template');
    expect(kindLabel('other')).toBe('other');
  });

  it('shortens a description to its first line', () => {
    expect(summary('One line\nTwo')).toBe('One line');
    expect(summary('abcdefghij', 5)).toBe('abcd…');
  });
});

describe('marketplace search', () => {
  it('leaves blanks and unknown values out', () => {
    expect(searchQuery(emptySearch())).toEqual({ sort: 'newest' });
    expect(searchQuery({ q: ' blog ', category: 'CMS', kind: 'nope', free: '', min_rating: '7', sort: 'bogus' })).toEqual({
      q: 'blog',
      category: 'cms',
    });
  });

  it('sends free, kind and the minimum rating', () => {
    expect(searchQuery({ q: '', category: '', kind: 'component', free: 'false', min_rating: '4', sort: 'price_asc' })).toEqual({
      kind: 'component',
      free: false,
      min_rating: 4,
      sort: 'price_asc',
    });
    expect(searchQuery({ ...emptySearch(), free: 'true' }).free).toBe(true);
  });
});

describe('marketplace publishing', () => {
  it('checks categories', () => {
    expect(isCategory('landing-pages2')).toBe(true);
    expect(isCategory('Landing')).toBe(false);
    expect(isCategory('a b')).toBe(false);
  });

  it('splits screenshots', () => {
    expect(screenshotList('https://a.test/1.png\n https://a.test/2.png, \n')).toEqual(['https://a.test/1.png', 'https://a.test/2.png']);
    expect(screenshotList('  ')).toEqual([]);
  });

  it('reads prices in minor units', () => {
    expect(minorUnits('19.99', 'EUR')).toBe(1999);
    expect(minorUnits('19,5', 'EUR')).toBe(1950);
    expect(minorUnits('5', 'USD')).toBe(500);
    expect(minorUnits('', 'EUR')).toBe(0);
    expect(minorUnits('500', 'JPY')).toBe(500);
    expect(minorUnits('1.5', 'JPY')).toBeNull();
    expect(minorUnits('1.999', 'EUR')).toBeNull();
    expect(minorUnits('-1', 'EUR')).toBeNull();
    expect(minorUnits('abc', 'EUR')).toBeNull();
  });

  it('builds the request of a template', () => {
    const form = {
      ...emptyPublish(),
      source_id: 'p1',
      title: ' Blog ',
      category: 'blog',
      screenshots: 'https://x.test/a.png',
      price: '9.90',
      currency: 'eur',
    };
    expect(publishRequest('o1', form)).toEqual({
      errors: null,
      request: {
        organization_id: 'o1',
        kind: 'template',
        project_id: 'p1',
        title: 'Blog',
        description: '',
        category: 'blog',
        screenshots: ['https://x.test/a.png'],
        price: 990,
        currency: 'EUR',
        license: 'MIT',
      },
    });
  });

  it('sends a component by its id', () => {
    const result = publishRequest('o1', { ...emptyPublish(), kind: 'component', source_id: 'c1' });
    expect(result.request?.component_id).toBe('c1');
    expect(result.request?.project_id).toBeUndefined();
  });

  it('finds mistakes before sending', () => {
    const result = publishRequest('o1', { ...emptyPublish(), category: 'Bad Cat', screenshots: 'http://x.test/a.png', price: 'x' });
    expect(result.request).toBeNull();
    expect(Object.keys(result.errors ?? {}).sort()).toEqual(['category', 'price', 'project_id', 'screenshots']);
  });
});
