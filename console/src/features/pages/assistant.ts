// What the assistant generated, for people: how many components a page document holds.

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The components of a page document: every node under the page itself, nested ones included. */
export function countComponents(document: unknown): number {
  if (!isObject(document) || !Array.isArray(document.children)) return 0;
  return document.children.reduce<number>((sum, child) => sum + (isObject(child) ? 1 + countComponents(child) : 0), 0);
}

/** The types of the page's top-level components, in order (`heading, text, section`). */
export function topLevelTypes(document: unknown): string[] {
  if (!isObject(document) || !Array.isArray(document.children)) return [];
  return document.children.flatMap((child) => (isObject(child) && typeof child.type === 'string' ? [child.type] : []));
}
