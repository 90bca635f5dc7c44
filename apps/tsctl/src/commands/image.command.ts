/**
 * `tsctl image import FILE.tar | ls [-o json|yaml] | rm REF | tag SOURCE TARGET | build -t NAME:TAG [-f Dockerfile] DIR`
 * (and push, pull, prune, commit, history: image.registry.ts, image.lifecycle.ts):
 * images live on every node; the control plane fans each request out and answers per node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClusterImage, NodeImage, NodeResult, imageReferenceProblem } from '@tide/api';
import { errorFromFetchResponse } from '../api/api.client';
import { UsageError, repeatedValues } from '../cli/args';
import { formatStructured, parseOutputFormat } from '../output/table';
import { imagesTable, shortId } from '../output/image.tables';
import { buildImage } from './image.build';
import { commitImage, pruneImages, showHistory } from './image.lifecycle';
import { pullImage, pushImage } from './image.registry';
import { Command, CommandContext, CommandError, NAMESPACE_OPTION } from './command';

const USAGE = [
  'tsctl image import FILE.tar',
  '       tsctl image ls [-o json|yaml]',
  '       tsctl image rm NAME[:TAG]',
  '       tsctl image tag SOURCE[:TAG] TARGET[:TAG]',
  '       tsctl image build -t NAME[:TAG] [-f Dockerfile] [--build-arg NAME=VALUE]... DIR',
  '       tsctl image push NAME[:TAG] [--node NODE]',
  '       tsctl image pull REF [--no-p2p]',
  '       tsctl image prune',
  '       tsctl image commit REPLICA NAME[:TAG] [-n NAMESPACE]',
  '       tsctl image history NAME[:TAG] [-o json|yaml]',
].join('\n');

export const imageCommand: Command = {
  name: 'image',
  usage: USAGE,
  summary: 'import, list, remove, tag, build, push, pull, prune, commit images and show their history',
  options: [
    { long: 'output', short: 'o', help: 'ls, history: json or yaml' },
    { ...NAMESPACE_OPTION, help: 'commit: the namespace of the replica (default: default)' },
    { long: 'tag', short: 't', help: 'build: NAME[:TAG] of the result' },
    { long: 'file', short: 'f', help: 'build: the Dockerfile, relative to DIR (default Dockerfile)' },
    { long: 'build-arg', repeatable: true, help: 'build: NAME=VALUE for an ARG of the Dockerfile (repeatable)' },
    { long: 'node', help: 'push: the node whose image is pushed (default: the first that has it)' },
    { long: 'no-p2p', boolean: true, help: 'pull: every node fetches every layer from the registry (no peer-to-peer)' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const [sub, ...args] = ctx.args;
    const allowed: Record<string, string[]> = { import: [], ls: ['output'], list: ['output'], rm: [], remove: [], tag: [], build: ['tag', 'file', 'build-arg'], push: ['node'], pull: ['no-p2p'],
      prune: [], commit: ['namespace'], history: ['output'],
    };
    if (!sub || !(sub in allowed)) throw new UsageError(`image needs import, ls, rm, tag, build, push, pull, prune, commit or history${sub ? `, got "${sub}"` : ''}\nusage: ${USAGE}`);
    const stray = [...ctx.options.keys()].find((o) => ['output', 'tag', 'file', 'build-arg', 'node', 'namespace', 'no-p2p'].includes(o) && !allowed[sub].includes(o));
    if (stray) throw new UsageError(`--${stray} does not apply to "image ${sub}"\nusage: ${USAGE}`);
    const expect = (count: number, what: string) => {
      if (args.length !== count) throw new UsageError(`image ${sub} needs ${what}\nusage: ${USAGE}`);
    };
    if (sub === 'import') return expect(1, 'one FILE.tar'), importImages(ctx, args[0]);
    if (sub === 'ls' || sub === 'list') return expect(0, 'no arguments'), listImages(ctx);
    if (sub === 'rm' || sub === 'remove') return expect(1, 'one NAME[:TAG]'), removeImage(ctx, args[0]);
    if (sub === 'tag') return expect(2, 'SOURCE and TARGET'), tagImage(ctx, args[0], args[1]);
    if (sub === 'push') return expect(1, 'one NAME[:TAG]'), pushImage(ctx, args[0]);
    if (sub === 'pull') return expect(1, 'one REF'), pullImage(ctx, args[0]);
    if (sub === 'prune') return expect(0, 'no arguments'), pruneImages(ctx);
    if (sub === 'commit') return expect(2, 'REPLICA and NAME[:TAG]'), commitImage(ctx, args[0], args[1]);
    if (sub === 'history') return expect(1, 'one NAME[:TAG]'), showHistory(ctx, args[0]);
    expect(1, 'one build context DIR');
    return buildImage(ctx, args[0], ctx.options.get('tag'), ctx.options.get('file'), repeatedValues(ctx.options, 'build-arg'));
  },
};

async function importImages(ctx: CommandContext, file: string): Promise<void> {
  let size: number;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch (error) {
    throw new UsageError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  ctx.note(`importing ${path.basename(file)} (${size} bytes) on every Ready node...`);
  const response = await ctx.api.upload('/api/v1/images/import', fs.createReadStream(file));
  if (!response.ok) throw await errorFromFetchResponse(response);
  const { results } = (await response.json()) as { results: NodeResult<NodeImage[]>[] };
  reportPerNode(ctx, results, (images) => `imported ${images.map((i) => `${i.ref} (${shortId(i.id)})`).join(', ') || 'no images'}`, `import ${path.basename(file)}`);
}

async function listImages(ctx: CommandContext): Promise<void> {
  const format = parseOutputFormat(ctx.options.get('output'));
  if (format === 'wide') throw new UsageError('image ls prints json or yaml with -o, or a table without it');
  const { items, errors } = await ctx.api.get<{ items: ClusterImage[]; errors: NodeResult[] }>('/api/v1/images');
  for (const failed of errors ?? []) ctx.note(`warning: ${failed.node}: ${failed.error}`);
  if (format === 'json' || format === 'yaml') return ctx.out(formatStructured({ items }, format));
  if (items.length === 0) return ctx.note('No images found.');
  ctx.out(imagesTable(items));
}

async function removeImage(ctx: CommandContext, ref: string): Promise<void> {
  const problem = imageReferenceProblem(ref);
  if (problem) throw new UsageError(problem);
  const { results } = await ctx.api.request<{ results: NodeResult<'deleted' | 'absent'>[] }>('DELETE', `/api/v1/images/${encodeURIComponent(ref)}`);
  reportPerNode(ctx, results, (value) => (value === 'deleted' ? `removed ${ref}` : `did not have ${ref}`), `remove ${ref}`);
}

/** Every node that has SOURCE names it TARGET too; the nodes without it say so. */
async function tagImage(ctx: CommandContext, source: string, target: string): Promise<void> {
  for (const ref of [source, target]) {
    const problem = imageReferenceProblem(ref);
    if (problem) throw new UsageError(problem);
  }
  const { results } = await ctx.api.request<{ results: NodeResult<'tagged' | 'absent'>[] }>('POST', '/api/v1/images/tag', { source, target });
  reportPerNode(ctx, results, (value) => (value === 'tagged' ? `tagged ${source} as ${target}` : `did not have ${source}`), `tag ${source}`);
}

/** One line per node; a node that failed makes the command fail after every line is printed. */
function reportPerNode<T>(ctx: CommandContext, results: NodeResult<T>[], done: (value: T) => string, what: string): void {
  for (const r of results) {
    if (r.ok) ctx.out(`${r.node}: ${done(r.value as T)}`);
    else ctx.note(`${r.node}: failed: ${r.error}`);
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.node);
  if (failed.length) throw new CommandError(`could not ${what} on ${failed.join(', ')}`);
}
