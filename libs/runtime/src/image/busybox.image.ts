/** The built-in base image "busybox:latest", made from the host's static busybox (Debian busybox-static). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sys, linuxSys } from '@tide/syscall';
import { RuntimeError } from '../runtime.types';
import { ImageStore } from './image.store';
import { addLayerFromTar } from './layer.tar';
import { OciImageConfig, hostPlatform } from './oci';
import { StoreLock } from './store.lock';

export const BUSYBOX_REF = 'busybox:latest';
export const BUSYBOX_PATH = '/bin:/usr/bin:/sbin:/usr/sbin';
export const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Builds busybox:latest unless present. The layer is deterministic (sorted entries, mtime 0), so
 * every agent sharing the image dir makes the same digests and the image ID stays the same.
 */
export async function ensureBusyboxImage(imageDir: string, busyboxPath = '/bin/busybox', sys: Sys = linuxSys()): Promise<void> {
  await ensureBaseImage(new ImageStore(imageDir, sys), async (store) => {
    if (store.has(BUSYBOX_REF)) return;
    if (!fs.existsSync(busyboxPath)) {
      throw new RuntimeError('ImageNotFound', `${busyboxPath} is missing: install Debian's busybox-static (scripts/setup.sh does)`);
    }
    const layer = await busyboxLayer(store, busyboxPath);
    await store.commitConfig(BUSYBOX_REF, baseConfig({ Env: [`PATH=${BUSYBOX_PATH}`], Cmd: ['sh'] }, 'busybox-static'), [layer]);
  });
}

function busyboxLayer(store: ImageStore, busyboxPath: string) {
  const applets = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox').sort();
  return addLayerFromTar(store, 'busybox layer', async (tar) => {
    const dirs: [string, number][] = [['bin', 0o755], ['dev', 0o755], ['etc', 0o755], ['proc', 0o555], ['root', 0o700], ['sys', 0o555], ['tmp', 0o1777], ['var', 0o755], ['var/log', 0o755]];
    for (const [name, mode] of dirs) await tar.add({ name, type: 'directory', mode });
    const size = (await fs.promises.stat(busyboxPath)).size;
    await tar.add({ name: 'bin/busybox', type: 'file', mode: 0o755, size }, busyboxPath);
    for (const applet of applets) await tar.add({ name: `bin/${applet}`, type: 'symlink', mode: 0o777, linkname: 'busybox' });
    const files: [string, string][] = [
      ['etc/group', 'root:x:0:\nnogroup:x:65534:\n'],
      ['etc/hostname', 'busybox\n'],
      ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n'],
    ];
    for (const [name, text] of files) await tar.add({ name, type: 'file', mode: 0o644 }, Buffer.from(text));
  });
}

/** A base image's config; no creation time, so that it is the same wherever it is made. */
export function baseConfig(config: NonNullable<OciImageConfig['config']>, comment: string): OciImageConfig {
  return { ...hostPlatform(), config, rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'tide', comment }] };
}

/** One agent makes a base image while the others sharing the image dir wait, then find it made. */
export async function ensureBaseImage(store: ImageStore, make: (store: ImageStore) => Promise<void>): Promise<void> {
  const baseLock = new StoreLock(store.sys, path.join(store.imageDir, 'base-images.lock'));
  await baseLock.exclusive(() => store.lock.shared(() => make(store)));
}
