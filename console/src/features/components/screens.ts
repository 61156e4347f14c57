// An organization's components, a chunk of their own (src/chunks.ts): the list and the editor.
export { default as Components } from './Components.svelte';
export { default as ComponentEditor } from './ComponentEditor.svelte';
