/**
 * The init step that bind-mounts files of the container's state dir (its /etc/hosts and
 * /etc/resolv.conf) and the volumes' directories and files over image paths, before pivot_root,
 * while the host's paths are reachable. A volume's directory is bound, not its files: the agent
 * swaps the files inside it (the `..data` link, config.volumes.ts) and the container sees the swap.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REMOUNT, Sys } from '@tide/syscall';
import { BindFile, InitConfig } from './init.config';

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
    makeMountPoint(target, file);
    sys.mount(file.source, target, null, MS_BIND, null);
    // A bind mount takes its flags only from a remount of itself.
    if (file.readOnly) sys.mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null);
  }
}

/** A plain file (or directory) at the target: a symlink there would be followed, anything else refused. */
function makeMountPoint(target: string, file: BindFile): void {
  const existing = fs.lstatSync(target, { throwIfNoEntry: false });
  const fits = file.directory ? existing?.isDirectory() : existing?.isFile();
  if (existing && !fits) fs.rmSync(target, { recursive: true, force: true });
  if (fits) return;
  if (file.directory) fs.mkdirSync(target);
  else fs.writeFileSync(target, '');
}
