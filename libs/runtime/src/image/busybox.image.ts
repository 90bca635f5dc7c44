/** The built-in base image "busybox:latest", made from the host's static busybox (Debian busybox-static). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../runtime.types';
import { ImageStore } from './image.store';

export const BUSYBOX_REF = 'busybox:latest';

export async function ensureBusyboxImage(imageDir: string, busyboxPath = '/bin/busybox'): Promise<void> {
  const store = new ImageStore(imageDir);
  if (store.has(BUSYBOX_REF)) return;
  if (!fs.existsSync(busyboxPath)) {
    throw new RuntimeError('ImageNotFound', `${busyboxPath} is missing: install Debian's busybox-static (scripts/setup.sh does)`);
  }
  const layer = await store.stagingDir();
  for (const dir of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var/log']) {
    await fs.promises.mkdir(path.join(layer, dir), { recursive: true });
  }
  await fs.promises.chmod(path.join(layer, 'tmp'), 0o1777);
  await fs.promises.copyFile(busyboxPath, path.join(layer, 'bin/busybox'));
  await fs.promises.chmod(path.join(layer, 'bin/busybox'), 0o755);
  const applets = execFileSync(busyboxPath, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet !== 'busybox') await fs.promises.symlink('busybox', path.join(layer, 'bin', applet));
  }
  await fs.promises.writeFile(path.join(layer, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await fs.promises.writeFile(path.join(layer, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  await fs.promises.writeFile(path.join(layer, 'etc/hostname'), 'busybox\n');
  const digest = await store.commitLayer(layer);
  await store.writeManifest(BUSYBOX_REF, {
    layers: [digest],
    config: { env: { PATH: '/bin:/usr/bin:/sbin:/usr/sbin' }, cmd: ['sh'] },
  });
}
