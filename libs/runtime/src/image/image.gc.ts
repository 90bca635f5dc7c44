/**
 * Image garbage collection, as the kubelet does it: when the node's image disk use passes a high
 * threshold, unused images are removed, least recently used first, until it is down to a low one.
 * "Unused" means no replica on the node uses it (the caller says which refs are in use) and it is not
 * pinned (the built-in base images). The plan is a pure function; `collectImages` measures, plans,
 * untags and lets the store remove what no image references any more.
 *
 * Thresholds come in two kinds: percentages of the filesystem that holds the store (the kubelet's
 * `--image-gc-high-threshold 85 --image-gc-low-threshold 80`: the whole filesystem's use is
 * compared, since a dedicated image filesystem holds nothing else), or byte budgets of the store's
 * own content (a store on a shared disk; the layers and blobs its images reference).
 */
import * as fs from 'node:fs';
import { ImageRecord, ImageStore } from './image.store';
import { ImageError } from './image.types';
import { formatRef, parseRef } from './oci';

export type GcThreshold = { percent: number } | { bytes: number };

export interface ImageGcPolicy {
  high: GcThreshold;
  low: GcThreshold;
  /** An image used or arrived less than this long ago stays (the kubelet's --minimum-image-ttl-duration):
   *  a pre-pulled image is not removed before a replica can use it, nor pulled and removed in a loop. */
  minAgeMs: number;
}

/** The kubelet's defaults. */
export const DEFAULT_IMAGE_GC: ImageGcPolicy = { high: { percent: 85 }, low: { percent: 80 }, minAgeMs: 2 * 60_000 };

export interface GcCandidate {
  ref: string;
  /** ms since epoch: the last time a replica used it, else when it arrived in the store. */
  lastUsedMs: number;
  layers: { diffID: string; bytes: number }[];
}

export interface RemovalPlan {
  /** Refs to untag, least recently used first. */
  remove: string[];
  /** Bytes of the layers nothing references once they are gone. */
  freedBytes: number;
  /** True when even every removable image would not bring the use down to the target. */
  short: boolean;
}

/**
 * Which images to remove to bring `usedBytes` to `targetBytes` or below. A layer is freed only when
 * the last image referencing it goes, so an image whose layers others share frees little.
 * Worked example: used 100, target 60; A (LRU, layer a 30) then B (layer a 30 + b 20):
 * removing A frees nothing (B holds a), removing B too frees 50 → used 50 ≤ 60: remove [A, B].
 */
export function planImageRemoval(images: readonly GcCandidate[], keep: ReadonlySet<string>, usedBytes: number, targetBytes: number): RemovalPlan {
  const references = new Map<string, number>();
  for (const image of images) for (const layer of image.layers) references.set(layer.diffID, (references.get(layer.diffID) ?? 0) + 1);
  const candidates = images.filter((i) => !keep.has(i.ref)).sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.ref.localeCompare(b.ref));
  const remove: string[] = [];
  let freed = 0;
  for (const image of candidates) {
    if (usedBytes - freed <= targetBytes) break;
    remove.push(image.ref);
    for (const layer of image.layers) {
      const left = references.get(layer.diffID)! - 1;
      references.set(layer.diffID, left);
      if (left === 0) freed += layer.bytes;
    }
  }
  return { remove, freedBytes: freed, short: usedBytes - freed > targetBytes };
}

/** Reads "85" or "85%" as a percentage, "2Gi", "500Mi", "1G" or a plain byte count with a unit as bytes. */
export function parseGcThreshold(text: string, what: string): GcThreshold {
  const percent = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  if (percent) {
    const value = Number(percent[1]);
    if (value < 0 || value > 100) throw new ImageError('Invalid', `${what}: ${text} is not a percentage between 0 and 100`);
    return { percent: value };
  }
  const bytes = /^(\d+)(Ki|Mi|Gi|Ti|K|M|G|T)B?$/.exec(text.trim());
  if (!bytes) throw new ImageError('Invalid', `${what}: "${text}" is neither a percentage of the image filesystem (85 or 85%) nor a size (2Gi, 500Mi)`);
  const unit: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return { bytes: Number(bytes[1]) * unit[bytes[2]] };
}

