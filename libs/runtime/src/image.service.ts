/** The node's ImageService (image/image.types.ts) over the content store in imageDir: the store and
 *  archives of image/ with the builder of build/ (which builds on image/, hence this file sits above both). */
import { buildImage } from './build/image.builder';
import { ContainerRuntime } from './runtime.types';
import { exportArchive } from './image/archive.export';
import { importArchive } from './image/archive.import';
import { ImageRecord, ImageStore } from './image/image.store';
import { BuildOptions, ImageError, ImageInfo, ImageService } from './image/image.types';
import { formatRef, parseRef } from './image/oci';

export interface ImageServiceOptions {
  imageDir: string;
  /** Runs the RUN steps of builds. */
  runtime: ContainerRuntime;
  /** Scratch space for builds and imports (default: imageDir/tmp). Archives and layers are staged
   *  in imageDir/tmp in any case, so that they can be renamed into place. */
  scratchDir?: string;
}

export function createImageService(options: ImageServiceOptions): ImageService {
  const store = new ImageStore(options.imageDir);
  return {
    importArchive: async (file) => (await importArchive(store, file)).map(infoOf),
    list: async () => (await store.list()).map(infoOf),
    remove: async (ref) => {
      const name = formatRef(parseRef(ref));
      if (!(await store.untag(name))) throw new ImageError('NotFound', `image "${name}" not found on this node`);
      await store.collectGarbage();
    },
    exportArchive: (ref, out) => exportArchive(store, ref, out),
    build: async (build: BuildOptions) => infoOf(await buildImage(store, options.runtime, build)),
  };
}

export function infoOf(record: ImageRecord): ImageInfo {
  return {
    ref: record.ref, id: record.config, layers: record.layers.map((l) => l.diffID),
    sizeBytes: record.layers.reduce((sum, l) => sum + l.size, 0), ...(record.created ? { created: record.created } : {}),
  };
}
