/** A Content-Disposition for a download: an ASCII fallback name plus the exact UTF-8 name (RFC 6266 / 8187). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** Headers of a decrypted file sent as a download: never rendered by the browser, never cached. */
export function setDownloadHeaders(reply: { header(name: string, value: string): unknown }, file: { filename: string; size?: number; type?: string }): void {
  reply.header('content-type', file.type ?? 'application/octet-stream');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-disposition', contentDisposition(file.filename));
  reply.header('cache-control', 'no-store');
  if (file.size !== undefined) reply.header('content-length', String(file.size));
}
