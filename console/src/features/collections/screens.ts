// A project's collections and the collection editor, a chunk of their own (src/chunks.ts).
export { default as CollectionList } from './CollectionList.svelte';
export { default as CollectionEditor } from './CollectionEditor.svelte';
