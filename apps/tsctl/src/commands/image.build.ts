/**
 * `tsctl image build -t NAME[:TAG] [-f Dockerfile] DIR`: packs DIR (minus .dockerignore) into a tar,
 * streams it to the control plane, prints the build log as it comes, then where the image was copied.
 * The response is application/x-ndjson ending in exactly one result line, so success is never guessed
 * from log text. When the cluster has a registry, the result is pushed to it from the node that built it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Readable } from 'node:stream';
import { BuildResult, BuildStreamLine, imageReferenceProblem } from '@tide/api';
import { errorFromFetchResponse } from '../api/api.client';
import { UsageError } from '../cli/args';
import { listContext, packContext } from '../image/context.tar';
import { shortId } from '../output/image.tables';
import { CommandContext, CommandError } from './command';
import { pushImage } from './image.registry';

export async function buildImage(ctx: CommandContext, dir: string, tag: string | undefined, dockerfile: string | undefined, buildArgs: string[] = []): Promise<void> {
  if (!tag) throw new UsageError('image build needs -t NAME[:TAG]');
  const badArg = buildArgs.find((a) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a));
  if (badArg !== undefined) throw new UsageError(`--build-arg ${badArg}: give NAME=VALUE`);
  const problem = imageReferenceProblem(tag);
  if (problem) throw new UsageError(`-t: ${problem}`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir}: not a directory (the build context)`);
  const file = dockerfile ?? 'Dockerfile';
  if (path.isAbsolute(file) || file.split('/').includes('..')) throw new UsageError(`-f ${file}: give the Dockerfile's path inside ${dir}`);
  if (!fs.existsSync(path.join(dir, file))) throw new UsageError(`${path.join(dir, file)}: no such file (the Dockerfile)`);
  const entries = listContext(dir, file);
  const bytes = entries.reduce((sum, e) => sum + (e.stat.isFile() ? e.stat.size : 0), 0);
  ctx.note(`sending the build context: ${entries.length} entries, ${bytes} bytes`);
  const params = new URLSearchParams(Object.entries({ tag, ...(dockerfile ? { dockerfile } : {}) }));
  for (const arg of buildArgs) params.append('buildArg', arg);
  const response = await ctx.api.upload(`/api/v1/images/build?${params}`, packContext(dir, entries));
  if (!response.ok || !response.body) throw await errorFromFetchResponse(response);
  const result = await printBuildLog(ctx, Readable.fromWeb(response.body as never));
  if (!result) throw new CommandError('the build stream ended without a result (the control plane or the node stopped?)');
  if (!result.ok) throw new CommandError(`build failed: ${result.error ?? 'no reason given'}`);
  const copied = (result.distributed ?? []).map((r) => r.node);
  ctx.out(`Successfully built ${tag} (${shortId(result.image?.id ?? '')}) on ${result.node}${copied.length ? `, copied to ${copied.join(', ')}` : ''}`);
  if (await hasRegistry(ctx)) {
    await pushImage(ctx, tag, result.node).catch((error: Error) => {
      throw new CommandError(`built ${tag}, but pushing it to the cluster registry failed: ${error.message}`);
    });
  }
}

/** Whether the cluster has a registry (404: none; any other failure is the push's to report). */
async function hasRegistry(ctx: CommandContext): Promise<boolean> {
  const response = await ctx.api.fetch('GET', '/api/v1/registry');
  await response.body?.cancel();
  return response.status !== 404;
}

async function printBuildLog(ctx: CommandContext, body: Readable): Promise<BuildResult | undefined> {
  let result: BuildResult | undefined;
  for await (const text of readline.createInterface({ input: body, crlfDelay: Infinity })) {
    if (!text.trim()) continue;
    const line = JSON.parse(text) as BuildStreamLine;
    if ('result' in line) result = line.result;
    else ctx.out(line.log);
  }
  return result;
}
