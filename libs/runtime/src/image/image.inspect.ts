/**
 * One image as `docker image inspect` shows it: its record (id, manifest digest, layers) and its
 * config as stored, so that a client sees the Cmd, Entrypoint, Env and Labels the image really has.
 */
import { ImageStore } from './image.store';
import { ImageError } from './image.types';
import { OciImageConfig, formatRef, parseRef } from './oci';

export interface ImageDetails {
  ref: string;
  /** The config's digest: the image ID. */
  id: string;
  /** The manifest's digest, as a registry names the image. */
  manifest: string;
  created?: string;
  /** Unpacked bytes of all layers. */
  sizeBytes: number;
  /** diffIDs, lowest first. */
  layers: string[];
  config: OciImageConfig;
}

export async function imageDetails(store: ImageStore, ref: string): Promise<ImageDetails> {
  const name = formatRef(parseRef(ref));
  const record = await store.record(name);
  if (!record) throw new ImageError('NotFound', `image "${name}" not found on this node`);
  return {
    ref: name, id: record.config, manifest: record.manifest, ...(record.created ? { created: record.created } : {}),
    sizeBytes: record.layers.reduce((sum, l) => sum + l.size, 0), layers: record.layers.map((l) => l.diffID), config: await store.readConfig(record.config),
  };
}
