/**
 * The init step that bind-mounts files of the container's state dir (its /etc/hosts and
 * /etc/resolv.conf) over the image's, before pivot_root, while the host's paths are reachable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MS_BIND, Sys } from '@tide/syscall';
import { InitConfig } from './init.config';

export function mountBindFiles(sys: Sys, config: InitConfig): void {
  const root = config.rootfs.target;
  for (const file of config.bindFiles ?? []) {
    const target = path.join(root, file.target);
    // Paths are resolved against the host's root until pivot_root: an image whose /etc is a symlink
    // to an absolute path must not make us create or cover a file outside the container's root.
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const parent = fs.realpathSync(path.dirname(target));
    if (parent !== root && !parent.startsWith(`${root}/`)) {
      throw new Error(`${path.dirname(file.target)} leads outside the container's root (a symlink in the image?)`);
    }
    // A symlink (or a directory) at the target would be followed or refused: a plain file replaces it.
    const existing = fs.lstatSync(target, { throwIfNoEntry: false });
    if (existing && !existing.isFile()) fs.rmSync(target, { recursive: true, force: true });
    if (!existing?.isFile()) fs.writeFileSync(target, '');
    sys.mount(file.source, target, null, MS_BIND, null);
  }
}
