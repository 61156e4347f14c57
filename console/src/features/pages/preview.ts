// Reading a node's props for the canvas: its texts, numbers and style tokens.

import type { Json, ViewNode } from '../../lib/yjsPage';

export function text(node: ViewNode, name: string): string {
  const value = node.props[name];
  return typeof value === 'string' ? value : '';
}

export function int(node: ViewNode, name: string, fallback: number, min: number, max: number): number {
  const value = node.props[name];
  return typeof value === 'number' && Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

export function strings(node: ViewNode, name: string): string[] {
  const value = node.props[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function links(node: ViewNode): { label: string; href: string }[] {
  const value = node.props.links;
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: Json) =>
    item && typeof item === 'object' && !Array.isArray(item) && typeof item.label === 'string'
      ? [{ label: item.label, href: typeof item.href === 'string' ? item.href : '#' }]
      : [],
  );
}

/** A color prop: a theme token (styled by the canvas) or a #hex value (set as is). */
export function color(node: ViewNode, name: string): { token?: string; hex?: string } {
  const value = text(node, name);
  if (/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(value)) return { hex: value };
  return value ? { token: value } : {};
}

/** What the layers show for a node: its name, else its text, else nothing. */
export function summary(node: ViewNode): string {
  const words = node.name || text(node, 'text') || text(node, 'label') || text(node, 'title') || text(node, 'collection');
  return words.length > 40 ? `${words.slice(0, 39)}…` : words;
}
