// A project's exports for people: their formats, where they stand, the request to send, and
// the download link.

import type { Export, ExportFormat, NewExport } from '../../lib/types';
import { EXPORT_FORMATS } from '../../lib/types';

const FORMAT_LABELS: Record<ExportFormat, string> = {
  html: 'Static HTML site',
  pwa: 'Progressive web app (installable, works offline)',
  react: 'React app',
  flutter: 'Flutter app',
};

/** The formats as select options. */
export const FORMAT_OPTIONS = EXPORT_FORMATS.map((value) => ({ value, label: FORMAT_LABELS[value] }));

/** `pwa` → `Progressive web app (…)`; an unknown format keeps its name. */
export function formatLabel(format: string): string {
  return (FORMAT_LABELS as Record<string, string>)[format] ?? format;
}

/** Whether the job queue is still making it (the list is then polled). */
export function isActive(item: Pick<Export, 'status'>): boolean {
  return item.status === 'queued' || item.status === 'running';
}

/** Whether any export of the list is still being made. */
export function anyActive(items: ReadonlyArray<Pick<Export, 'status'>>): boolean {
  return items.some(isActive);
}

/** Where an export stands, in words: `Queued`, `Running: page about`, `Succeeded`, `Failed`. */
export function statusText(item: Pick<Export, 'status' | 'step'>): string {
  switch (item.status) {
    case 'queued':
      return 'Queued';
    case 'running':
      return item.step && item.step !== 'queued' ? `Running: ${item.step}` : 'Running';
    case 'succeeded':
      return 'Succeeded';
    case 'failed':
      return 'Failed';
    default:
      return String(item.status);
  }
}

/** The progress clamped to 0–100 (a succeeded export is complete whatever it says). */
export function progressOf(item: Pick<Export, 'status' | 'progress'>): number {
  if (item.status === 'succeeded') return 100;
  return Math.min(100, Math.max(0, Math.round(item.progress || 0)));
}

/**
 * The download link relative to this server: the API writes its public URL into the link,
 * and the console is served by the same server, which may be reached under another name
 * (a local address, a proxy). An unparsable link is kept as given.
 */
export function downloadHref(url: string): string {
  try {
    const parsed = new URL(url, 'http://relative.invalid');
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

/** What the form holds. */
export interface ExportForm {
  format: ExportFormat;
  baseUrl: string;
  appSlug: string;
}

export function emptyExportForm(): ExportForm {
  return { format: 'html', baseUrl: '', appSlug: '' };
}

/** The request for the form: trimmed, empty options left out. */
export function exportPayload(projectId: string, form: ExportForm): NewExport {
  const options: NewExport['options'] = {};
  const baseUrl = form.baseUrl.trim();
  const appSlug = form.appSlug.trim();
  if (baseUrl) options.base_url = baseUrl;
  if (appSlug) options.app_slug = appSlug;
  return { project_id: projectId, format: form.format, options };
}

/** The list with `updated` in place of the export of the same id (first when new). */
export function withExport(items: Export[], updated: Export): Export[] {
  return items.some((e) => e.id === updated.id) ? items.map((e) => (e.id === updated.id ? updated : e)) : [updated, ...items];
}
