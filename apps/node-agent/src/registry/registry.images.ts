/**
 * Images between this node's content store and a registry (the agent's side of `tsctl image pull`
 * and `tsctl image push`). Pull: the manifest for this node's platform, its config, then its layers,
 * three at a time, each streamed to the store's tmp/ with its digest verified on the way and then
 * unpacked by the store's one entrance (`addLayer`, which checks the digests again and refuses a tar
 * that escapes); a layer already in the store is not fetched; the record is written last, so a failed
 * pull leaves no image (only tmp/ debris the next collection removes). Push: the blobs the stored
 * manifest names, then that manifest byte for byte, so the image keeps its digest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageRecord, ImageStore, StoredLayer } from '@tide/runtime';
import { Descriptor, MEDIA_TYPES, RegistryClient, RegistryError, hostPlatform, parseManifest, pullPlan } from '@tide/registry';
import { PEER_WAIT_MS, shareDownload } from './peer.blobs';
import { Peer, layerSource, passesOn, swarmRank } from './swarm.plan';

/** Which registry, and the token the control plane issued for this one operation. */
export interface RegistryTarget {
  /** `host:port`. */
  address: string;
  /** PEM of the CA to trust (the cluster CA); the system's roots when absent. */
  ca?: string;
  /** A registry token (JWT); anonymous when absent. */
  token?: string;
  /** Plain HTTP (a test's registry on loopback); never set through the agent's endpoint. */
  plainHttp?: boolean;
  /** Longest silence of the registry (default the client's 30 s); never set through the agent's endpoint. */
  idleTimeoutMs?: number;
  /** The node's own certificate: without a token, the cluster's token service gives the node pull tokens for it. */
  clientCertificate?: { cert: string; key: string };
}

export interface PullRequest {
  registry: RegistryTarget;
  /** Peer-to-peer layers: the nodes pulling this image now (the same list for all), this node among them. */
  swarm?: { self: string; peers: Peer[]; tls: PeerTls };
  log?: (line: string) => void;
  repository: string;
  /** Tag or digest. */
  reference: string;
  /** The name:tag the image gets in this node's store. */
  ref: string;
}

export interface PushRequest {
  registry: RegistryTarget;
  /** The name:tag in this node's store. */
  ref: string;
  repository: string;
  tag: string;
}

const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar', 'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);
const CONCURRENT_LAYERS = 3;

function clientFor(target: RegistryTarget): RegistryClient {
  return new RegistryClient({
    registry: target.address, plainHttp: target.plainHttp === true, ...(target.ca ? { ca: target.ca } : {}),
    ...(target.idleTimeoutMs ? { idleTimeoutMs: target.idleTimeoutMs } : {}),
    ...(target.token ? { credentials: { registryToken: target.token } } : {}), ...(target.clientCertificate ? { clientCertificate: target.clientCertificate } : {}),
  });
}

/** The node's certificate and the cluster CA, for the mTLS connections to peers. */
export interface PeerTls {
  ca: string;
  cert: string;
  key: string;
}

/** A layer of a pull or push: the blob's digest, and whether this transfer moved it or found it there. */
export interface LayerTransfer {
  digest: string;
  moved: boolean;
}

export interface PulledImage {
  record: ImageRecord;
  digest: string;
  fetched: number;
  /** Every layer, lowest first: moved when this pull fetched it (not present, nor fetched by a pull alongside). */
  layers: LayerTransfer[];
  fromPeers: number;
  /** Where the time went, for the agent's log: "manifest 12 ms, config 3 ms, layers 840 ms (0 peer 820, ...), record 2 ms". */
  timings: string;
}

