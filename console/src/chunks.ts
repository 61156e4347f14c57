// The screens loaded on demand (App.svelte draws them through lib/components/Lazy.svelte), each
// group a chunk of its own: the first screens (sign-in, the projects) load none of them. The
// page and workflow editors (with Yjs and SortableJS), and Chart.js, are chunks of their own too.
import { chunk } from './lib/lazy';

/** The public screens the emails' links open, sign-up and the OAuth2 return. */
export const authScreens = chunk(() => import('./features/auth/screens'));
/** The organizations, members, API keys and invitations. */
export const organizationScreens = chunk(() => import('./features/organizations/screens'));
export const billingScreen = chunk(() => import('./features/organizations/Billing.svelte'));
export const filesScreen = chunk(() => import('./features/files/Files.svelte'));
/** An organization's components: the list and the component editor (with the canvas's drawing). */
export const componentScreens = chunk(() => import('./features/components/screens'));
export const verificationScreen = chunk(() => import('./features/verification/OrgVerification.svelte'));
/** Profile and Security. */
export const accountScreens = chunk(() => import('./features/account/screens'));
/** A project's collections, the collection editor and the migration history. */
export const collectionScreens = chunk(() => import('./features/collections/screens'));
export const appsScreen = chunk(() => import('./features/apps/AppList.svelte'));
export const pagesScreen = chunk(() => import('./features/pages/PagesList.svelte'));
export const exportsScreen = chunk(() => import('./features/exports/Exports.svelte'));
export const sharingScreen = chunk(() => import('./features/sharing/Sharing.svelte'));
export const workflowsScreen = chunk(() => import('./features/workflows/Workflows.svelte'));
export const recordsScreen = chunk(() => import('./features/records/RecordsBrowser.svelte'));
export const pageEditor = chunk(() => import('./features/pages/PageEditor.svelte'));
export const workflowEditor = chunk(() => import('./features/workflows/WorkflowEditor.svelte'));
/** The Admin area, every section. */
export const adminArea = chunk(() => import('./features/admin/AdminArea.svelte'));
/** Browse, an item, publish, the seller's sales. */
export const marketplaceScreens = chunk(() => import('./features/marketplace/screens'));
