// Keyboard and screen-reader users land on what needs fixing after a refused form.

import { tick } from 'svelte';

/** Once the errors are shown, focus the form's first invalid input. */
export async function focusFirstInvalid(form: HTMLFormElement | null): Promise<void> {
  await tick();
  form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}
