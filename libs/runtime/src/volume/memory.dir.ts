/**
 * A directory of the node held in memory: a tmpfs mounted on it (mode 0700, a size cap), as
 * kubelet mounts one per secret volume. Secret files go there and nowhere else: they never reach
 * the node's disk, a reboot forgets them, and `tsctl down` unmounts it. One per agent rather than
 * one per volume: a mount per replica would cost a mount and an unmount per start and stop.
 */
import * as fs from 'node:fs';
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID, Sys, linuxSys } from '@tide/syscall';

/** Whether a tmpfs is mounted exactly at `dir` (from /proc/self/mountinfo). */
export function isMemoryDir(dir: string): boolean {
  const real = fs.existsSync(dir) ? fs.realpathSync(dir) : dir;
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => {
      const fields = line.split(' ');
      const separator = fields.indexOf('-');
      return fields[4] === real.replace(/ /g, '\\040') && separator > 0 && fields[separator + 1] === 'tmpfs';
    });
  } catch {
    return false;
  }
}

/** Mounts the tmpfs unless one is there already (a restarted agent finds its own). */
export function ensureMemoryDir(dir: string, sizeBytes: number, sys: Sys = linuxSys()): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isMemoryDir(dir)) return;
  sys.mount('tmpfs', dir, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=0700,size=${sizeBytes}`);
}

/** Unmounts it (whatever it held is gone) and removes the directory. */
export function releaseMemoryDir(dir: string, sys: Sys = linuxSys()): void {
  while (isMemoryDir(dir)) sys.umount2(dir, MNT_DETACH);
  fs.rmSync(dir, { recursive: true, force: true });
}
