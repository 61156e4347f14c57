// The organization's reusable components, which a page's `component` nodes place: loaded
// once for the open page editor (the props panel picks among them and edits the props each
// declares; the canvas names them), and again on demand (one created meanwhile).

import { api } from '../../lib/session.svelte';
import type { StudioComponent } from '../../lib/types';

class OrganizationComponents {
  /** Whose components these are ('' before the first load). */
  organizationId = '';
  list = $state.raw<StudioComponent[] | null>(null);
  error = $state<unknown>(null);
  private loading: Promise<void> | null = null;

  /** Load the components of `organizationId`, unless they are loaded (or loading) already; `again`: read them anew. */
  load(organizationId: string, again = false): Promise<void> {
    if (!organizationId) return Promise.resolve();
    if (organizationId === this.organizationId && !again && (this.list || this.loading)) return this.loading ?? Promise.resolve();
    if (organizationId !== this.organizationId) this.list = null;
    this.organizationId = organizationId;
    this.error = null;
    const loading = api
      .components(organizationId)
      .then((list) => {
        if (this.organizationId === organizationId) this.list = list;
      })
      .catch((e: unknown) => {
        if (this.organizationId === organizationId) this.error = e;
      })
      .finally(() => {
        if (this.loading === loading) this.loading = null;
      });
    this.loading = loading;
    return loading;
  }
}

export const organizationComponents = new OrganizationComponents();
