/** `tsctl cordon NODE`, `tsctl uncordon NODE`, `tsctl drain NODE [--timeout SECONDS]`, `tsctl node delete NODE`. */
import { DrainProgress, Node } from '@tide/api';
import { ApiError } from '../api/api.client';
import { UsageError, intOption } from '../cli/args';
import { sleep } from '../cluster/processes';
import { DrainLines, remainingText } from '../output/drain.lines';
import { Command, CommandContext, CommandError } from './command';

const POLL_MS = 250;
const CORDON_USAGE = 'tsctl cordon NODE';
const UNCORDON_USAGE = 'tsctl uncordon NODE';
const DRAIN_USAGE = 'tsctl drain NODE [--timeout SECONDS]';
const DEFAULT_DRAIN_TIMEOUT_SECONDS = 300;
const NODE_USAGE = 'tsctl node delete NODE';

function nodeArg(ctx: CommandContext, usage: string): string {
  const [word] = ctx.args;
  const name = word?.startsWith('node/') ? word.slice('node/'.length) : word;
  if (!name || ctx.args.length > 1) throw new UsageError(`expected one NODE\nusage: ${usage}`);
  return name;
}

function nodePath(name: string, action: string): string {
  return `/api/v1/nodes/${encodeURIComponent(name)}/${action}`;
}

/** A command that POSTs one node action and says what it did. */
function nodeAction(action: 'cordon' | 'uncordon', usage: string, summary: string): Command {
  return {
    name: action, usage, summary, options: [],
    async run(ctx) {
      const name = nodeArg(ctx, usage);
      await ctx.api.request<Node>('POST', nodePath(name, action));
      ctx.out(`node/${name} ${action}ed`);
    },
  };
}

export const cordonCommand = nodeAction('cordon', CORDON_USAGE, 'mark a node unschedulable: its replicas stay, no new one is placed there');
export const uncordonCommand = nodeAction('uncordon', UNCORDON_USAGE, 'make a node schedulable again (also stops a drain of it)');

export const drainCommand: Command = {
  name: 'drain',
  usage: DRAIN_USAGE,
  summary: 'cordon a node and move its replicas to other nodes, each stopped only once its replacement is ready',
  options: [{ long: 'timeout', help: `give up after this many seconds, 0 = never (default ${DEFAULT_DRAIN_TIMEOUT_SECONDS})` }],
  async run(ctx) {
    const name = nodeArg(ctx, DRAIN_USAGE);
    const timeout = intOption(ctx.options, 'timeout', DEFAULT_DRAIN_TIMEOUT_SECONDS, 0);
    const deadline = timeout === 0 ? Infinity : Date.now() + timeout * 1000;
    let progress = await ctx.api.request<DrainProgress>('POST', nodePath(name, 'drain'));
    ctx.out(`node/${name} cordoned`);
    if (!progress.empty) ctx.out(`draining node/${name}: ${progress.remaining.length} replica(s) to move`);
    const lines = new DrainLines();
    for (;;) {
      for (const line of lines.next(progress)) ctx.out(line);
      if (progress.empty) break;
      if (!progress.drain) throw new CommandError(`the drain of node ${name} was cancelled (uncordoned, or "DELETE ${nodePath(name, 'drain')}"): ${remainingText(progress)}`);
      if (Date.now() >= deadline) await giveUp(ctx, name, timeout, progress);
      await sleep(POLL_MS);
      progress = await ctx.api.request<DrainProgress>('GET', nodePath(name, 'drain'));
    }
    ctx.out(`node/${name} drained`);
  },
};

/** Stops further moves (the node stays cordoned) and fails with what is left and why. */
async function giveUp(ctx: CommandContext, name: string, timeout: number, progress: DrainProgress): Promise<never> {
  await ctx.api.request('DELETE', nodePath(name, 'drain')).catch((error: unknown) => {
    if (!(error instanceof ApiError)) throw error;
    ctx.note(`warning: could not stop the drain: ${error.message}`);
  });
  throw new CommandError(`drain of node ${name} timed out after ${timeout}s with ${progress.remaining.length + progress.stopping.length} replica(s) left: `
    + `${remainingText(progress)}. The node stays cordoned; moves already placed finish ("tsctl uncordon ${name}" to use it again)`);
}

/**
 * `tsctl node delete NODE`: revokes the node's certificate (its agent's next call is refused) and
 * removes the Node once no replica is bound to it. Joining again needs a new join token.
 */
export const nodeCommand: Command = {
  name: 'node',
  usage: NODE_USAGE,
  summary: 'delete a node: revoke its certificate (its agent is refused at once) and remove it once it has no replicas',
  options: [],
  async run(ctx) {
    const [action, ...rest] = ctx.args;
    if (action !== 'delete') throw new UsageError(`expected node delete NODE${action ? `, got "${ctx.args.join(' ')}"` : ''}\nusage: ${NODE_USAGE}`);
    const name = nodeArg({ ...ctx, args: rest }, NODE_USAGE);
    const answer = await ctx.api.request<{ node: string; revoked: boolean; removed: boolean; message: string }>('DELETE', `/api/v1/nodes/${encodeURIComponent(name)}`);
    ctx.out(`node/${name} deleted: ${answer.message}`);
  },
};
