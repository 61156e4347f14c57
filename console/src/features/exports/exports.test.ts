import { describe, expect, it } from 'vitest';
import type { Export } from '../../lib/types';
import {
  anyActive,
  downloadHref,
  emptyExportForm,
  exportPayload,
  formatLabel,
  isActive,
  progressOf,
  statusText,
  withExport,
} from './exports';

const item = (over: Partial<Export> = {}): Export => ({
  id: 'e1',
  organization_id: 'o',
  project_id: 'p',
  format: 'html',
  status: 'queued',
  progress: 0,
  step: 'queued',
  error: null,
  size: null,
  created_at: '2026-01-01T00:00:00Z',
  finished_at: null,
  ...over,
});

describe('exports', () => {
  it('knows which are still being made', () => {
    expect(isActive(item())).toBe(true);
    expect(isActive(item({ status: 'running' }))).toBe(true);
    expect(isActive(item({ status: 'succeeded' }))).toBe(false);
    expect(anyActive([item({ status: 'failed' }), item({ status: 'running' })])).toBe(true);
    expect(anyActive([item({ status: 'failed' }), item({ status: 'succeeded' })])).toBe(false);
    expect(anyActive([])).toBe(false);
  });

  it('says where an export stands', () => {
    expect(statusText(item())).toBe('Queued');
    expect(statusText(item({ status: 'running', step: 'page about' }))).toBe('Running: page about');
    expect(statusText(item({ status: 'running', step: '' }))).toBe('Running');
    expect(statusText(item({ status: 'failed' }))).toBe('Failed');
    expect(progressOf(item({ status: 'running', progress: 140 }))).toBe(100);
    expect(progressOf(item({ status: 'running', progress: -3 }))).toBe(0);
    expect(progressOf(item({ status: 'succeeded', progress: 90 }))).toBe(100);
  });

  it('names the formats', () => {
    expect(formatLabel('html')).toBe('Static HTML site');
    expect(formatLabel('zip')).toBe('zip');
  });

  it('links the download on this server', () => {
    expect(downloadHref('http://socle.test/api/v1/exports/e1/download?expires=1&signature=abc')).toBe(
      '/api/v1/exports/e1/download?expires=1&signature=abc',
    );
    expect(downloadHref('/api/v1/exports/e1/download?expires=1')).toBe('/api/v1/exports/e1/download?expires=1');
  });

  it('sends the form trimmed, without empty options', () => {
    expect(exportPayload('p', emptyExportForm())).toEqual({ project_id: 'p', format: 'html', options: {} });
    expect(exportPayload('p', { format: 'pwa', baseUrl: ' https://shop.example ', appSlug: 'shop ' })).toEqual({
      project_id: 'p',
      format: 'pwa',
      options: { base_url: 'https://shop.example', app_slug: 'shop' },
    });
  });

  it('puts a new or updated export in the list', () => {
    const list = [item({ id: 'a' }), item({ id: 'b' })];
    expect(withExport(list, item({ id: 'c' })).map((e) => e.id)).toEqual(['c', 'a', 'b']);
    expect(withExport(list, item({ id: 'b', status: 'succeeded' }))[1]?.status).toBe('succeeded');
  });
});
