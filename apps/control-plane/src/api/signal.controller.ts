/**
 * `POST /api/v1/replicas/NAME/signal?namespace=NS&signal=SIGHUP`: the signal to the replica's main
 * process (`docker kill --signal`), through its agent's `/v1/signal/NS/NAME`; 204 once sent. Unlike a
 * stop, nothing else follows: a process that traps it runs on. Allowed to whoever may exec in the
 * namespace (the process could be signalled from an exec as well).
 */
import { BadGatewayException, Controller, HttpException, Inject, Param, Post, Query } from '@nestjs/common';
import { AgentError, agentOf, agentRequest } from './agent.client';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';
import { nodeOfReplica } from './replica.node';

const SIGNAL_TIMEOUT_MS = 10_000;

@Controller('api/v1/replicas')
export class ReplicaSignalController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Post(':name/signal')
  @Access('create', 'replicas/exec')
  async signal(@Param('name') name: string, @Query('namespace') namespace?: string, @Query('signal') signal?: string): Promise<void> {
    const ns = namespace || 'default';
    const node = await nodeOfReplica(this.cluster.store, ns, name, 'process to signal');
    const path = `/v1/signal/${encodeURIComponent(ns)}/${encodeURIComponent(name)}?${new URLSearchParams({ signal: signal ?? '' })}`;
    const answer = await agentRequest(agentOf(node, this.cluster.agentCredentials()), 'POST', path, { idleTimeoutMs: SIGNAL_TIMEOUT_MS }).catch((error: AgentError) => {
      throw new BadGatewayException({ error: error.message, details: [] });
    });
    let body = '';
    for await (const chunk of answer) body += String(chunk);
    if (answer.statusCode === 204) return;
    throw new HttpException({ error: errorOf(body), details: [] }, answer.statusCode ?? 502);
  }
}

function errorOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the text
  }
  return body.trim() || 'the agent refused the signal';
}
