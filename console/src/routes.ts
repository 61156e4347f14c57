// Every screen of the console and its path under /console.
import type { RouteDef } from './lib/paths';

export const ROUTES = [
  { name: 'home', pattern: '/' },
  { name: 'signin', pattern: '/signin' },
  { name: 'signup', pattern: '/signup' },
  { name: 'activate', pattern: '/activate' },
  { name: 'forgotPassword', pattern: '/forgot-password' },
  { name: 'resetPassword', pattern: '/reset-password' },
  { name: 'confirmEmail', pattern: '/confirm-email' },
  { name: 'oauthCallback', pattern: '/oauth2/callback' },
  { name: 'acceptInvitation', pattern: '/invitations/accept' },
  { name: 'organizations', pattern: '/organizations' },
  { name: 'orgMembers', pattern: '/organizations/:orgId/members' },
  { name: 'orgApiKeys', pattern: '/organizations/:orgId/api-keys' },
  { name: 'orgBilling', pattern: '/organizations/:orgId/billing' },
  { name: 'orgFiles', pattern: '/organizations/:orgId/files' },
  { name: 'orgComponents', pattern: '/organizations/:orgId/components' },
  // The fixed path before the component's, which would match it too.
  { name: 'orgComponentNew', pattern: '/organizations/:orgId/components/new' },
  { name: 'orgComponent', pattern: '/organizations/:orgId/components/:componentId' },
  { name: 'orgVerification', pattern: '/organizations/:orgId/verification' },
  { name: 'accountSecurity', pattern: '/account/security' },
  { name: 'accountProfile', pattern: '/account/profile' },
  { name: 'projects', pattern: '/projects' },
  { name: 'project', pattern: '/projects/:id' },
  { name: 'projectApps', pattern: '/projects/:id/apps' },
  { name: 'projectPages', pattern: '/projects/:id/pages' },
  { name: 'projectWorkflows', pattern: '/projects/:id/workflows' },
  // The fixed path before the workflow's, which would match it too.
  { name: 'workflowNew', pattern: '/projects/:id/workflows/new' },
  { name: 'workflow', pattern: '/projects/:id/workflows/:workflowId' },
  { name: 'projectExports', pattern: '/projects/:id/exports' },
  { name: 'projectSharing', pattern: '/projects/:id/sharing' },
  { name: 'pageEditor', pattern: '/projects/:id/pages/:pageId' },
  // Not under collections/, where a collection named `migrations` would be.
  { name: 'projectMigrations', pattern: '/projects/:id/migrations' },
  { name: 'collectionNew', pattern: '/projects/:id/collections/new' },
  { name: 'collection', pattern: '/projects/:id/collections/:name' },
  { name: 'admin', pattern: '/admin' },
  { name: 'adminUsers', pattern: '/admin/users' },
  { name: 'adminOrganizations', pattern: '/admin/organizations' },
  { name: 'adminProjects', pattern: '/admin/projects' },
  { name: 'adminAudit', pattern: '/admin/audit' },
  { name: 'adminJobs', pattern: '/admin/jobs' },
  { name: 'adminEmails', pattern: '/admin/emails' },
  { name: 'adminInvoices', pattern: '/admin/invoices' },
  { name: 'adminRevenue', pattern: '/admin/revenue' },
  { name: 'adminMarketplace', pattern: '/admin/marketplace' },
  { name: 'adminVerifications', pattern: '/admin/verifications' },
  { name: 'adminNotifications', pattern: '/admin/notifications' },
  { name: 'adminReplays', pattern: '/admin/replays' },
  { name: 'adminApps', pattern: '/admin/apps' },
  // The fixed paths before the item's, which would match them too.
  { name: 'marketplace', pattern: '/marketplace' },
  { name: 'marketplacePublish', pattern: '/marketplace/publish' },
  { name: 'marketplaceSeller', pattern: '/marketplace/seller' },
  { name: 'marketplaceItem', pattern: '/marketplace/:itemId' },
  { name: 'records', pattern: '/apps/:appId/records' },
  { name: 'recordsOf', pattern: '/apps/:appId/records/:collection' },
] as const satisfies readonly RouteDef[];

/** Screens open without signing in (the emails' links lead to some of them). */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['signin', 'signup', 'activate', 'forgotPassword', 'resetPassword', 'confirmEmail', 'oauthCallback']);

/** Public screens a signed-in builder has no use for: they lead on to the console. */
export const GUEST_ROUTES: ReadonlySet<string> = new Set(['signin', 'signup']);
