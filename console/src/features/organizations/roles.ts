// Roles in an organization: their names for people, and who may grant which.

import type { Member, OrgRole } from '../../lib/types';

/** Roles an invitation can carry (an OWNER is made from a member, never invited). */
export const INVITABLE_ROLES: readonly OrgRole[] = ['MEMBER', 'ADMIN'];

/** `ADMIN` → `Admin` ('' for none). */
export function roleName(role: string | null | undefined): string {
  return role ? role.charAt(0) + role.slice(1).toLowerCase() : '';
}

/** Whether a role manages members, invitations and API keys (OWNER and ADMIN). */
export function canManage(role: OrgRole | null | undefined): boolean {
  return role === 'OWNER' || role === 'ADMIN';
}

/** Whether a role makes, edits and deletes the organization's components: every member's does. */
export function canEditComponents(role: OrgRole | null | undefined): boolean {
  return role === 'MEMBER' || canManage(role);
}

/** The roles `mine` may give (a member's role, an API key's): OWNER only by an OWNER. */
export function grantableRoles(mine: OrgRole | null | undefined): OrgRole[] {
  if (mine === 'OWNER') return ['MEMBER', 'ADMIN', 'OWNER'];
  if (mine === 'ADMIN') return ['MEMBER', 'ADMIN'];
  return [];
}

/** Whether `mine` may change the role of, or remove, a member who has `theirs`. */
export function canActOn(mine: OrgRole | null | undefined, theirs: OrgRole): boolean {
  return canManage(mine) && (theirs !== 'OWNER' || mine === 'OWNER');
}

/** The member's name, or their address when they gave none. */
export function memberName(member: Pick<Member, 'first_name' | 'last_name' | 'email'>): string {
  return `${member.first_name} ${member.last_name}`.trim() || member.email;
}
