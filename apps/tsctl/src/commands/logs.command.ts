/**
 * `tsctl logs REPLICA|service/NAME [-f] [--tail N] [--since 5m|TIME] [-p]`: a replica's output, through
 * the control plane from its node's agent. `service/NAME` reads every replica of the service at once,
 * each line prefixed with `[REPLICA] ` (with -f, lines as they come from whichever replica).
 */
import type { Replica } from '@tide/api';
import { errorFromFetchResponse } from '../api/api.client';
import { UsageError } from '../cli/args';
import { Command, CommandContext, NAMESPACE_OPTION, namespaceOf, query } from './command';

const USAGE = 'tsctl logs REPLICA|service/NAME [-f] [--tail N] [--since 5m|2024-05-01T12:00:00Z] [-p] [-n NS]';

export const logsCommand: Command = {
  name: 'logs',
  usage: USAGE,
  summary: 'print the output of a replica, or of every replica of a service (-f keeps following it)',
  options: [
    { long: 'follow', short: 'f', boolean: true, help: 'keep printing new output' },
    { long: 'tail', help: 'only the last N lines (of each replica)' },
    { long: 'since', help: 'only output written since a duration ago (10s, 5m, 2h) or an RFC 3339 time' },
    { long: 'previous', short: 'p', boolean: true, help: 'the container before the current one (before its last restart)' },
    NAMESPACE_OPTION,
  ],
  async run(ctx: CommandContext): Promise<void> {
    const target = ctx.args[0];
    if (!target || ctx.args.length > 1) throw new UsageError(`usage: ${USAGE}`);
    const namespace = namespaceOf(ctx);
    const params = logParams(ctx.options, Date.now());
    const service = /^(?:services?|svc)\/(.+)$/.exec(target)?.[1];
    if (service === undefined) {
      const name = target.replace(/^replicas?\//, '');
      return copyTo(await openLog(ctx, name, namespace, params), (chunk) => write(chunk));
    }
    const replicas = (await ctx.api.get<{ items: Replica[] }>(`/api/v1/replicas${query({ namespace, service })}`)).items
      .filter((replica) => replica.spec.nodeName && !replica.metadata.deletionTimestamp);
    if (replicas.length === 0) throw new UsageError(`service "${service}" has no scheduled replica in namespace ${namespace}`);
    const opened = await Promise.all(replicas.map(async (replica) => ({ name: replica.metadata.name, body: await openLog(ctx, replica.metadata.name, namespace, params) })));
    await Promise.all(opened.map(({ name, body }) => copyLines(body, `[${name}] `)));
  },
};

/** The API's log parameters from the options: tailLines, sinceTime (a duration is made a time now), previous, follow. */
export function logParams(options: Map<string, string>, nowMs: number): Record<string, string | undefined> {
  const tail = options.get('tail');
  if (tail !== undefined && !/^\d{1,9}$/.test(tail)) throw new UsageError(`--tail: expected a number of lines, got "${tail}"`);
  const since = options.get('since');
  if (options.has('follow') && options.has('previous')) throw new UsageError('--previous: the previous container has exited and cannot be followed (drop -f)');
  return {
    follow: options.has('follow') ? '1' : undefined,
    previous: options.has('previous') ? '1' : undefined,
    tailLines: tail,
    sinceTime: since === undefined ? undefined : sinceTime(since, nowMs),
  };
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

function sinceTime(value: string, nowMs: number): string {
  const duration = /^(\d+)(s|m|h)$/.exec(value);
  if (duration) return new Date(nowMs - Number(duration[1]) * UNIT_MS[duration[2]]).toISOString();
  const ms = /^\d{4}-\d\d-\d\dT/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--since: expected a duration (10s, 5m, 2h) or an RFC 3339 time (2024-05-01T12:00:00Z), got "${value}"`);
  return new Date(ms).toISOString();
}

async function openLog(ctx: CommandContext, name: string, namespace: string, params: Record<string, string | undefined>): Promise<AsyncIterable<Uint8Array> | undefined> {
  const response = await ctx.api.fetch('GET', `/api/v1/replicas/${encodeURIComponent(name)}/logs${query({ namespace, ...params })}`);
  if (!response.ok) {
    const error = await errorFromFetchResponse(response);
    // A 404 of the agent says the replica is not there, unless it is about its previous container.
    if (error.status === 404 && !params.previous && !error.message.includes(name)) error.message = `replica "${name}" not found in namespace ${namespace} (${error.message})`;
    throw error;
  }
  return (response.body ?? undefined) as AsyncIterable<Uint8Array> | undefined;
}

async function write(chunk: Uint8Array | string): Promise<void> {
  if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

async function copyTo(body: AsyncIterable<Uint8Array> | undefined, sink: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  if (!body) return;
  for await (const chunk of body) await sink(chunk);
}

/** Whole lines only, each with the prefix (a line cut between two chunks is joined first). */
async function copyLines(body: AsyncIterable<Uint8Array> | undefined, prefix: string): Promise<void> {
  const decoder = new TextDecoder();
  let partial = '';
  await copyTo(body, async (chunk) => {
    const text = partial + decoder.decode(chunk, { stream: true });
    const cut = text.lastIndexOf('\n');
    partial = text.slice(cut + 1);
    if (cut >= 0) await write(`${text.slice(0, cut).split('\n').map((line) => prefix + line).join('\n')}\n`);
  });
  if (partial) await write(`${prefix}${partial}\n`);
}
