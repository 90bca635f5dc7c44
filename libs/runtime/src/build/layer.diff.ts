/**
 * A finished RUN container's overlay upper directory as an OCI layer tar: overlay whiteouts (char
 * devices 0/0) become `.wh.NAME` entries, opaque directories (trusted.overlay.opaque=y) a
 * `.wh..wh..opq` entry. Entries are sorted, so the same upper directory always gives the same tar.
 * The container's mount points (/dev, /proc, /sys and empty placeholder files for bind mounts) are
 * the runtime's, not the step's, and stay out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sys } from '@tide/syscall';
import { ImageError } from '../image/image.types';
import { OPAQUE_XATTR } from '../image/layer.unpack';
import { TarWriter } from '@tide/tar';

const RUNTIME_DIRS = new Set(['dev', 'proc', 'sys']);
const BIND_MOUNT_FILES = new Set(['etc/hosts', 'etc/resolv.conf', 'etc/hostname']);
/** Overlay features that leave a change described by xattrs rather than by files (off by default). */
const UNSUPPORTED_XATTRS = ['trusted.overlay.redirect', 'trusted.overlay.metacopy'];

export async function writeUpperDiff(sys: Sys, upper: string, tar: TarWriter): Promise<void> {
  const links = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await fs.promises.readdir(path.join(upper, rel))).sort()) {
      const entry = rel ? `${rel}/${name}` : name;
      if (!rel && RUNTIME_DIRS.has(name)) continue;
      const full = path.join(upper, entry);
      const stat = await fs.promises.lstat(full);
      if (BIND_MOUNT_FILES.has(entry) && stat.isFile() && stat.size === 0) continue;
      const xattrs = sys.llistxattr(full);
      const unsupported = xattrs.find((x) => UNSUPPORTED_XATTRS.includes(x));
      if (unsupported) throw new ImageError('BuildFailed', `/${entry} carries ${unsupported}: mount overlays with redirect_dir=off and metacopy=off`);
      const meta = { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: Math.floor(stat.mtimeMs / 1000) };
      if (stat.isCharacterDevice() && stat.rdev === 0) {
        await tar.add({ name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: 'file', mode: 0o644 });
      } else if (stat.isDirectory()) {
        await tar.add({ name: entry, type: 'directory', ...meta });
        if (xattrs.includes(OPAQUE_XATTR) && sys.lgetxattr(full, OPAQUE_XATTR)?.toString() === 'y') {
          await tar.add({ name: `${entry}/.wh..wh..opq`, type: 'file', mode: 0o644 });
        }
        await walk(entry);
      } else if (stat.isSymbolicLink()) {
        await tar.add({ name: entry, type: 'symlink', ...meta, linkname: await fs.promises.readlink(full) });
      } else if (stat.isFile()) {
        const key = `${stat.dev}:${stat.ino}`;
        const first = stat.nlink > 1 ? links.get(key) : undefined;
        if (first) await tar.add({ name: entry, type: 'hardlink', ...meta, linkname: first });
        else await tar.add({ name: entry, type: 'file', ...meta, size: stat.size }, full);
        if (stat.nlink > 1 && !first) links.set(key, entry);
      } else if (stat.isFIFO()) {
        await tar.add({ name: entry, type: 'fifo', ...meta });
      } else if (!stat.isSocket()) {
        throw new ImageError('BuildFailed', `the step created the device node /${entry}; image layers cannot hold devices`);
      }
    }
  };
  await walk('');
}
