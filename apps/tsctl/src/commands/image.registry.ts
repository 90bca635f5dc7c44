/**
 * `tsctl image push NAME[:TAG] [--node NODE]`: a node pushes the image from its store to the
 * cluster's registry (as `<registry>/NAME:TAG`), with the caller's rights; `tsctl image pull REF`:
 * every Ready node pulls REF (`repo:tag`, `host:port/repo:tag`, `repo@sha256:…`) into its store, the
 * nodes passing layers to each other (`--no-p2p`: each node from the registry).
 */
import { NodeImage, NodeResult } from '@tide/api';
import { shortId } from '../output/image.tables';
import { CommandContext, CommandError } from './command';

interface PushAnswer {
  node: string;
  repository: string;
  tag: string;
  digest: string;
  uploadedBlobs: number;
  blobs: number;
}

export async function pushImage(ctx: CommandContext, ref: string, node = ctx.options.get('node')): Promise<void> {
  ctx.note(`pushing ${ref}${node ? ` from ${node}` : ''} to the cluster registry...`);
  const pushed = await ctx.api.request<PushAnswer>('POST', '/api/v1/images/push', { ref, ...(node ? { node } : {}) });
  ctx.out(`${pushed.repository}:${pushed.tag} ${pushed.digest} (from ${pushed.node}: uploaded ${pushed.uploadedBlobs} of ${pushed.blobs} blobs)`);
}

export async function pullImage(ctx: CommandContext, ref: string, p2p = ctx.options.get('no-p2p') !== 'true'): Promise<void> {
  ctx.note(`pulling ${ref} on every Ready node${p2p ? '' : ' (each from the registry)'}...`);
  const pulled = await ctx.api.request<{ ref: string; results: NodeResult<{ image: NodeImage; digest: string; fetchedLayers: number; fromPeers?: number }>[] }>(
    'POST', '/api/v1/images/pull', { ref, ...(p2p ? {} : { p2p: false }) });
  for (const r of pulled.results) {
    const peers = r.value?.fromPeers ? `, ${r.value.fromPeers} from peers` : '';
    if (r.ok && r.value) ctx.out(`${r.node}: ${pulled.ref} ${r.value.digest} (image ${shortId(r.value.image?.id ?? '')}, ${r.value.fetchedLayers} layer(s) fetched${peers})`);
    else ctx.note(`${r.node}: failed: ${r.error}`);
  }
  const failed = pulled.results.filter((r) => !r.ok).map((r) => r.node);
  if (failed.length) throw new CommandError(`could not pull ${ref} on ${failed.join(', ')}`);
}
