/**
 * ConfigMaps and Secrets in etcd (`/tide/v1/configmaps|secrets/<namespace>/<name>`), beside the
 * ObjectStore: a Secret's JSON is sealed (secret.cipher.ts) on every write and opened on every
 * read, so that no Secret value is ever in etcd in clear; a ConfigMap is plain JSON. Writes compare
 * the key's mod revision as the ObjectStore's do; `resourceVersion` is that revision.
 */
import { randomUUID } from 'node:crypto';
import { Etcd3, IKeyValue } from 'etcd3';
import type { ConfigMap, Secret } from '@tide/api';
import { canonicalJson } from '@tide/api';
import { ConflictError, ObjectTooLargeError } from './errors';
import { translateEtcdError } from './etcd.errors';
import { EtcdHealth } from './etcd.health';
import { CONFIG_PLURAL, configObjectKey, configPrefix } from './keys';
import { rangePages } from './paged.range';
import { SecretCipher } from './secret.cipher';
import { MAX_OBJECT_BYTES, describeBytes } from './txn.budget';

export type ConfigObject = ConfigMap | Secret;
export type ConfigKindName = keyof typeof CONFIG_PLURAL;
export type ConfigApplyAction = 'created' | 'configured' | 'unchanged';

/** The content a user declares: equal content is an unchanged apply (a dry run and a diff judge by it too). */
export function configContent(object: ConfigObject): string {
  const { metadata } = object;
  const rest = object.kind === 'Secret' ? { type: object.type, data: object.data } : { data: object.data, binaryData: object.binaryData };
  return canonicalJson({ labels: metadata.labels ?? {}, ...rest });
}

export class ConfigStore {
  /** `cipher`: replaced when the key file is read again (a rotation). */
  constructor(private readonly client: Etcd3, public cipher: SecretCipher, private readonly health?: EtcdHealth) {}

  private async call<T>(request: () => Promise<T>): Promise<T> {
    this.health?.assertReachable();
    try {
      return await request();
    } catch (error) {
      throw translateEtcdError(error);
    }
  }

  /** The stored bytes of an object: a Secret sealed under its own key. */
  encode(object: ConfigObject): Buffer {
    const key = configObjectKey(object.kind, object.metadata.namespace, object.metadata.name);
    const { resourceVersion: _revision, ...metadata } = object.metadata;
    const json = JSON.stringify({ ...object, metadata });
    const value = object.kind === 'Secret' ? this.cipher.seal(key, json) : Buffer.from(json);
    if (key.length + value.length > MAX_OBJECT_BYTES) {
      throw new ObjectTooLargeError(`${object.kind} ${object.metadata.namespace}/${object.metadata.name} is ${describeBytes(key.length + value.length)} stored, over the ${describeBytes(MAX_OBJECT_BYTES)} an object may take`);
    }
    return value;
  }

  /** An object from its key-value (a watch's or a range's); throws SecretSealError for a Secret that does not open. */
  decode(kv: IKeyValue): ConfigObject {
    const key = kv.key.toString();
    const json = key.startsWith(configPrefix('Secret')) ? this.cipher.open(key, kv.value) : kv.value.toString();
    const object = JSON.parse(json) as ConfigObject;
    object.metadata.resourceVersion = String(kv.mod_revision);
    return object;
  }

  async get<T extends ConfigObject>(kind: T['kind'], namespace: string, name: string): Promise<T | undefined> {
    const response = await this.call(() => this.client.get(configObjectKey(kind, namespace, name)).exec());
    return response.kvs.length ? (this.decode(response.kvs[0]) as T) : undefined;
  }

  /** One namespace's objects (every namespace's without one), read in bounded pages at one revision. */
  async list<T extends ConfigObject>(kind: T['kind'], namespace?: string): Promise<T[]> {
    const items: T[] = [];
    try {
      for await (const page of rangePages(this.client, configPrefix(kind, namespace))) for (const kv of page.kvs) items.push(this.decode(kv) as T);
    } catch (error) {
      throw translateEtcdError(error);
    }
    return items;
  }

  /** Creates or replaces the object's content (last writer wins, retried on a concurrent change). */
  async apply(object: ConfigObject): Promise<ConfigApplyAction> {
    const { namespace, name } = object.metadata;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(object.kind, namespace, name);
      if (current && configContent(current) === configContent(object)) return 'unchanged';
      const stored = {
        ...object,
        metadata: current
          ? { ...current.metadata, labels: object.metadata.labels, generation: (current.metadata.generation ?? 1) + 1 }
          : { ...object.metadata, generation: 1, uid: randomUUID(), creationTimestamp: new Date().toISOString() },
      } as ConfigObject;
      if (!stored.metadata.labels) delete stored.metadata.labels;
      if (await this.put(stored, current?.metadata.resourceVersion)) return current ? 'configured' : 'created';
    }
    throw new ConflictError(`${object.kind} ${namespace}/${name} keeps changing concurrently; try again`);
  }

  async delete(kind: ConfigKindName, namespace: string, name: string): Promise<boolean> {
    const response = await this.call(() => this.client.delete().key(configObjectKey(kind, namespace, name)).exec());
    return Number(response.deleted) > 0;
  }

  /**
   * Rewrites every Secret sealed by a key other than the writer (after a rotation), each guarded
   * by its mod revision (one changed meanwhile was written by the writer key anyway). Answers how
   * many were rewritten and how many were already the writer's.
   */
  async reencryptSecrets(): Promise<{ rewritten: number; current: number }> {
    let rewritten = 0;
    let current = 0;
    const stale: IKeyValue[] = [];
    try {
      for await (const page of rangePages(this.client, configPrefix('Secret'))) {
        for (const kv of page.kvs) {
          if (this.cipher.sealedWith(kv.value) === this.cipher.writer) current++;
          else stale.push(kv);
        }
      }
    } catch (error) {
      throw translateEtcdError(error);
    }
    for (const kv of stale) {
      const object = this.decode(kv);
      if (await this.put(object, String(kv.mod_revision))) rewritten++;
    }
    return { rewritten, current };
  }

  /** Writes if the key is still at `revision` (absent: still absent); false when it changed. */
  private async put(object: ConfigObject, revision: string | undefined): Promise<boolean> {
    const key = configObjectKey(object.kind, object.metadata.namespace, object.metadata.name);
    const value = this.encode(object);
    const txn = revision === undefined ? this.client.if(key, 'Create', '==', 0) : this.client.if(key, 'Mod', '==', revision);
    const result = await this.call(() => txn.then(this.client.put(key).value(value)).commit());
    return result.succeeded;
  }
}
