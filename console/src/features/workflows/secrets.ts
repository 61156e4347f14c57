// A project's workflow secrets: the rule of their names (the server's), how steps refer to
// them, and the list once one is set or deleted.

import type { SecretInfo } from '../../lib/types';

/** The longest name the server accepts. */
export const MAX_SECRET_NAME = 64;
/** The largest value the server accepts, in bytes (UTF-8). */
export const MAX_SECRET_VALUE = 8 * 1024;

/** Why a secret name is refused ('' when it is fine): capitals, digits and `_`, starting with a letter. */
export function secretNameProblem(name: string): string {
  if (name === '') return 'Give the secret a name.';
  if (name.length > MAX_SECRET_NAME || !/^[A-Z][A-Z0-9_]*$/.test(name)) {
    return `A secret name is capitals, digits and _, starting with a letter (up to ${MAX_SECRET_NAME}), e.g. API_KEY.`;
  }
  return '';
}

/** Why a value is refused ('' when it is fine): 1 to 8 KiB. */
export function secretValueProblem(value: string): string {
  if (value === '') return 'Enter the value.';
  if (new TextEncoder().encode(value).length > MAX_SECRET_VALUE) return `A value is at most ${MAX_SECRET_VALUE} bytes.`;
  return '';
}

/** How a step's settings refer to the secret. */
export function secretReference(name: string): string {
  return `{{ secrets.${name} }}`;
}

/** The list with `saved` in it (replacing the one of the same name), sorted by name. */
export function withSecret(list: readonly SecretInfo[], saved: SecretInfo): SecretInfo[] {
  return [...list.filter((s) => s.name !== saved.name), saved].sort((a, b) => a.name.localeCompare(b.name));
}
