// Helpers of the Apps list (every app on the platform): the filter as the API's query, the
// deployment state for people, the links to an app's screen and to an organization's apps.

import type { AdminApp, AdminAppFilter } from '../../lib/types';
import type { DirectoryForm } from './directory';

/** The form and the address's organization or project as the API's filter: trimmed, empty values left out. */
export function appFilter(form: Pick<DirectoryForm, 'search'>, organizationId = '', projectId = ''): AdminAppFilter {
  const filter: AdminAppFilter = {};
  const search = form.search.trim();
  if (search) filter.search = search;
  if (organizationId.trim()) filter.organization_id = organizationId.trim();
  if (projectId.trim()) filter.project_id = projectId.trim();
  return filter;
}

/** The console path of the app's screen: its project's apps. */
export function appScreenPath(app: Pick<AdminApp, 'project_id'>): string {
  return `/projects/${encodeURIComponent(app.project_id)}/apps`;
}

/** The console path of an organization's apps in the Admin area. */
export function organizationAppsPath(organizationId: string): string {
  return `/admin/apps?organization_id=${encodeURIComponent(organizationId)}`;
}

/** The deployment being served (`Deployment 2`), or `Not deployed` before the first deploy. */
export function liveDeployment(app: Pick<AdminApp, 'current_deployment'>): string {
  return app.current_deployment === null ? 'Not deployed' : `Deployment ${app.current_deployment}`;
}