export async function pullImage(store: ImageStore, request: PullRequest): Promise<PulledImage> {
  const client = clientFor(request.registry);
  const name = `${request.registry.address}/${request.repository}:${request.reference}`;
  const clock = stopwatch();
  const layerTimes: string[] = [];
  try {
    const image = await client.resolveImage(request.repository, request.reference, hostPlatform());
    const manifestMs = clock();
    const { config: configDescriptor, layers } = image.document;
    for (const [i, layer] of layers.entries()) {
      if (!LAYER_TYPES.has(layer.mediaType)) throw new RegistryError('Invalid', `${name}: layers[${i}] has media type ${layer.mediaType}, which this node cannot unpack (tar or tar+gzip)`);
    }
    const config = await client.blob(request.repository, configDescriptor);
    const diffIDs = diffIDsOf(config, layers.length, name);
    const configMs = clock();
    const moved = new Set<number>();
    let fromPeers = 0;
    let timings = '';
    const stored = await store.lock.shared(async () => {
      const plan = layerPlan(request, layers.length);
      const result = await mapLimited(plan.order, plan.limit, async (i) => {
        const layer = layers[i];
        const present = await presentLayer(store, diffIDs[i], layer);
        if (present) return present;
        return once(store, layer.digest, async () => {
          moved.add(i);
          const began = Date.now();
          const received = await receiveLayer(store, client, request, layer, i, diffIDs[i], `${name} layer ${i} (${layer.digest})`);
          if (received.from === 'peer') fromPeers++;
          layerTimes.push(`${i} ${received.from} ${Date.now() - began}`);
          return received.layer;
        });
      });
      const layersMs = clock();
      const record = await store.commit(request.ref, { manifest: image.bytes, manifestMediaType: image.mediaType, config, layers: result });
      timings = `manifest ${manifestMs} ms, config ${configMs} ms, layers ${layersMs} ms (${layerTimes.join(', ') || 'all present'}), record ${clock()} ms`;
      return record;
    });
    const transfers = layers.map((layer, i) => ({ digest: layer.digest, moved: moved.has(i) }));
    return { record: stored, digest: image.index?.digest ?? image.digest, fetched: moved.size, layers: transfers, fromPeers, timings };
  } finally {
    await client.close();
  }
}

export interface PushedImage {
  /** The manifest's digest and size in bytes, as the registry keeps it. */
  digest: string;
  size: number;
  uploaded: number;
  blobs: number;
  /** Every layer, lowest first: moved when uploaded, else the registry had it. */
  layers: LayerTransfer[];
}

export async function pushImage(store: ImageStore, request: PushRequest): Promise<PushedImage> {
  const record = await store.record(request.ref);
  if (!record) throw new RegistryError('NotFound', `image "${request.ref}" is not on this node`);
  const manifestBytes = await store.readBlob(record.manifest);
  const manifest = parseManifest(manifestBytes, record.manifestMediaType, `the stored manifest of ${request.ref}`);
  if (manifest.kind !== 'manifest') throw new RegistryError('Invalid', `the stored manifest of ${request.ref} is an index`);
  const client = clientFor(request.registry);
  try {
    const uploaded = new Set<string>();
    for (const blob of [manifest.config, ...manifest.layers]) {
      const file = store.blobPath(blob.digest);
      if (!fs.existsSync(file)) throw new RegistryError('NotFound', `image "${request.ref}": blob ${blob.digest} is missing from this node's store`);
      if (await client.uploadBlob(request.repository, blob, file)) uploaded.add(blob.digest);
    }
    const mediaType = manifest.mediaType === MEDIA_TYPES.dockerManifest ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
    const digest = await client.putManifest(request.repository, request.tag, manifestBytes, mediaType);
    const layers = manifest.layers.map((layer) => ({ digest: layer.digest, moved: uploaded.has(layer.digest) }));
    return { digest, size: manifestBytes.length, uploaded: uploaded.size, blobs: manifest.layers.length + 1, layers };
  } finally {
    await client.close();
  }
}

/**
 * A layer into the store, unpacked while it arrives: from the peer the swarm plan names (which may
 * still be receiving it), else, or when that peer fails, from the registry. The blob grows in tmp/
 * meanwhile, where this node's own children in the swarm read it.
 */
async function receiveLayer(
  store: ImageStore, client: RegistryClient, request: PullRequest, layer: Descriptor, index: number, diffID: string, label: string,
): Promise<{ layer: StoredLayer; from: 'peer' | 'registry' }> {
  const peer = request.swarm ? layerSource(request.swarm.peers, request.swarm.self, index) : undefined;
  if (peer && request.swarm) {
    const { ca, cert, key } = request.swarm.tls;
    const peerClient = new RegistryClient({ registry: peer.address, ca, clientCertificate: { cert, key }, idleTimeoutMs: PEER_WAIT_MS * 2 });
    try {
      return { layer: await receiveFrom(store, peerClient, request.repository, layer, diffID, label), from: 'peer' };
    } catch (error) {
      request.log?.(`layer ${layer.digest} from peer ${peer.node} failed (${(error as Error).message}): fetching it from the registry`);
    } finally {
      await peerClient.close();
    }
  }
  return { layer: await receiveFrom(store, client, request.repository, layer, diffID, label), from: 'registry' };
}

