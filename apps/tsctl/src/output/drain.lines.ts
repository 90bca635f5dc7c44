/**
 * What `tsctl drain` prints while it waits: one line per replica whenever its state changes, and
 * where it went once it left the node. Pure: successive answers of `GET /api/v1/nodes/NAME/drain` in,
 * lines out.
 */
import { DrainItem, DrainProgress } from '@tide/api';

export class DrainLines {
  private last = new Map<string, DrainItem>();
  /** Replicas seen on the node during this drain: only their moves are told (the node may have older ones). */
  private seen = new Set<string>();
  private told = new Set<string>();

  /** Lines for what changed since the previous answer. */
  next(progress: DrainProgress): string[] {
    const lines: string[] = [];
    const now = new Map([...progress.remaining, ...progress.stopping].map((item) => [`${item.namespace}/${item.replica}`, item]));
    for (const [key, item] of now) {
      this.seen.add(key);
      if (this.last.get(key)?.message !== item.message) lines.push(`  ${item.replica}: ${item.message}`);
    }
    for (const move of progress.moved) {
      const key = `${move.namespace}/${move.replica}`;
      if (!this.seen.has(key) || this.told.has(key)) continue;
      this.told.add(key);
      lines.push(`  ${move.replica}: moved to ${move.node} (${move.replacement})`);
    }
    for (const [key, item] of this.last) {
      if (!now.has(key) && !this.told.has(key)) lines.push(`  ${item.replica}: left the node`);
    }
    this.last = now;
    return lines;
  }
}

/** "web-abc: stuck: ...; api-def: replacement ... starting on node-2" for an error message. */
export function remainingText(progress: DrainProgress): string {
  const items = progress.remaining.map((item) => `${item.replica}: ${item.message}`);
  for (const item of progress.stopping) items.push(`${item.replica}: ${item.message}`);
  return items.join('; ');
}
