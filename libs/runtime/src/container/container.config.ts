/** A container's init config from its spec over its image's defaults (cold, warm and exec starts). */
import * as path from 'node:path';
import { ImageResolver, ResolvedImage } from '../image/image.store';
import { InitConfig } from '../init/init.config';
import { seccompConfig } from '../isolation/seccomp';
import { ContainerSpec, RuntimeError } from '../runtime.types';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The init's instructions: argv and env from the spec over the image's defaults. */
export function initConfig(spec: ContainerSpec, image: ResolvedImage, logPath: string): Omit<InitConfig, 'rootfs'> {
  const argv = spec.argv.length > 0 ? spec.argv : [...(image.config.entrypoint ?? []), ...(image.config.cmd ?? [])];
  if (argv.length === 0) throw new RuntimeError('InvalidSpec', `no command given and image ${spec.image} has none`);
  const env = { ...image.config.env, ...spec.env, ...spec.secretEnv, HOSTNAME: spec.hostname };
  const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (!('PATH' in env)) envList.unshift(DEFAULT_PATH);
  // The spec's user wins over the image's USER.
  const user = spec.user ?? image.config.user;
  return {
    hostname: spec.hostname, logPath, argv, env: envList, workingDir: spec.workingDir ?? image.config.workingDir ?? '/',
    ...(user ? { user } : {}),
    ...(spec.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    ...seccompConfig(spec.seccompProfile),
    ...(spec.stdio ? { stdio: spec.stdio } : {}),
  };
}

/** The spec's image from the store, or a build step's explicit layers. */
export async function imageOf(spec: ContainerSpec, images: ImageResolver): Promise<ResolvedImage> {
  return spec.rootfsLayers ? explicitLayers(spec, images.imageDir) : images.resolve(spec.image);
}

/** A build step's root: layers of this node's store only, so a spec cannot mount any host directory. */
function explicitLayers(spec: ContainerSpec, imageDir: string): ResolvedImage {
  const layers = spec.rootfsLayers ?? [];
  const store = path.join(imageDir, 'layers') + path.sep;
  const outside = layers.find((dir) => !path.resolve(dir).startsWith(store));
  if (layers.length === 0 || outside !== undefined) {
    throw new RuntimeError('InvalidSpec', `rootfsLayers must be layers of the image store ${store}${outside ? ` (not ${outside})` : ''}`);
  }
  return { ref: spec.image, layerDirs: layers, config: { env: {} } };
}
