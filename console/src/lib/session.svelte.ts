// The signed-in builder's session and the chosen organization, as reactive state.

import { Api, localStore } from './api';
import { SESSION_KEYS } from './storageKeys';
import type { Organization, User } from './types';

export const api = new Api(localStore());

const ORG_KEY = 'socle.console.organization';

class Session {
  signedIn = $state(api.signedIn);
  organizations = $state<Organization[]>([]);
  organizationId = $state<string | null>(localStorage.getItem(ORG_KEY));
  /** The signed-in builder's profile (its platform `role` shows the Admin area), once loaded. */
  user = $state<User | null>(null);

  constructor() {
    api.onSessionChange((signedIn) => {
      this.signedIn = signedIn;
      if (!signedIn) {
        this.organizations = [];
        this.user = null;
        for (const key of SESSION_KEYS) localStorage.removeItem(key);
      }
    });
  }

  get organization(): Organization | null {
    return this.organizations.find((o) => o.id === this.organizationId) ?? null;
  }

  /** Load the organizations and keep the chosen one if it is still there. */
  async loadOrganizations(): Promise<void> {
    const page = await api.organizations();
    this.organizations = page.items;
    if (!this.organization) this.choose(page.items[0]?.id ?? null);
  }

  /** Load the builder's profile. */
  async loadUser(): Promise<void> {
    this.user = await api.me();
  }

  /** Whether the builder is a platform administrator (as of the last profile loaded). */
  get isAdmin(): boolean {
    return this.user?.role === 'admin';
  }

  choose(id: string | null) {
    this.organizationId = id;
    if (id) localStorage.setItem(ORG_KEY, id);
    else localStorage.removeItem(ORG_KEY);
  }
}

export const session = new Session();
