import { ContainerRuntime } from '../runtime.types';
import { ImageRecord, ImageStore } from '../image/image.store';
import { BuildOptions, ImageError } from '../image/image.types';

export async function buildImage(_store: ImageStore, _runtime: ContainerRuntime, options: BuildOptions): Promise<ImageRecord> {
  throw new ImageError('Invalid', `build ${options.tag}: not yet`);
}
