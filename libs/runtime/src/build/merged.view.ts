/**
 * Looks a path up in a stack of unpacked layers as overlayfs would show it, without mounting:
 * the topmost layer that has it wins; a whiteout (char device 0/0) on the path or one of its parents
 * hides it, and so does an opaque parent directory for every layer below.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sys } from '@tide/syscall';
import { OPAQUE_XATTR } from '../image/layer.unpack';

const isWhiteout = (stat: fs.Stats) => stat.isCharacterDevice() && stat.rdev === 0;

/** The path's stat in the merged view (`rel` relative to the root, no leading slash), or undefined. */
export function statMerged(sys: Sys, layerDirs: string[], rel: string): fs.Stats | undefined {
  const parts = rel.split('/').filter(Boolean);
  for (let i = layerDirs.length - 1; i >= 0; i--) {
    let opaque = false;
    for (let k = 1; k <= parts.length; k++) {
      const full = path.join(layerDirs[i], ...parts.slice(0, k));
      const stat = lstat(full);
      if (!stat) break;
      if (isWhiteout(stat)) return undefined;
      if (k === parts.length) return stat;
      if (!stat.isDirectory()) return undefined; // a file or symlink here replaces whatever the lower layers have
      opaque ||= sys.lgetxattr(full, OPAQUE_XATTR)?.toString() === 'y';
    }
    if (parts.length === 0) return lstat(layerDirs[i]);
    if (opaque) return undefined;
  }
  return undefined;
}

function lstat(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
}
