/**
 * Overlay snapshots (containerd's snapshotter idea): computes and creates the directories of a
 * container's copy-on-write root and returns the mount to make. It never mounts: the container's
 * init mounts it inside the container's own mount namespace, so nothing is ever mounted on the host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface OverlayMount {
  /** The overlay `lowerdir` option: colon-joined, TOPMOST layer first (overlayfs order). */
  lowerdir: string;
  upperdir: string;
  workdir: string;
  /** Where the merged root is mounted. */
  target: string;
}

export function overlayOptions(m: OverlayMount): string {
  return `lowerdir=${m.lowerdir},upperdir=${m.upperdir},workdir=${m.workdir}`;
}

export class OverlaySnapshotter {
  constructor(private readonly containersDir: string) {}

  async prepare(id: string, layerDirs: string[]): Promise<OverlayMount> {
    const base = path.join(this.containersDir, id);
    const mount: OverlayMount = {
      lowerdir: [...layerDirs].reverse().join(':'),
      upperdir: path.join(base, 'upper'),
      workdir: path.join(base, 'work'),
      target: path.join(base, 'rootfs'),
    };
    // Synchronous: a few mkdirs take less time than one trip through libuv's thread pool. The
    // container's dir is 0700: its upperdir (the container's "/", 0755) must be out of other users' reach.
    fs.mkdirSync(base, { recursive: true, mode: 0o700 });
    for (const dir of [mount.upperdir, mount.workdir, mount.target]) fs.mkdirSync(dir, { recursive: true });
    return mount;
  }

  upperDir(id: string): string {
    return path.join(this.containersDir, id, 'upper');
  }

  async remove(id: string): Promise<void> {
    const base = path.join(this.containersDir, id);
    for (const dir of ['upper', 'work', 'rootfs']) {
      await fs.promises.rm(path.join(base, dir), { recursive: true, force: true });
    }
  }
}
