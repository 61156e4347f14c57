// The organizations' screens, a chunk of their own (src/chunks.ts); Billing is another.
export { default as Organizations } from './Organizations.svelte';
export { default as AcceptInvitation } from './AcceptInvitation.svelte';
export { default as Members } from './Members.svelte';
export { default as ApiKeys } from './ApiKeys.svelte';
