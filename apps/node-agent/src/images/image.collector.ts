/**
 * The agent's image garbage collector: every 30 s and after each pull it measures the image disk use
 * against the node's thresholds (libs/runtime image.gc.ts) and removes unused images, least recently
 * used first; `prune()` removes every unused image (`tsctl image prune`). Never an image a replica on
 * this node uses (desired or still running), nor a built-in base image.
 *
 * The agents of one machine may share a store (`tsctl up` gives its local nodes one). Each agent
 * therefore writes the refs its replicas use to `<imageDir>/in-use/<node>.json` whenever its replicas
 * change, and a collection keeps the union of every node's marks: one agent never removes an image
 * another node's replica uses. A mark is only ever replaced, never expired: a node gone for good
 * pins its images until its file is removed (safe rather than sorry).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BUSYBOX_REF, CollectResult, ImageGcPolicy, ImageStore, collectImages, formatRef, nodeRefs, parseRef,
} from '@tide/runtime';

const INTERVAL_MS = 30_000;

export interface ImageCollectorOptions {
  store: ImageStore;
  nodeName: string;
  policy: ImageGcPolicy;
  /** Refs the replicas on this node use now (desired or with a container). */
  inUse: () => Iterable<string>;
  log: (line: string) => void;
  intervalMs?: number;
}

export class ImageCollector {
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> = Promise.resolve();
  private readonly lastUsed = new Map<string, number>();
  private lastMark = '';

  constructor(private readonly options: ImageCollectorOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.collect().catch(() => undefined), this.options.intervalMs ?? INTERVAL_MS); // logged in serial()
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Records this node's in-use refs in the shared store (a no-op when they did not change). */
  async mark(): Promise<string[]> {
    const refs = [...new Set([...this.options.inUse()].map(normal))].sort();
    const now = Date.now();
    for (const ref of refs) this.lastUsed.set(ref, now);
    const text = JSON.stringify({ node: this.options.nodeName, refs });
    if (text !== this.lastMark) {
      await this.options.store.writeAtomic(this.markFile(this.options.nodeName), Buffer.from(text));
      this.lastMark = text;
    }
    return refs;
  }

  /** A collection against the thresholds; one at a time. */
  collect(): Promise<CollectResult | undefined> {
    return this.serial(async () => {
      const result = await collectImages(this.options.store, await this.collectOptions(this.options.policy));
      if (result.removed.length > 0) {
        this.options.log(`image disk use ${mb(result.usedBytes)} passed ${mb(result.highBytes ?? 0)}: removed ${result.removed.join(', ')} (${mb(result.freedBytes)} freed)`);
      }
      return result;
    });
  }

  /** Removes every image no replica of any node sharing the store uses. */
  prune(): Promise<CollectResult> {
    return this.serial(async () => {
      const result = await collectImages(this.options.store, await this.collectOptions(undefined));
      if (result.removed.length > 0) this.options.log(`pruned ${result.removed.join(', ')} (${mb(result.freedBytes)} freed)`);
      return result;
    });
  }

  private async collectOptions(policy: ImageGcPolicy | undefined) {
    const mine = await this.mark();
    const others = await this.otherMarks();
    return { inUse: [...mine, ...others], pinned: [BUSYBOX_REF, ...nodeRefs()], lastUsed: this.lastUsed, ...(policy ? { policy } : {}) };
  }

  private async otherMarks(): Promise<string[]> {
    const dir = path.join(this.options.store.imageDir, 'in-use');
    const refs: string[] = [];
    for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('.json') || name === `${this.options.nodeName}.json`) continue;
      const text = await fs.promises.readFile(path.join(dir, name), 'utf8').catch(() => '');
      try {
        const mark = JSON.parse(text) as { refs?: unknown };
        if (Array.isArray(mark.refs)) refs.push(...mark.refs.filter((r): r is string => typeof r === 'string'));
      } catch {
        /* a mark being replaced: the rename makes this rare, and the next round reads it */
      }
    }
    return refs;
  }

  private markFile(node: string): string {
    return path.join(this.options.store.imageDir, 'in-use', `${node}.json`);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.then(work);
    this.running = next.catch((error: Error) => this.options.log(`image garbage collection failed: ${error.message}`));
    return next;
  }
}

function normal(ref: string): string {
  try {
    return formatRef(parseRef(ref));
  } catch {
    return ref;
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
