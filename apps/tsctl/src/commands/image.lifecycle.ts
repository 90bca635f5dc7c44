/**
 * `tsctl image prune`: every Ready node removes the images no replica on it uses;
 * `tsctl image commit REPLICA NAME:TAG [-n NS]`: the replica's container changes become a new image
 * on its node; `tsctl image history NAME [-o json|yaml]`: the image's layers and the step that made each.
 */
import { NodeImage, NodeResult } from '@tide/api';
import { UsageError } from '../cli/args';
import { formatStructured, parseOutputFormat } from '../output/table';
import { historyTable, humanSize, shortId } from '../output/image.tables';
import { CommandContext, CommandError, namespaceOf } from './command';

export interface ImageHistory {
  node: string;
  ref: string;
  id: string;
  history: { layer?: string; created?: string; createdBy: string; sizeBytes: number; comment?: string }[];
}

export async function pruneImages(ctx: CommandContext): Promise<void> {
  const { results } = await ctx.api.request<{ results: NodeResult<{ removed: string[]; freedBytes: number }>[] }>('POST', '/api/v1/images/prune', {});
  for (const r of results) {
    if (!r.ok || !r.value) ctx.note(`${r.node}: failed: ${r.error}`);
    else if (r.value.removed.length === 0) ctx.out(`${r.node}: nothing to remove`);
    else ctx.out(`${r.node}: removed ${r.value.removed.join(', ')} (${humanSize(r.value.freedBytes)} freed)`);
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.node);
  if (failed.length) throw new CommandError(`could not prune images on ${failed.join(', ')}`);
}

export async function commitImage(ctx: CommandContext, replica: string, ref: string): Promise<void> {
  const namespace = namespaceOf(ctx);
  const { node, image } = await ctx.api.request<{ node: string; image: NodeImage }>('POST', '/api/v1/images/commit', { replica, namespace, ref });
  ctx.out(`${node}: committed ${namespace}/${replica} as ${image.ref} (${shortId(image.id)}, ${image.layers.length} layers)`);
}

export async function showHistory(ctx: CommandContext, ref: string): Promise<void> {
  const format = parseOutputFormat(ctx.options.get('output'));
  if (format === 'wide') throw new UsageError('image history prints json or yaml with -o, or a table without it');
  const answer = await ctx.api.get<ImageHistory>(`/api/v1/images/${encodeURIComponent(ref)}/history`);
  if (format === 'json' || format === 'yaml') return ctx.out(formatStructured(answer, format));
  ctx.out(historyTable(answer.history));
}
