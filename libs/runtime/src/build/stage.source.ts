/**
 * Where `COPY --from=X` reads: the file tree of an earlier stage (by name or index) or of an image,
 * as its layers merge. One layer is read in place; several are mounted as a read-only overlay (no
 * upper directory) in the store's tmp/, unmounted when the step is done. Its files are read like
 * the build context's, without a .dockerignore.
 */
import * as fs from 'node:fs';
import { MNT_DETACH, MS_RDONLY } from '@tide/syscall';
import { ImageStore, StoredLayer } from '../image/image.store';
import { BuildContext } from './build.context';

export interface StageSource {
  context: BuildContext;
  release(): Promise<void>;
}

export async function openStageSource(store: ImageStore, layers: readonly StoredLayer[]): Promise<StageSource> {
  const dirs = layers.map((l) => store.layerDir(l.diffID));
  if (dirs.length === 1) return { context: BuildContext.plain(dirs[0]), release: async () => undefined };
  const target = await store.tempDir('from');
  if (dirs.length === 0) return { context: BuildContext.plain(target), release: () => fs.promises.rm(target, { recursive: true, force: true }) };
  // overlayfs: the topmost layer first; without upperdir the mount is read-only (and needs two lowers at least).
  store.sys.mount('overlay', target, 'overlay', MS_RDONLY, `lowerdir=${[...dirs].reverse().join(':')}`);
  return {
    context: BuildContext.plain(target),
    release: async () => {
      store.sys.umount2(target, MNT_DETACH);
      await fs.promises.rm(target, { recursive: true, force: true });
    },
  };
}
