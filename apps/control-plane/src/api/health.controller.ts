/**
 * `/healthz`: the process answers (liveness: restart it when this fails). `/readyz`: it can serve,
 * that is etcd is reachable and has a leader (readiness: send it traffic); 503 with the reason
 * and Retry-After when not. Both public, for load balancers and supervisors without credentials.
 */
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { EtcdHealthState } from '@tide/store';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access, Public } from '../auth/access.decorator';
import { RETRY_AFTER_SECONDS } from './store.errors.filter';

/** A /readyz within this long of the last probe answers from it (probes run every second anyway). */
const READY_STATE_MAX_AGE_MS = 1500;

export interface Readiness {
  ready: boolean;
  /** Why not ready; also set when ready but writes are refused (NOSPACE). */
  reason?: string;
  etcd: { reachable: boolean; leader: boolean; alarms: string[] };
  /** Whether this control plane is the elected leader (runs the controllers); followers serve the API too. */
  leader: boolean;
}

@Controller()
export class HealthController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Get('healthz')
  @Public()
  healthz(): { ok: true; leader: boolean } {
    return { ok: true, leader: this.cluster.isLeader() };
  }

  @Get('readyz')
  @Public()
  async readyz(@Res({ passthrough: true }) res: Response): Promise<Readiness> {
    const health = this.cluster.etcdHealth;
    const state = health && Date.now() - health.state.checkedAt > READY_STATE_MAX_AGE_MS ? await health.probe() : health?.state;
    const readiness = readinessOf(state, this.cluster.isLeader());
    if (!readiness.ready) {
      res.status(503);
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    }
    return readiness;
  }

  @Get('metrics')
  @Access('get', 'metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return this.cluster.metrics.registry.metrics();
  }
}

/** Ready when etcd is reachable with a leader; a NOSPACE alarm is reported but reads still work. */
export function readinessOf(state: EtcdHealthState | undefined, leader: boolean): Readiness {
  if (!state) return { ready: true, etcd: { reachable: true, leader: true, alarms: [] }, leader };
  const etcd = { reachable: state.reachable, leader: state.leader, alarms: state.alarms };
  if (!state.reachable || !state.leader) return { ready: false, reason: state.reason ?? 'etcd unavailable', etcd, leader };
  if (state.alarms.includes('NOSPACE')) return { ready: true, reason: 'etcd NOSPACE alarm: writes are refused (507) until space is freed; reads and deletes work', etcd, leader };
  return { ready: true, etcd, leader };
}