/** One attempt from one source; peers may follow it while it runs (a failed attempt fails them too). */
async function receiveFrom(store: ImageStore, source: RegistryClient, repository: string, layer: Descriptor, diffID: string, label: string): Promise<StoredLayer> {
  const dir = await store.tempDir('pull');
  const file = path.join(dir, 'blob');
  const received = store.receiveLayer(source.blobChunks(repository, layer), file, { diffID, blobDigest: layer.digest }, label);
  const unshare = shareDownload(store, layer.digest, file, layer.size, received);
  try {
    return await received;
  } finally {
    unshare();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The order this node takes the layers in, and how many at once. In a swarm, those it passes on to
 * other nodes come first (the seed's first of all), and they do not count against the limit: a node
 * that kept its children waiting while it worked on layers it only receives would stall their trees.
 */
function layerPlan(request: PullRequest, count: number): { order: number[]; limit: number } {
  const indexes = Array.from({ length: count }, (_, i) => i);
  const swarm = request.swarm;
  if (!swarm) return { order: indexes, limit: CONCURRENT_LAYERS };
  const rank = (i: number) => swarmRank(swarm.peers, swarm.self, i) ?? 0;
  const inner = indexes.filter((i) => passesOn(swarm.peers, swarm.self, i)).length;
  return { order: indexes.sort((a, b) => rank(a) - rank(b) || a - b), limit: CONCURRENT_LAYERS + inner };
}

/** Milliseconds since the last call (or the start). */
function stopwatch(): () => number {
  let last = Date.now();
  return () => {
    const now = Date.now();
    const elapsed = now - last;
    last = now;
    return elapsed;
  };
}

function diffIDsOf(config: Buffer, layers: number, name: string): string[] {
  let parsed: { rootfs?: { diff_ids?: unknown } };
  try {
    parsed = JSON.parse(config.toString('utf8')) as typeof parsed;
  } catch {
    throw new RegistryError('Invalid', `${name}: the image config is not JSON`);
  }
  const ids = parsed.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.length !== layers || !ids.every((id) => typeof id === 'string' && /^sha256:[a-f0-9]{64}$/.test(id))) {
    throw new RegistryError('Invalid', `${name}: the config's rootfs.diff_ids do not name one sha256 digest per layer (${layers} layers)`);
  }
  return ids as string[];
}

/**
 * Layer fetches under way in this agent, by store and blob digest: two pulls that need the same
 * layer at the same time (two images on one base, or the same image twice) share one download.
 */
const fetching = new Map<string, Promise<StoredLayer>>();

function once(store: ImageStore, digest: string, fetch: () => Promise<StoredLayer>): Promise<StoredLayer> {
  const key = `${store.imageDir}\0${digest}`;
  const running = fetching.get(key);
  if (running) return running;
  const started = fetch().finally(() => fetching.delete(key));
  fetching.set(key, started);
  return started;
}

/** A layer already unpacked in the store, from this very blob: nothing to fetch. */
async function presentLayer(store: ImageStore, diffID: string, layer: Descriptor): Promise<StoredLayer | undefined> {
  const dir = store.layerDir(diffID);
  if (!fs.existsSync(dir) || !fs.existsSync(store.blobPath(layer.digest))) return undefined;
  const meta = await fs.promises.readFile(`${dir}.json`, 'utf8').then((t) => JSON.parse(t) as { size: number }).catch(() => undefined);
  if (!meta) return undefined;
  const gzip = layer.mediaType.endsWith('gzip');
  return { diffID, blob: layer.digest, mediaType: gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar', blobSize: layer.size, size: meta.size };
}

/** `fn` over `order` (indexes into the result), at most `limit` at a time, started in that order. */
async function mapLimited<R>(order: readonly number[], limit: number, fn: (index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(order.length);
  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const i = order[next++];
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, order.length) }, worker));
  return results;
}

/**
 * A build's pull of an image FROM or COPY --from names (BuildOptions.pull): from the cluster registry
 * only, as this node (its certificate gets it a pull token), into the store under its usual name.
 */
export function buildPuller(store: ImageStore, registry: string, node: () => { ca: string; certificate: string; key: string }): (image: string) => Promise<void> {
  return async (image) => {
    const plan = pullPlan(image, registry);
    if (!plan.cluster) throw new RegistryError('Invalid', `${image} is in the registry ${plan.registry}; a build pulls from the cluster registry ${registry} only (tsctl image pull it first)`);
    const { ca, certificate, key } = node();
    await pullImage(store, { registry: { address: registry, ca, clientCertificate: { cert: certificate, key } }, repository: plan.repository, reference: plan.reference, ref: plan.storeRef });
  };
}
