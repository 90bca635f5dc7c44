/**
 * The build cache: the state after a step (layers + image config), keyed by the state before it,
 * the instruction and the content hash of its inputs, kept in imageDir/build-cache. An entry whose
 * layers have been collected since is a miss.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageStore, StoredLayer } from '../image/image.store';
import { OciImageConfig, sha256 } from '../image/oci';

export interface BuildState {
  /** Cache key of this state: a digest over the chain of steps that made it. */
  key: string;
  layers: StoredLayer[];
  config: OciImageConfig;
}

export class BuildCache {
  private readonly dir: string;

  constructor(private readonly store: ImageStore) {
    this.dir = path.join(store.imageDir, 'build-cache');
  }

  static keyOf(parent: string, instruction: string, inputs: string): string {
    return sha256(JSON.stringify([parent, instruction, inputs]));
  }

  async get(key: string): Promise<BuildState | undefined> {
    const text = await fs.promises.readFile(this.file(key), 'utf8').catch(() => undefined);
    if (!text) return undefined;
    const state = JSON.parse(text) as BuildState;
    const complete = state.layers.every((l) => fs.existsSync(this.store.layerDir(l.diffID)) && fs.existsSync(this.store.blobPath(l.blob)));
    return complete ? state : undefined;
  }

  async put(state: BuildState): Promise<void> {
    await this.store.writeAtomic(this.file(state.key), Buffer.from(JSON.stringify(state)));
  }

  private file(key: string): string {
    return path.join(this.dir, `${key.replace('sha256:', '')}.json`);
  }
}
