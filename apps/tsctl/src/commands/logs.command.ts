/** `tsctl logs REPLICA [-f]`: the replica's output, through the control plane from its node's agent. */
import { errorFromFetchResponse } from '../api/api.client';
import { UsageError } from '../cli/args';
import { Command, CommandContext, NAMESPACE_OPTION, namespaceOf, query } from './command';

const USAGE = 'tsctl logs REPLICA [-f] [-n NS]';

export const logsCommand: Command = {
  name: 'logs',
  usage: USAGE,
  summary: 'print the output of a replica (-f keeps following it)',
  options: [{ long: 'follow', short: 'f', boolean: true, help: 'keep printing new output' }, NAMESPACE_OPTION],
  async run(ctx: CommandContext): Promise<void> {
    const name = ctx.args[0]?.replace(/^replicas?\//, '');
    if (!name || ctx.args.length > 1) throw new UsageError(`usage: ${USAGE}`);
    const follow = ctx.options.has('follow');
    const namespace = namespaceOf(ctx);
    const response = await ctx.api.fetch('GET', `/api/v1/replicas/${encodeURIComponent(name)}/logs${query({ namespace, follow: follow ? '1' : undefined })}`);
    if (!response.ok) {
      const error = await errorFromFetchResponse(response);
      if (error.status === 404 && !error.message.includes(name)) error.message = `replica "${name}" not found in namespace ${namespace} (${error.message})`;
      throw error;
    }
    if (!response.body) return;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  },
};
