/** The node autoscaler of `--node-pool`, over the local provider of `--local-nodes`: its join tokens and revocations. */
import * as path from 'node:path';
import { createJoinToken } from '@tide/auth';
import { ClusterCache, ObjectStore, TokenStore } from '@tide/store';
import { ControlPlaneConfig } from '../config';
import { EventRecorder } from '../controllers/events.recorder';
import { ForecastReplicas, NodeAutoscalerController } from '../controllers/node-autoscaler.controller';
import { NodeEnrollment } from '../node-identity/node.enrollment';
import { LocalNodeProvider } from './local.node.provider';

/** A new node joins once, by its own name, within 10 minutes: what a booting agent needs and no more. */
const JOIN_TTL_MS = 600_000;

export interface NodeAutoscalerParts {
  store: ObjectStore;
  events: EventRecorder;
  cache: ClusterCache;
  tokens: TokenStore;
  enrollment: NodeEnrollment;
  /** The autoscaler controller's forecasts (predictive mode), for nodes ahead of the rise. */
  forecast: ForecastReplicas;
  log(line: string): void;
}

export function nodeAutoscaler(config: ControlPlaneConfig, parts: NodeAutoscalerParts): NodeAutoscalerController | undefined {
  const settings = config.nodePool;
  if (!settings) return undefined;
  const provider = new LocalNodeProvider({
    stateDir: path.resolve(settings.localNodes), basePort: config.listen.port, grpcListen: config.grpcListen, log: parts.log,
    joinToken: async (node) => {
      const made = createJoinToken({ nodeName: node, maxUses: 1, ttlMs: JOIN_TTL_MS, description: `node autoscaler: ${node} of pool ${settings.pool.name}` });
      if (!made.ok) throw new Error(made.reason);
      await parts.tokens.create(made.value.record);
      return { token: made.value.token, caHash: parts.enrollment.caHash() };
    },
  });
  return new NodeAutoscalerController(parts.store, parts.events, parts.cache, provider, settings, (node) => parts.enrollment.revoke(node), parts.forecast);
}
