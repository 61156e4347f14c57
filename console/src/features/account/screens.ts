// The account's screens, a chunk of their own (src/chunks.ts).
export { default as Profile } from './Profile.svelte';
export { default as Security } from './Security.svelte';
