// The sections of an organization (its tabs), the screens that show them, and their paths.

export type OrgSection = 'members' | 'apiKeys' | 'billing' | 'files' | 'components' | 'verification';

const SECTIONS: Record<string, OrgSection> = {
  orgMembers: 'members',
  orgApiKeys: 'apiKeys',
  orgBilling: 'billing',
  orgFiles: 'files',
  orgComponents: 'components',
  orgComponentNew: 'components',
  orgComponent: 'components',
  orgVerification: 'verification',
};

/** The last segment of each section's path. */
const SEGMENTS: Record<OrgSection, string> = {
  members: 'members',
  apiKeys: 'api-keys',
  billing: 'billing',
  files: 'files',
  components: 'components',
  verification: 'verification',
};

/** The section a route shows under the organization's tabs, or null for other screens. */
export function orgSection(routeName: string): OrgSection | null {
  return SECTIONS[routeName] ?? null;
}

/** The path of an organization's section (`/organizations/o1/api-keys`). */
export function orgSectionPath(organizationId: string, section: OrgSection): string {
  return `/organizations/${encodeURIComponent(organizationId)}/${SEGMENTS[section]}`;
}

/**
 * The path of the same section of another organization, when `path` is one of an
 * organization's sections or a screen under one (a component's editor: the other's list).
 */
export function sameSectionOf(path: string, organizationId: string): string | null {
  const segment = /^\/organizations\/[^/]+\/([^/]+)(?:\/[^/]+)?$/.exec(path)?.[1];
  const section = (Object.keys(SEGMENTS) as OrgSection[]).find((s) => SEGMENTS[s] === segment);
  return section && organizationId ? orgSectionPath(organizationId, section) : null;
}
