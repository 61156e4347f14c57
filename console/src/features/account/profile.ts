// The builder's own profile: what a change sends, and the new password checked before it goes.

import type { Profile, ProfileUpdate } from '../../lib/types';

export interface NameForm {
  first_name: string;
  last_name: string;
}

/** The names as the form starts with them. */
export function nameForm(profile: Pick<Profile, 'first_name' | 'last_name'>): NameForm {
  return { first_name: profile.first_name, last_name: profile.last_name };
}

/** Only what changed, trimmed (an empty update when nothing did). */
export function profileUpdate(form: NameForm, current: Pick<Profile, 'first_name' | 'last_name'>): ProfileUpdate {
  const update: ProfileUpdate = {};
  const first = form.first_name.trim();
  const last = form.last_name.trim();
  if (first !== current.first_name) update.first_name = first;
  if (last !== current.last_name) update.last_name = last;
  return update;
}

/** Why the new password cannot be sent yet, by field ('' for none); the server checks its strength. */
export function passwordProblems(current: string, next: string, again: string): { current_password?: string; new_password?: string; again?: string } {
  const problems: { current_password?: string; new_password?: string; again?: string } = {};
  if (!current) problems.current_password = 'Enter your current password.';
  if (!next) problems.new_password = 'Choose a new password.';
  else if (next === current) problems.new_password = 'The new password must differ from the current one.';
  if (next && again !== next) problems.again = 'The two new passwords differ.';
  return problems;
}

/** `Ada Lovelace`, or the address when no name is given. */
export function displayName(profile: Pick<Profile, 'first_name' | 'last_name' | 'email'>): string {
  return `${profile.first_name} ${profile.last_name}`.trim() || profile.email;
}
