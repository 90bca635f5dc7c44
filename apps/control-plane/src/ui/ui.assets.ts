/**
 * The dashboard's built files (apps/dashboard, `npm run build` puts them in apps/dashboard/bundle),
 * read once into memory with their content type, cache policy and a gzip copy: the bundle is a few
 * hundred kilobytes, and a cluster without internet gets everything from the control plane.
 *
 * Cache policy: files under assets/ carry a hash of their content in their name (esbuild), so a
 * browser keeps them for a year; index.html names those files, so it is revalidated on every load
 * (ETag), and a new bundle is picked up as soon as the control plane serves it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface UiAsset {
  body: Buffer;
  /** The gzip-compressed body, for text files (undefined: sent as is). */
  gzip?: Buffer;
  contentType: string;
  cacheControl: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.map', '.txt']);
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** Where the control plane looks for the bundle: $TIDE_UI_DIR, else the workspace's apps/dashboard/bundle. */
export function defaultUiDir(): string {
  // Compiled to apps/control-plane/dist/ui/: three levels up is apps/.
  return process.env.TIDE_UI_DIR || path.resolve(__dirname, '..', '..', '..', 'dashboard', 'bundle');
}

/** Every file under `dir` by its path relative to it ("index.html", "assets/main-AB12.js"); empty when `dir` is missing. */
export function loadUiAssets(dir: string): Map<string, UiAsset> {
  const assets = new Map<string, UiAsset>();
  if (!fs.existsSync(dir)) return assets;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const relative = path.relative(dir, full).split(path.sep).join('/');
    const extension = path.extname(entry.name).toLowerCase();
    const body = fs.readFileSync(full);
    assets.set(relative, {
      body,
      ...(COMPRESSIBLE.has(extension) ? { gzip: gzipSync(body, { level: 9 }) } : {}),
      contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
      cacheControl: relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return assets;
}
