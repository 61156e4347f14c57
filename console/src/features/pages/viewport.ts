// The canvas's preview widths: as wide as the editor leaves it, or a desktop, tablet or phone
// screen's width (the canvas scrolls sideways when the screen is wider than it).

export const VIEWPORTS = [
  { name: 'fit', label: 'Fit', width: null },
  { name: 'desktop', label: 'Desktop', width: 1280 },
  { name: 'tablet', label: 'Tablet', width: 768 },
  { name: 'phone', label: 'Phone', width: 375 },
] as const;

export type Viewport = (typeof VIEWPORTS)[number];
export type ViewportName = Viewport['name'];

/** Where the last choice is kept (the editor opens with it). */
export const VIEWPORT_KEY = 'socle.console.previewWidth';

/** The viewport of a kept name; Fit for anything else. */
export function viewportOf(name: string | null | undefined): Viewport {
  return VIEWPORTS.find((v) => v.name === name) ?? VIEWPORTS[0];
}

/** How the choice is described: `Tablet, 768 px wide` or `Fit to the editor`. */
export function viewportDescription(viewport: Viewport): string {
  return viewport.width === null ? 'Fit to the editor' : `${viewport.label}, ${viewport.width} px wide`;
}
