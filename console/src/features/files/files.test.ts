import { describe, expect, it } from 'vitest';
import type { PlatformFile } from '../../lib/types';
import {
  canDelete,
  chosenFiles,
  fileFacts,
  fileFilter,
  isImage,
  localHref,
  nameProblem,
  picksImage,
  typeLabel,
  uploadProblem,
  uploadedMessage,
  withFile,
  withoutFile,
} from './files';

const file = (over: Partial<PlatformFile> = {}): PlatformFile => ({
  id: 'f1',
  organization_id: 'o1',
  name: 'logo.png',
  mime: 'image/png',
  size: 12_800,
  width: 640,
  height: 480,
  public: false,
  created_by: 'u1',
  created_at: '2026-01-01T00:00:00Z',
  url: 'http://socle.test/api/v1/files/f1/content?by=u1&expires=1&signature=s',
  thumb_url: 'http://socle.test/api/v1/files/f1/content?by=u1&expires=1&signature=s&thumb=200x200',
  ...over,
});

describe('files', () => {
  it('links thumbnails and files on this server', () => {
    expect(localHref(file().thumb_url ?? '')).toBe('/api/v1/files/f1/content?by=u1&expires=1&signature=s&thumb=200x200');
    expect(localHref('http://socle.test/api/v1/files/f2/content')).toBe('/api/v1/files/f2/content');
  });

  it('names types and facts for people', () => {
    expect(typeLabel('image/png')).toBe('PNG');
    expect(typeLabel('image/svg+xml')).toBe('SVG');
    expect(typeLabel('application/pdf')).toBe('PDF');
    expect(typeLabel('text/plain')).toBe('Text');
    expect(typeLabel('video/mp4')).toBe('MP4');
    expect(fileFacts(file())).toBe('PNG · 640 × 480 px · 12.5 KB');
    expect(fileFacts(file({ mime: 'application/pdf', width: null, height: null, size: 2048 }))).toBe('PDF · 2 KB');
  });

  it('knows which files are shown as images', () => {
    expect(isImage(file())).toBe(true);
    expect(isImage(file({ mime: 'image/svg+xml', thumb_url: null }))).toBe(false);
    expect(isImage(file({ mime: 'application/pdf', thumb_url: null }))).toBe(false);
  });

  it('sends the search trimmed and images as a family', () => {
    expect(fileFilter('', false)).toEqual({});
    expect(fileFilter('  logo ', true)).toEqual({ q: 'logo', mime: 'image/' });
  });

  it('lets the uploader and the managers delete', () => {
    expect(canDelete(file(), 'u1', 'MEMBER')).toBe(true);
    expect(canDelete(file(), 'u2', 'MEMBER')).toBe(false);
    expect(canDelete(file(), 'u2', 'ADMIN')).toBe(true);
    expect(canDelete(file(), 'u2', 'OWNER')).toBe(true);
    expect(canDelete(file(), null, null)).toBe(false);
  });

  it('checks a new name before sending it', () => {
    expect(nameProblem('cover.png')).toBe('');
    expect(nameProblem('   ')).toBe('Enter a name.');
    expect(nameProblem('a/b.png')).toContain('/');
    expect(nameProblem('x'.repeat(201))).toContain('200');
  });

  it('keeps the list up to date', () => {
    const list = [file(), file({ id: 'f2', name: 'b.pdf' })];
    expect(withFile(list, file({ id: 'f2', name: 'c.pdf' }))[1]?.name).toBe('c.pdf');
    expect(withoutFile(list, 'f1').map((f) => f.id)).toEqual(['f2']);
  });

  it('reads chosen files and words the outcome', () => {
    const a = new File(['a'], 'a.png');
    expect(chosenFiles(null)).toEqual([]);
    expect(chosenFiles([a])).toEqual([a]);
    expect(uploadProblem('a.exe', ['not accepted', 'too large'], false)).toBe('not accepted; too large');
    expect(uploadProblem('a.exe', ['not accepted'], true)).toBe('a.exe: not accepted');
    expect(uploadedMessage([])).toBe('');
    expect(uploadedMessage(['a.png'])).toBe('Uploaded a.png.');
    expect(uploadedMessage(['a.png', 'b.png'])).toBe('Uploaded 2 files.');
  });

  it("offers the file picker for the components' images", () => {
    expect(picksImage('image', 'src')).toBe(true);
    expect(picksImage('card', 'image')).toBe(true);
    expect(picksImage('image', 'alt')).toBe(false);
    expect(picksImage('embed', 'url')).toBe(false);
  });
});
