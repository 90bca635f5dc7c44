/**
 * `tsctl image commit`: a container's changes (its overlay upper directory) become one more layer on
 * top of the image it runs, as `docker commit` does. The upper directory is read as the RUN steps'
 * are (layer.diff.ts): overlay whiteouts become `.wh.NAME`, opaque directories `.wh..wh..opq`, and
 * the runtime's own mount points stay out. The container keeps running; a file it writes while
 * the layer is read may be caught half-written, as with `docker commit --pause=false`.
 */
import * as fs from 'node:fs';
import { ImageRecord, ImageStore } from '../image/image.store';
import { ImageError } from '../image/image.types';
import { addLayerFromTar } from '../image/layer.tar';
import { formatRef, parseRef } from '../image/oci';
import { writeUpperDiff } from './layer.diff';

export interface CommitRequest {
  /** The container's overlay upper directory. */
  upperDir: string;
  /** The image the container runs. */
  baseRef: string;
  /** name:tag of the result. */
  ref: string;
  /** The history entry's created_by, e.g. "tsctl image commit default/web-1". */
  createdBy: string;
}

export async function commitContainer(store: ImageStore, request: CommitRequest): Promise<ImageRecord> {
  const ref = formatRef(parseRef(request.ref));
  const base = await store.record(request.baseRef);
  if (!base) throw new ImageError('NotFound', `image "${request.baseRef}" the container runs is no longer on this node`);
  if (!fs.existsSync(request.upperDir)) throw new ImageError('NotFound', `the container's upper directory ${request.upperDir} is gone`);
  return store.lock.shared(async () => {
    const config = await store.readConfig(base.config);
    const layer = await addLayerFromTar(store, `commit of ${request.createdBy}`, (tar) => writeUpperDiff(store.sys, request.upperDir, tar));
    const created = new Date().toISOString();
    const history = [...(config.history ?? []), { created, created_by: request.createdBy, comment: `committed from ${base.ref}` }];
    return store.commitConfig(ref, { ...config, created, history }, [...base.layers, layer]);
  });
}
