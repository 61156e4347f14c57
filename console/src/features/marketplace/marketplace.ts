// The marketplace for people: prices, ratings, the search form as a query, the publish form
// as a request.

import type { MarketplaceKind, MarketplaceSearch, MarketplaceSort, NewMarketplaceItem } from '../../lib/types';
import { MARKETPLACE_KINDS, MARKETPLACE_SORTS } from '../../lib/types';
import { money } from '../organizations/billing';

/** `Free` for 0, else the amount in its currency (`€19.00`). */
export function priceText(price: number, currency: string, locale?: string): string {
  return price <= 0 ? 'Free' : money(price, currency, locale);
}

/** Five stars, the mean rounded to the nearest whole one: `★★★★☆` ('' without a rating). */
export function stars(rating: number | null): string {
  if (rating === null || !Number.isFinite(rating)) return '';
  const full = Math.min(5, Math.max(0, Math.round(rating)));
  return '★'.repeat(full) + '☆'.repeat(5 - full);
}

/** `4.3 out of 5 (12 reviews)`, or `No reviews yet`. */
export function ratingText(rating: number | null, count: number): string {
  if (rating === null || count <= 0) return 'No reviews yet';
  return `${rating.toFixed(1)} out of 5 (${count} review${count === 1 ? '' : 's'})`;
}

export const KIND_LABELS: Record<MarketplaceKind, string> = { template: 'Template', component: 'Component' };

/** `template` → `Template` (an unknown kind keeps its name). */
export function kindLabel(kind: string): string {
  return (KIND_LABELS as Record<string, string>)[kind] ?? kind;
}

export const SORT_LABELS: Record<MarketplaceSort, string> = {
  newest: 'Newest',
  rating: 'Best rated',
  popular: 'Most popular',
  price_asc: 'Price, lowest first',
  price_desc: 'Price, highest first',
};

/** The search form: every value a string, '' for any. */
export interface SearchForm {
  q: string;
  category: string;
  kind: string;
  /** '', `true` (free only) or `false` (paid only). */
  free: string;
  /** '' or `1` … `5`. */
  min_rating: string;
  sort: string;
}

export function emptySearch(): SearchForm {
  return { q: '', category: '', kind: '', free: '', min_rating: '', sort: 'newest' };
}

/** The API's search from the form: blanks and unknown values left out. */
export function searchQuery(form: SearchForm): MarketplaceSearch {
  const out: MarketplaceSearch = {};
  const q = form.q.trim();
  if (q) out.q = q;
  const category = form.category.trim().toLowerCase();
  if (category) out.category = category;
  if ((MARKETPLACE_KINDS as readonly string[]).includes(form.kind)) out.kind = form.kind as MarketplaceKind;
  if (form.free === 'true' || form.free === 'false') out.free = form.free === 'true';
  const rating = Number(form.min_rating);
  if (form.min_rating !== '' && Number.isInteger(rating) && rating >= 1 && rating <= 5) out.min_rating = rating;
  if ((MARKETPLACE_SORTS as readonly string[]).includes(form.sort)) out.sort = form.sort as MarketplaceSort;
  return out;
}

/** A category as the API takes it: lowercase letters, digits and `-`. */
export function isCategory(text: string): boolean {
  return /^[a-z0-9-]+$/.test(text);
}

/** The screenshots typed one a line (or separated by commas or spaces), blanks dropped. */
export function screenshotList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

/** The number of fraction digits of a currency (2 when unknown). */
function fractionDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** `19.99`, `EUR` → `1999`: a typed price in minor units; null when it is not an amount ('' is 0). */
export function minorUnits(text: string, currency: string): number | null {
  const clean = text.trim().replace(',', '.');
  if (clean === '') return 0;
  const digits = fractionDigits(currency);
  const pattern = digits > 0 ? new RegExp(`^\\d+(\\.\\d{1,${digits}})?$`) : /^\d+$/;
  if (!pattern.test(clean)) return null;
  const [whole = '0', fraction = ''] = clean.split('.');
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

/** The publish form: every value a string. */
export interface PublishForm {
  kind: MarketplaceKind;
  /** The project (template) or component published. */
  source_id: string;
  title: string;
  description: string;
  category: string;
  screenshots: string;
  price: string;
  currency: string;
  license: string;
}

export function emptyPublish(): PublishForm {
  return {
    kind: 'template',
    source_id: '',
    title: '',
    description: '',
    category: '',
    screenshots: '',
    price: '0',
    currency: 'EUR',
    license: 'MIT',
  };
}

/** The request of the publish form, or the field errors found before sending it. */
export function publishRequest(
  organizationId: string,
  form: PublishForm,
): { request: NewMarketplaceItem; errors: null } | { request: null; errors: Record<string, string[]> } {
  const errors: Record<string, string[]> = {};
  const currency = form.currency.trim().toUpperCase();
  const price = minorUnits(form.price, currency);
  if (price === null) errors.price = ['Enter an amount such as 19.99, or 0 for free.'];
  const category = form.category.trim();
  if (category && !isCategory(category)) errors.category = ['Use lowercase letters, digits and dashes only.'];
  const screenshots = screenshotList(form.screenshots);
  if (screenshots.some((url) => !url.startsWith('https://'))) errors.screenshots = ['Every screenshot must be an https:// address.'];
  if (!form.source_id) errors[form.kind === 'template' ? 'project_id' : 'component_id'] = [`Choose the ${form.kind === 'template' ? 'project' : 'component'} to publish.`];
  if (Object.keys(errors).length > 0 || price === null) return { request: null, errors };
  const request: NewMarketplaceItem = {
    organization_id: organizationId,
    kind: form.kind,
    title: form.title.trim(),
    description: form.description.trim(),
    category,
    screenshots,
    price,
    currency,
    license: form.license.trim(),
  };
  if (form.kind === 'template') request.project_id = form.source_id;
  else request.component_id = form.source_id;
  return { request, errors: null };
}

/** The first line of a description, for a card (at most `max` characters). */
export function summary(text: string, max = 140): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}
