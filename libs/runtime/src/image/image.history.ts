/**
 * `tsctl image history`: the image's config history paired with its layers, newest first, as
 * `docker history` shows it. A history entry that is not an `empty_layer` made the next layer; an
 * image whose history is missing or shorter than its layers shows its lowest layers without a step.
 */
import { ImageStore } from './image.store';
import { ImageError } from './image.types';
import { formatRef, parseRef } from './oci';

export interface HistoryEntry {
  /** The layer the step made (diffID), absent for a step that changed the config only. */
  layer?: string;
  created?: string;
  createdBy: string;
  /** Unpacked bytes of the layer (0 for a config-only step). */
  sizeBytes: number;
  comment?: string;
}

export async function imageHistory(store: ImageStore, ref: string): Promise<{ ref: string; id: string; history: HistoryEntry[] }> {
  const name = formatRef(parseRef(ref));
  const record = await store.record(name);
  if (!record) throw new ImageError('NotFound', `image "${name}" not found on this node`);
  const config = await store.readConfig(record.config);
  const steps = config.history ?? [];
  // Paired from the top: an image whose history misses entries (a base built without one) has them
  // missing for its lowest layers, which are listed without a step.
  const unexplained = Math.max(0, record.layers.length - steps.filter((step) => !step.empty_layer).length);
  const entries: HistoryEntry[] = record.layers.slice(0, unexplained).map((layer) => ({ layer: layer.diffID, createdBy: '', sizeBytes: layer.size }));
  let next = unexplained;
  for (const step of steps) {
    const layer = step.empty_layer ? undefined : record.layers[next++];
    entries.push({
      ...(layer ? { layer: layer.diffID } : {}), ...(step.created ? { created: step.created } : {}),
      createdBy: step.created_by ?? '', sizeBytes: layer?.size ?? 0, ...(step.comment ? { comment: step.comment } : {}),
    });
  }
  return { ref: name, id: record.config, history: entries.reverse() };
}
