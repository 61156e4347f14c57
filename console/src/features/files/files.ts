// An organization's files for people: their kinds, sizes and links on this server, the
// filter the list sends, who may delete one, and the list kept up to date after a change.

import type { FileFilter, OrgRole, PlatformFile } from '../../lib/types';
import { downloadHref } from '../exports/exports';
import { bytes } from '../organizations/billing';
import { canManage } from '../organizations/roles';

export { bytes };

/** How many files a page of the list shows. */
export const FILES_PER_PAGE = 24;

/**
 * A link the API made (it starts with the server's public URL) as a path on this server, for
 * the console's own use: thumbnails and previews (the console's CSP allows images from itself
 * only), and links that open here whatever name the server is reached under.
 */
export function localHref(url: string): string {
  return downloadHref(url);
}

const SHORT_TYPES: Record<string, string> = {
  'image/svg+xml': 'SVG',
  'image/jpeg': 'JPEG',
  'text/plain': 'Text',
  'audio/mpeg': 'MP3',
  'application/json': 'JSON',
  'application/pdf': 'PDF',
};

/** `image/png` → `PNG`, `application/pdf` → `PDF`, `text/plain` → `Text`. */
export function typeLabel(mime: string): string {
  const known = SHORT_TYPES[mime];
  if (known) return known;
  const sub = mime.split('/')[1] ?? mime;
  return (sub.split(/[+;.-]/)[0] || mime).toUpperCase();
}

/** Whether the server shows the file as an image (it has a thumbnail). */
export function isImage(file: Pick<PlatformFile, 'mime' | 'thumb_url'>): boolean {
  return file.thumb_url !== null && file.thumb_url !== undefined && file.mime.startsWith('image/');
}

/** `PNG · 640 × 480 px · 12.5 KB`. */
export function fileFacts(file: Pick<PlatformFile, 'mime' | 'size' | 'width' | 'height'>): string {
  const parts = [typeLabel(file.mime)];
  if (file.width && file.height) parts.push(`${file.width} × ${file.height} px`);
  parts.push(bytes(file.size));
  return parts.join(' · ');
}

/** The list's query: the search trimmed, images only as the `image/` family. */
export function fileFilter(search: string, imagesOnly: boolean): FileFilter {
  const filter: FileFilter = {};
  const q = search.trim();
  if (q) filter.q = q;
  if (imagesOnly) filter.mime = 'image/';
  return filter;
}

/** Whether the builder may delete the file: its uploader, or an OWNER or ADMIN of the organization. */
export function canDelete(file: Pick<PlatformFile, 'created_by'>, userId: string | null | undefined, role: OrgRole | null | undefined): boolean {
  return (userId !== null && userId !== undefined && file.created_by === userId) || canManage(role);
}

/** Why a new name is refused before asking the server ('' when it is fine). */
export function nameProblem(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) return 'Enter a name.';
  if ([...trimmed].length > 200) return 'A name is at most 200 characters.';
  if (/[/\u0000-\u001f\u007f]/.test(trimmed)) return 'A name has no “/” and no control characters.';
  return '';
}

/** The list with `file` in place of the one of the same id. */
export function withFile(items: PlatformFile[], file: PlatformFile): PlatformFile[] {
  return items.map((f) => (f.id === file.id ? file : f));
}

/** The list without the file `id`. */
export function withoutFile(items: PlatformFile[], id: string): PlatformFile[] {
  return items.filter((f) => f.id !== id);
}

/** The files of a drop or of a file input, as an array (none for a drop of text). */
export function chosenFiles(list: FileList | File[] | null | undefined): File[] {
  return list ? Array.from(list) : [];
}

/** A refused upload's message under the input, naming the file when several were sent. */
export function uploadProblem(fileName: string, messages: string[], several: boolean): string {
  const text = messages.join('; ');
  return several ? `${fileName}: ${text}` : text;
}

/** `Uploaded logo.png.` / `Uploaded 3 files.` ('' for none). */
export function uploadedMessage(names: string[]): string {
  if (names.length === 0) return '';
  return names.length === 1 ? `Uploaded ${names[0]}.` : `Uploaded ${names.length} files.`;
}

/** The props of the page's components that show an image: picked from the organization's files. */
const IMAGE_PROPS: Record<string, readonly string[]> = { image: ['src'], card: ['image'] };

/** Whether a component's prop is an image address the file picker can fill. */
export function picksImage(componentType: string, propName: string): boolean {
  return IMAGE_PROPS[componentType]?.includes(propName) ?? false;
}
