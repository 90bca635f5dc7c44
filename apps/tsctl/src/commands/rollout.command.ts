/**
 * `tsctl rollout status|history|undo|restart service NAME`: follow a rolling update until it is done or
 * stuck, list the Service's revisions, apply an earlier revision's template again, restart the replicas.
 */
import { RollbackResult, Service, ServiceRevision } from '@tide/api';
import { UsageError, intOption } from '../cli/args';
import { sleep } from '../cluster/processes';
import { historyTable, rolloutState } from '../output/rollout.lines';
import { formatStructured, parseOutputFormat } from '../output/table';
import { Command, CommandContext, CommandError, NAMESPACE_OPTION, namespaceOf, parseKind, query } from './command';

const POLL_MS = 250;
const USAGE = [
  'tsctl rollout status service NAME [--timeout SECONDS]',
  '       tsctl rollout history service NAME [--revision N] [-o json|yaml]',
  '       tsctl rollout undo service NAME [--to-revision N]',
  '       tsctl rollout restart service NAME',
].join('\n');

const SUBCOMMAND_OPTIONS: Record<string, string[]> = { status: ['timeout'], history: ['revision', 'output'], undo: ['to-revision'], restart: [] };

export const rolloutCommand: Command = {
  name: 'rollout',
  usage: USAGE,
  summary: 'follow, list or undo the rolling updates of a service, or restart its replicas (a rolling update)',
  options: [
    NAMESPACE_OPTION,
    { long: 'timeout', help: 'status: give up after this many seconds (default 0: until done or stuck)' },
    { long: 'revision', help: 'history: print that revision\'s template' },
    { long: 'output', short: 'o', help: 'history: json or yaml' },
    { long: 'to-revision', help: 'undo: the revision to go back to (default: the one before the current)' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const [sub, kindWord, ...rest] = ctx.args;
    if (!sub || !(sub in SUBCOMMAND_OPTIONS)) throw new UsageError(`rollout needs status, history, undo or restart${sub ? `, got "${sub}"` : ''}\nusage: ${USAGE}`);
    const stray = [...ctx.options.keys()].find((o) => Object.values(SUBCOMMAND_OPTIONS).flat().includes(o) && !SUBCOMMAND_OPTIONS[sub].includes(o));
    if (stray) throw new UsageError(`--${stray} does not apply to "rollout ${sub}"\nusage: ${USAGE}`);
    const target = parseKind(kindWord, ['services'], USAGE);
    const name = target.name ?? rest.shift();
    if (!name || rest.length > 0) throw new UsageError(`rollout ${sub} needs one service NAME\nusage: ${USAGE}`);
    if (sub === 'status') return rolloutStatus(ctx, name);
    if (sub === 'history') return rolloutHistory(ctx, name);
    if (sub === 'restart') return rolloutRestart(ctx, name);
    return rolloutUndo(ctx, name);
  },
};

function servicePath(ctx: CommandContext, name: string, action = ''): string {
  return `/api/v1/services/${encodeURIComponent(name)}${action}${query({ namespace: namespaceOf(ctx) })}`;
}

/** Prints each new state until the rollout is done (exit 0), stuck or out of time (exit 1). */
async function rolloutStatus(ctx: CommandContext, name: string): Promise<void> {
  const timeout = intOption(ctx.options, 'timeout', 0, 0);
  const deadline = timeout === 0 ? Infinity : Date.now() + timeout * 1000;
  let last = '';
  for (;;) {
    const state = rolloutState(await ctx.api.get<Service>(servicePath(ctx, name)));
    if (state.state === 'stuck') throw new CommandError(state.text);
    if (state.text !== last) ctx.out(state.text);
    last = state.text;
    if (state.state === 'done') return;
    if (Date.now() >= deadline) throw new CommandError(`timed out after ${timeout}s waiting for service "${name}" to roll out (the rollout goes on)`);
    await sleep(POLL_MS);
  }
}

async function rolloutHistory(ctx: CommandContext, name: string): Promise<void> {
  const { items } = await ctx.api.get<{ items: ServiceRevision[] }>(servicePath(ctx, name, '/revisions'));
  const format = parseOutputFormat(ctx.options.get('output'));
  if (ctx.options.has('revision')) {
    const wanted = intOption(ctx.options, 'revision', 0, 1);
    const revision = items.find((r) => r.spec.revision === wanted);
    if (!revision) throw new CommandError(`revision ${wanted} not found in the history of service "${name}" (revisions: ${items.map((r) => r.spec.revision).join(', ') || 'none'})`);
    ctx.out(formatStructured(format === 'json' ? revision : revision.spec.template, format === 'json' ? 'json' : 'yaml'));
    return;
  }
  if (format === 'json' || format === 'yaml') return ctx.out(formatStructured({ items }, format));
  ctx.out(`service/${name}`);
  ctx.out(historyTable(items));
}

async function rolloutUndo(ctx: CommandContext, name: string): Promise<void> {
  const revision = ctx.options.has('to-revision') ? intOption(ctx.options, 'to-revision', 0, 1) : undefined;
  const result = await ctx.api.request<RollbackResult>('POST', servicePath(ctx, name, '/rollback'), revision === undefined ? {} : { revision });
  ctx.out(result.action === 'unchanged'
    ? `service/${name} skipped rollback (the current template is already revision ${result.revision}'s)`
    : `service/${name} rolled back to revision ${result.revision}`);
}

/** A new template annotation (tide/restartedAt): the replicas roll as for any template change. */
async function rolloutRestart(ctx: CommandContext, name: string): Promise<void> {
  const result = await ctx.api.request<{ restartedAt: string }>('POST', servicePath(ctx, name, '/restart'), {});
  ctx.out(`service/${name} restarted (tide/restartedAt: ${result.restartedAt}; "tsctl rollout status service ${name}" follows the rollout)`);
}
