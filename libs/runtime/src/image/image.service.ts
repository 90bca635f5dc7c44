/** The node's ImageService (image/image.types.ts). Placeholder while issue 3's image store is built. */
import { ContainerRuntime, RuntimeError } from '../runtime.types';
import { BuildOptions, ImageInfo, ImageService } from './image.types';

export interface ImageServiceOptions {
  imageDir: string;
  /** Runs the RUN steps of builds. */
  runtime: ContainerRuntime;
  /** Scratch space for builds and imports (default: imageDir/tmp). */
  scratchDir?: string;
}

export function createImageService(options: ImageServiceOptions): ImageService {
  const missing = (what: string) => Promise.reject(new RuntimeError('Internal', `image ${what}: not implemented yet (${options.imageDir})`));
  return {
    importArchive: (_file: string): Promise<ImageInfo[]> => missing('import'),
    list: (): Promise<ImageInfo[]> => missing('list'),
    remove: (_ref: string): Promise<void> => missing('remove'),
    exportArchive: (_ref: string, _out: NodeJS.WritableStream): Promise<void> => missing('export'),
    build: (_options: BuildOptions): Promise<ImageInfo> => missing('build'),
  };
}
