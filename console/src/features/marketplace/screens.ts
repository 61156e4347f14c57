// The marketplace's screens, a chunk of their own (src/chunks.ts).
export { default as Browse } from './Browse.svelte';
export { default as ItemPage } from './ItemPage.svelte';
export { default as Publish } from './Publish.svelte';
export { default as Seller } from './Seller.svelte';