/** Both thresholds of one kind, low below high; a clear message naming the flags otherwise. */
export function imageGcPolicy(high: GcThreshold, low: GcThreshold, minAgeMs = DEFAULT_IMAGE_GC.minAgeMs): ImageGcPolicy {
  if ('percent' in high !== 'percent' in low) throw new ImageError('Invalid', 'image GC thresholds: give both as percentages or both as sizes');
  const value = (t: GcThreshold) => ('percent' in t ? t.percent : t.bytes);
  if (value(low) > value(high)) throw new ImageError('Invalid', `image GC thresholds: the low threshold (${value(low)}) is above the high one (${value(high)})`);
  return { high, low, minAgeMs };
}

export interface CollectOptions {
  /** Refs a replica on this node uses (any spelling: they are normalised). */
  inUse: Iterable<string>;
  /** Never removed (the built-in base images). */
  pinned?: Iterable<string>;
  /** ms since epoch each ref was last used by a replica, where known. */
  lastUsed?: ReadonlyMap<string, number>;
  /** Undefined: remove every unused image, however young (`tsctl image prune`). */
  policy?: ImageGcPolicy;
}

export interface CollectResult {
  removed: string[];
  freedBytes: number;
  /** Disk use before, and the threshold that decided (bytes). */
  usedBytes: number;
  highBytes?: number;
}

export async function collectImages(store: ImageStore, options: CollectOptions): Promise<CollectResult> {
  const records = await store.list();
  const keep = new Set([...options.inUse, ...(options.pinned ?? [])].map(normalRef));
  const candidates = await Promise.all(records.map((r) => candidateOf(store, r, options.lastUsed)));
  const youngSince = Date.now() - (options.policy?.minAgeMs ?? 0);
  for (const candidate of candidates) if (candidate.lastUsedMs > youngSince) keep.add(candidate.ref);
  const usage = await measure(store, records, options.policy);
  if (usage.highBytes !== undefined && usage.usedBytes < usage.highBytes) return { removed: [], freedBytes: 0, usedBytes: usage.usedBytes, highBytes: usage.highBytes };
  const plan = planImageRemoval(candidates, keep, usage.usedBytes, usage.lowBytes);
  for (const ref of plan.remove) await store.untag(ref);
  if (plan.remove.length > 0) await store.collectGarbage();
  return { removed: plan.remove, freedBytes: plan.freedBytes, usedBytes: usage.usedBytes, ...(usage.highBytes !== undefined ? { highBytes: usage.highBytes } : {}) };
}

/** The store's own bytes: each referenced layer once, unpacked and as a blob. */
export function storeBytes(records: readonly ImageRecord[]): number {
  const layers = new Map<string, number>();
  for (const record of records) for (const layer of record.layers) layers.set(layer.diffID, layer.size + layer.blobSize);
  return [...layers.values()].reduce((sum, bytes) => sum + bytes, 0);
}

async function measure(store: ImageStore, records: ImageRecord[], policy: ImageGcPolicy | undefined): Promise<{ usedBytes: number; highBytes?: number; lowBytes: number }> {
  if (!policy) return { usedBytes: storeBytes(records), lowBytes: 0 };
  if ('bytes' in policy.high && 'bytes' in policy.low) return { usedBytes: storeBytes(records), highBytes: policy.high.bytes, lowBytes: policy.low.bytes };
  const fsStat = await fs.promises.statfs(store.imageDir);
  const capacity = fsStat.blocks * fsStat.bsize;
  const percentOf = (t: GcThreshold) => ('percent' in t ? (capacity * t.percent) / 100 : t.bytes);
  return { usedBytes: (fsStat.blocks - fsStat.bfree) * fsStat.bsize, highBytes: percentOf(policy.high), lowBytes: percentOf(policy.low) };
}

async function candidateOf(store: ImageStore, record: ImageRecord, lastUsed: ReadonlyMap<string, number> | undefined): Promise<GcCandidate> {
  const arrived = (await fs.promises.stat(store.recordFile(record.ref)).catch(() => undefined))?.mtimeMs ?? 0;
  return {
    ref: record.ref,
    lastUsedMs: Math.max(arrived, lastUsed?.get(record.ref) ?? 0),
    layers: record.layers.map((l) => ({ diffID: l.diffID, bytes: l.size + l.blobSize })),
  };
}

function normalRef(ref: string): string {
  try {
    return formatRef(parseRef(ref));
  } catch {
    return ref;
  }
}
