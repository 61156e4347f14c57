// Server field errors by input: the messages of one field, of a nested part, and those no
// input shows (so that no message of the server is lost).

import type { FieldErrors } from './api';

/** The messages for `field`, joined into one sentence ('' when none). */
export function messageFor(errors: FieldErrors, field: string): string {
  return (errors[field] ?? []).join('; ');
}

/** The errors under `prefix.` with the prefix removed (`fields.2.name` → `2.name`). */
export function errorsUnder(errors: FieldErrors, prefix: string): FieldErrors {
  const out: FieldErrors = {};
  const start = `${prefix}.`;
  for (const [field, messages] of Object.entries(errors)) {
    if (field.startsWith(start)) out[field.slice(start.length)] = messages;
  }
  return out;
}

/** Messages for fields no input shows, so that no server message is lost. */
export function unplacedMessages(errors: FieldErrors, shown: (field: string) => boolean): string[] {
  return Object.entries(errors)
    .filter(([field]) => !shown(field))
    .flatMap(([field, messages]) => messages.map((m) => `${field}: ${m}`));
}
