// A project's collections, the collection editor and the migration history, a chunk of their
// own (src/chunks.ts).
export { default as CollectionList } from './CollectionList.svelte';
export { default as CollectionEditor } from './CollectionEditor.svelte';
export { default as Migrations } from './Migrations.svelte';
