// Saving what the API answered (a PDF, a CSV) as a file: a Blob URL opened by a link, then let go.

/** Save `blob` under `name`. */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Save `text` under `name` (CSV by default). */
export function downloadText(text: string, name: string, type = 'text/csv;charset=utf-8'): void {
  downloadBlob(new Blob([text], { type }), name);
}
