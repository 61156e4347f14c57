import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PER_PAGE,
  directoryFilter,
  emptyDirectoryForm,
  isFilterField,
  organizationProjectsPath,
  ownerLabel,
  perPage,
  projectStatusLabel,
} from './directory';
import { queryString } from '../../lib/api';

describe('the organization and project lists', () => {
  it('keeps the filled-in filters, trimmed', () => {
    expect(directoryFilter(emptyDirectoryForm())).toEqual({});
    expect(directoryFilter({ search: '  acme ', includeDeleted: true })).toEqual({ search: 'acme', include_deleted: true });
    expect(directoryFilter({ search: ' ', includeDeleted: false }, ' o1 ')).toEqual({ organization_id: 'o1' });
  });

  it('builds the query the API reads', () => {
    const filter = directoryFilter({ search: 'Acme & co', includeDeleted: true }, 'o 1');
    expect(queryString({ ...filter, page: 2, per_page: 50 })).toBe('?search=Acme+%26+co&organization_id=o+1&include_deleted=true&page=2&per_page=50');
    expect(queryString({ ...directoryFilter(emptyDirectoryForm()), page: 1, per_page: perPage(emptyDirectoryForm()) })).toBe(
      `?page=1&per_page=${DEFAULT_PER_PAGE}`,
    );
  });

  it('reads the page length', () => {
    expect(perPage({ perPage: '100' })).toBe(100);
    expect(perPage({ perPage: '' })).toBe(DEFAULT_PER_PAGE);
    expect(perPage({ perPage: 'x' })).toBe(DEFAULT_PER_PAGE);
  });

  it('links an organization to its projects', () => {
    expect(organizationProjectsPath('o1')).toBe('/admin/projects?organization_id=o1');
    expect(organizationProjectsPath('a/b c')).toBe('/admin/projects?organization_id=a%2Fb%20c');
  });

  it('labels statuses and owners', () => {
    expect(projectStatusLabel('in_progress')).toBe('In progress');
    expect(projectStatusLabel('planned')).toBe('Planned');
    expect(projectStatusLabel('completed')).toBe('Completed');
    expect(projectStatusLabel('archived')).toBe('archived');
    expect(ownerLabel('ada@example.com')).toBe('ada@example.com');
    expect(ownerLabel(null)).toBe('No owner');
  });

  it('places the errors of the filters next to them', () => {
    expect(['search', 'per_page', 'page'].filter(isFilterField)).toEqual(['search', 'per_page']);
  });
});
