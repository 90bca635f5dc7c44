/**
 * `tsctl image history`: the image's config history paired with its layers, newest first, as
 * `docker history` shows it. A history entry that is not an `empty_layer` made the next layer; an
 * image whose history is missing or shorter than its layers shows those layers without a step.
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
  const entries: HistoryEntry[] = [];
  let next = 0;
  for (const step of config.history ?? []) {
    const layer = step.empty_layer ? undefined : record.layers[next++];
    entries.push({
      ...(layer ? { layer: layer.diffID } : {}), ...(step.created ? { created: step.created } : {}),
      createdBy: step.created_by ?? '', sizeBytes: layer?.size ?? 0, ...(step.comment ? { comment: step.comment } : {}),
    });
  }
  for (const layer of record.layers.slice(next)) entries.push({ layer: layer.diffID, createdBy: '', sizeBytes: layer.size });
  return { ref: name, id: record.config, history: entries.reverse() };
}
