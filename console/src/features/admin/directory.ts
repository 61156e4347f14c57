// Helpers of the organization and project lists: the filter form as the API's query, labels,
// and the link from an organization to its projects.

import type { AdminProjectFilter } from '../../lib/types';

/** The page lengths offered (the API takes 1 to 200). */
export const PER_PAGE_CHOICES: readonly number[] = [10, 25, 50, 100];
export const DEFAULT_PER_PAGE = 25;

/** The filter form's values: the search as typed, the deleted ones too, the page length. */
export interface DirectoryForm {
  search: string;
  includeDeleted: boolean;
  perPage: string;
}

export function emptyDirectoryForm(): DirectoryForm {
  return { search: '', includeDeleted: false, perPage: String(DEFAULT_PER_PAGE) };
}

/** The form as the API's filter: the search trimmed, empty values and `false` left out. */
export function directoryFilter(form: Pick<DirectoryForm, 'search' | 'includeDeleted'>, organizationId = ''): AdminProjectFilter {
  const filter: AdminProjectFilter = {};
  const search = form.search.trim();
  if (search) filter.search = search;
  if (organizationId.trim()) filter.organization_id = organizationId.trim();
  if (form.includeDeleted) filter.include_deleted = true;
  return filter;
}

/** The page length chosen (the default when none). */
export function perPage(form: Pick<DirectoryForm, 'perPage'>): number {
  const n = Number(form.perPage);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_PER_PAGE;
}

/** The console path of an organization's projects in the Admin area. */
export function organizationProjectsPath(organizationId: string): string {
  return `/admin/projects?organization_id=${encodeURIComponent(organizationId)}`;
}

/** `in_progress` → `In progress`; an unknown status as it is. */
export function projectStatusLabel(status: string): string {
  const labels: Record<string, string> = { planned: 'Planned', in_progress: 'In progress', completed: 'Completed' };
  return labels[status] ?? status;
}

/** An organization's owner, or a word when it has none left. */
export function ownerLabel(email: string | null | undefined): string {
  return email?.trim() || 'No owner';
}

/** Whether the filters show a server error for `field` next to an input (the others go above the list). */
export function isFilterField(field: string): boolean {
  return field === 'search' || field === 'per_page';
}
