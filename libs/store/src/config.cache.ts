/**
 * The ConfigMaps and Secrets every control plane holds in memory, Secrets opened: listed in pages
 * at one revision, then one watch per kind from the next revision. Read by the assignments
 * publisher (each node gets the objects its replicas name) and the config loop (status.configHash);
 * they hear every change. Kept apart from the ClusterCache: a Secret is sealed in etcd, and a
 * decoding failure here (a Secret whose key the ring lacks) must not stop the cache every loop reads.
 * A value that does not open is left out and logged by key and reason, never by content.
 */
import { Etcd3, Watcher } from 'etcd3';
import { ConfigData, configDataOf, configKeyOf } from '@tide/api';
import { ConfigKindName, ConfigObject, ConfigStore } from './config.store';
import { configPrefix } from './keys';
import { rangeAll } from './paged.range';

export type ConfigChange = { key: string; previous?: ConfigData; current?: ConfigData } | { key: 'resync' };

const KINDS: ConfigKindName[] = ['ConfigMap', 'Secret'];

export class ConfigCache {
  private objects = new Map<string, ConfigData>();
  private readonly listeners = new Set<(change: ConfigChange) => void>();
  private watchers: Watcher[] = [];
  private stopped = false;

  constructor(private readonly client: Etcd3, private readonly store: ConfigStore, private readonly log: (line: string) => void = () => undefined) {}

  async start(): Promise<void> {
    await this.relist();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.watchers.map((w) => w.cancel().catch(() => undefined)));
    this.watchers = [];
  }

  /** By configKeyOf key ("Secret/NS/NAME"). */
  get(key: string): ConfigData | undefined {
    return this.objects.get(key);
  }

  onChange(listener: (change: ConfigChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async relist(): Promise<void> {
    const first = await rangeAll(this.client, configPrefix('ConfigMap'));
    const secrets = await rangeAll(this.client, configPrefix('Secret'), { revision: first.revision });
    if (this.stopped) return;
    this.objects = new Map();
    for (const kv of [...first.kvs, ...secrets.kvs]) this.put(kv.key.toString(), kv, false);
    this.notify({ key: 'resync' });
    await Promise.all(this.watchers.map((w) => w.cancel().catch(() => undefined)));
    this.watchers = await Promise.all(KINDS.map((kind) => this.watch(kind, first.revision + 1)));
  }

  private async watch(kind: ConfigKindName, revision: number): Promise<Watcher> {
    const watcher = await this.client.watch().prefix(configPrefix(kind)).startRevision(String(revision)).create();
    watcher.on('put', (kv) => this.put(kv.key.toString(), kv, true));
    watcher.on('delete', (kv) => this.remove(kv.key.toString()));
    watcher.on('error', (error: Error) => {
      if (this.stopped || !this.watchers.includes(watcher)) return;
      this.log(`config cache watch failed (${error.message}): listing again`);
      this.watchers = this.watchers.filter((w) => w !== watcher);
      setTimeout(() => void this.relist().catch((e: Error) => this.log(`config cache relist failed: ${e.message}`)), 1000);
    });
    return watcher;
  }

  private put(etcdKey: string, kv: Parameters<ConfigStore['decode']>[0], notify: boolean): void {
    let object: ConfigObject;
    try {
      object = this.store.decode(kv);
    } catch (error) {
      this.log(`config cache: ${etcdKey} left out: ${(error as Error).message}`);
      return this.remove(etcdKey);
    }
    const data = configDataOf(object);
    const key = configKeyOf(data.kind, data.namespace, data.name);
    const previous = this.objects.get(key);
    this.objects.set(key, data);
    if (notify) this.notify({ key, previous, current: data });
  }

  private remove(etcdKey: string): void {
    const kind = etcdKey.startsWith(configPrefix('Secret')) ? 'Secret' : 'ConfigMap';
    const [namespace, name] = etcdKey.slice(configPrefix(kind).length).split('/');
    const key = configKeyOf(kind, namespace, name);
    const previous = this.objects.get(key);
    if (!previous) return;
    this.objects.delete(key);
    this.notify({ key, previous });
  }

  private notify(change: ConfigChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log(`config cache listener failed: ${(error as Error).message}`);
      }
    }
  }
}
