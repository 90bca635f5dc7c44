/**
 * What `tsctl drain` prints while it waits: one line per replica whenever its state changes, and
 * where it went once it left the node. Pure: successive answers of `GET /api/v1/nodes/NAME/drain` in,
 * lines out.
 */
import { DrainItem, DrainProgress } from '@tide/api';

export class DrainLines {
  private last = new Map<string, DrainItem>();

  /** Lines for what changed since the previous answer. */
  next(progress: DrainProgress): string[] {
    const lines: string[] = [];
    const now = new Map(progress.remaining.map((item) => [`${item.namespace}/${item.replica}`, item]));
    for (const [key, item] of now) {
      if (this.last.get(key)?.message !== item.message) lines.push(`  ${item.replica}: ${item.message}`);
    }
    for (const [key, item] of this.last) {
      if (now.has(key)) continue;
      const replacement = item.replacement;
      lines.push(replacement?.node ? `  ${item.replica}: moved to ${replacement.node} (${replacement.name})` : `  ${item.replica}: left the node`);
    }
    this.last = now;
    return lines;
  }
}

/** "web-abc: stuck: ...; api-def: replacement ... starting on node-2" for an error message. */
export function remainingText(progress: DrainProgress): string {
  const items = progress.remaining.map((item) => `${item.replica}: ${item.message}`);
  if (progress.stopping.length) items.push(`stopping: ${progress.stopping.join(', ')}`);
  return items.join('; ');
}
