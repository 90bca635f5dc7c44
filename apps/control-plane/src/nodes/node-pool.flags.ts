/**
 * `--node-pool name=NAME,min=N,max=N,cpu=Q,memory=Q` (cpu and memory: what each node offers as
 * allocatable, quantity syntax), `--local-nodes STATE_DIR` (the provider: agents of this machine in
 * the loopback layout of `tsctl up`, which passes both), `--node-scale-down-delay-seconds N`,
 * `--node-lead-seconds N` (how far ahead nodes are made for scheduled floors and forecasts).
 */
import { parseCpu, parseMemory } from '@tide/api';
import { NodePool, nodePoolErrors } from '@tide/control';

export interface NodePoolSettings {
  pool: NodePool;
  /** The cluster's state dir, where the local provider puts its nodes. */
  localNodes: string;
  scaleDownDelaySeconds: number;
  leadSeconds: number;
}

/** A cloud VM to a Ready node takes about a minute; a local agent, seconds. */
export const DEFAULT_NODE_LEAD_SECONDS = 60;

export class NodePoolFlagError extends Error {}

const KEYS = ['name', 'min', 'max', 'cpu', 'memory'];

/** Undefined without `--node-pool`; the flags named in every error. */
export function nodePoolSettings(values: ReadonlyMap<string, string>): NodePoolSettings | undefined {
  const spec = values.get('node-pool');
  const localNodes = values.get('local-nodes');
  if (spec === undefined) {
    if (localNodes !== undefined || values.has('node-scale-down-delay-seconds') || values.has('node-lead-seconds')) {
      throw new NodePoolFlagError('--local-nodes, --node-scale-down-delay-seconds and --node-lead-seconds go with --node-pool');
    }
    return undefined;
  }
  if (localNodes === undefined) throw new NodePoolFlagError('--node-pool needs a provider: --local-nodes STATE_DIR (the cluster state dir of tsctl up)');
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const [key, value] = part.split('=', 2);
    if (!KEYS.includes(key) || value === undefined) throw new NodePoolFlagError(`--node-pool: expected ${KEYS.map((k) => `${k}=…`).join(',')}, got "${part}"`);
    fields.set(key, value);
  }
  const missing = KEYS.filter((k) => !fields.has(k));
  if (missing.length) throw new NodePoolFlagError(`--node-pool: missing ${missing.join(', ')} (name=burst,min=0,max=3,cpu=1,memory=1Gi)`);
  const quantity = (key: string, parse: (q: string) => number) => {
    try {
      return parse(fields.get(key)!);
    } catch (error) {
      throw new NodePoolFlagError(`--node-pool: ${key}: ${(error as Error).message}`);
    }
  };
  const pool: NodePool = {
    name: fields.get('name')!, minNodes: Number(fields.get('min')), maxNodes: Number(fields.get('max')),
    template: { cpu: quantity('cpu', parseCpu), memory: quantity('memory', parseMemory), labels: {} },
  };
  const errors = nodePoolErrors(pool);
  if (errors.length) throw new NodePoolFlagError(`--node-pool: ${errors.join('; ')}`);
  const delay = Number(values.get('node-scale-down-delay-seconds') ?? 60);
  if (!Number.isFinite(delay) || delay < 0) throw new NodePoolFlagError('--node-scale-down-delay-seconds: expected a number of seconds, 0 or more');
  const lead = Number(values.get('node-lead-seconds') ?? DEFAULT_NODE_LEAD_SECONDS);
  if (!Number.isFinite(lead) || lead < 0) throw new NodePoolFlagError('--node-lead-seconds: expected a number of seconds, 0 or more');
  return { pool, localNodes, scaleDownDelaySeconds: delay, leadSeconds: lead };
}
