/** What every tsctl command gets, and the helpers they share. */
import { ApiClient } from '../api/api.client';
import { CliConfig } from '../api/cli.config';
import { OptionSpec, UsageError } from '../cli/args';

export interface CommandContext {
  /** The API at --server (or the configured one). */
  api: ApiClient;
  config: CliConfig;
  args: string[];
  options: Map<string, string>;
  out(text: string): void;
  /** Notes for the user that are not the command's output (kept off stdout so that -o json pipes cleanly). */
  note(text: string): void;
}

export interface Command {
  name: string;
  usage: string;
  summary: string;
  options: OptionSpec[];
  /** Resolves with tsctl's exit code when it is not simply 0 (exec passes the remote one on). */
  run(ctx: CommandContext): Promise<void | number>;
  /** The least exit code of a failure when 1 means something else (diff: 1 is "there are differences"). */
  errorExitCode?: number;
}

export const NAMESPACE_OPTION: OptionSpec = { long: 'namespace', short: 'n', help: 'namespace (default: default)' };

export type ResourceKind = 'services' | 'replicas' | 'nodes' | 'events' | 'configmaps' | 'secrets' | 'volumes';

const KIND_WORDS: Record<string, ResourceKind> = {
  service: 'services', services: 'services', svc: 'services',
  replica: 'replicas', replicas: 'replicas',
  node: 'nodes', nodes: 'nodes', no: 'nodes',
  event: 'events', events: 'events', ev: 'events',
  configmap: 'configmaps', configmaps: 'configmaps', cm: 'configmaps',
  secret: 'secrets', secrets: 'secrets',
  volume: 'volumes', volumes: 'volumes', vol: 'volumes',
};

/** "services", "svc", and the kubectl form "service/hello" (which also names the object). */
export function parseKind(word: string | undefined, allowed: ResourceKind[], usage: string): { kind: ResourceKind; name?: string } {
  const [kindWord, name] = (word ?? '').split('/', 2);
  const kind = KIND_WORDS[kindWord];
  if (!word || !kind || !allowed.includes(kind)) {
    throw new UsageError(`expected ${allowed.join(', ')}${word ? `, got "${word}"` : ''}\nusage: ${usage}`);
  }
  return { kind, ...(name ? { name } : {}) };
}

export function namespaceOf(ctx: CommandContext): string {
  return ctx.options.get('namespace') ?? 'default';
}

export function singular(kind: ResourceKind): string {
  return kind.slice(0, -1);
}

export function query(params: Record<string, string | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : '';
}

/** The command ran and failed in a way the user can act on (a build step, a node that refused): exit 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}
