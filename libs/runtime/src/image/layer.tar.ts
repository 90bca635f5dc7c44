/** Layers made on the node (base images, build steps) are written as a tar first, then added to the
 *  store like any imported layer: one path into the store, one set of checks. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageStore, StoredLayer } from './image.store';
import { TarWriter, fileSink } from '@tide/tar';

/** Writes a layer tar with `fill` and adds it to the store. */
export async function addLayerFromTar(store: ImageStore, label: string, fill: (tar: TarWriter) => Promise<void>): Promise<StoredLayer> {
  const dir = await store.tempDir('layer');
  try {
    const file = path.join(dir, 'layer.tar');
    const handle = await fs.promises.open(file, 'w');
    try {
      const tar = new TarWriter(fileSink(handle));
      await fill(tar);
      await tar.finish();
    } finally {
      await handle.close();
    }
    return await store.addLayer(file, {}, label);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** Directory entries for every parent of `rel` not yet written ("usr", "usr/lib", ...). */
export async function addParents(tar: TarWriter, rel: string, written: Set<string>): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (written.has(dir)) continue;
    written.add(dir);
    await tar.add({ name: dir, type: 'directory', mode: 0o755 });
  }
}
