// A page's search-engine fields and its place among the project's pages.

import type { PageInput, StudioPage } from '../../lib/types';

export const SEO_TITLE_MAX = 200;
export const SEO_DESCRIPTION_MAX = 500;

export interface SeoForm {
  seo_title: string;
  seo_description: string;
}

export function seoForm(page: Pick<StudioPage, 'seo_title' | 'seo_description'>): SeoForm {
  return { seo_title: page.seo_title ?? '', seo_description: page.seo_description ?? '' };
}

/** What changed, trimmed (nothing when nothing did). */
export function seoUpdate(form: SeoForm, page: Pick<StudioPage, 'seo_title' | 'seo_description'>): PageInput {
  const update: PageInput = {};
  const title = form.seo_title.trim();
  const description = form.seo_description.trim();
  if (title !== (page.seo_title ?? '')) update.seo_title = title;
  if (description !== (page.seo_description ?? '')) update.seo_description = description;
  return update;
}

/** `12 of 200 characters` (counted as people see them). */
export function charactersLeft(text: string, max: number): string {
  return `${[...text].length} of ${max} characters`;
}

/** The title a search engine shows: the SEO title, else the page's name. */
export function searchTitle(form: SeoForm, pageName: string): string {
  return form.seo_title.trim() || pageName;
}

/** The pages with the one at `from` moved to `to` (positions clamped; the same list when nothing moves). */
export function movePage<T>(pages: readonly T[], from: number, to: number): T[] {
  const target = Math.max(0, Math.min(pages.length - 1, to));
  if (from === target || from < 0 || from >= pages.length) return [...pages];
  const next = [...pages];
  const [item] = next.splice(from, 1);
  next.splice(target, 0, item as T);
  return next;
}
