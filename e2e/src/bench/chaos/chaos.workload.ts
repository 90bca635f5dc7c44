/**
 * The workload every chaos scenario runs under: a web Service on a published port behind open-loop
 * HTTP load through every node's balancer, and a steady stream of applies and scales of sleeping
 * Services (write.stream.ts). Ports: the bench's range is 21970-22069 (chaos.bench.ts).
 */
import type { Replica, Service } from '@tide/api';
import { TestCluster, running, waitFor } from '../../harness';
import { CHURN_PREFIX } from './write.stream';

export const BASE_PORT = 21970;
export const PUBLISH_PORT = 22050;
/** A second control plane, and a control plane on a wiped state dir when it needs other ports. */
export const SPARE_API_PORT = 22020;
export const WEB = 'chx-web';
export const WEB_REPLICAS = 4;
export const CHURN = [0, 1, 2].map((i) => `${CHURN_PREFIX}${i}`);
/** The container ids the suite made (`<namespace>.<replica>`): what the leak checks look at. */
export const ID_PREFIXES = [`default.${WEB}-`, `default.${CHURN_PREFIX}`, 'default.chx-'];

/** The web Service; `mark` goes into its template's env (a new one rolls it out) and the write ledger. */
export function webService(mark: string): unknown {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: WEB, namespace: 'default' },
    spec: {
      replicas: WEB_REPLICAS, image: 'busybox',
      command: ['sh', '-c', 'mkdir /www; hostname > /www/index.html; exec httpd -f -p 8080 -h /www'],
      env: { MARK: mark }, resources: { requests: { cpu: '20m', memory: '16Mi' } },
      ports: [{ name: 'http', containerPort: 8080, publish: PUBLISH_PORT, protocol: 'HTTP' }],
      probes: { readiness: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } },
      update: { maxSurge: 1, maxUnavailable: 0 }, placement: { maxSkew: 1 }, terminationGracePeriodSeconds: 2,
    },
  };
}

/** The web Service serves on its current template: every replica Running and ready, none old. */
export async function webServing(cluster: TestCluster, server: string): Promise<boolean> {
  const response = await cluster.fetch(`/api/v1/services/${WEB}?namespace=default`, { signal: AbortSignal.timeout(5000) }, server).catch(() => undefined);
  if (!response?.ok) return false;
  const service = (await response.json()) as Service;
  const status = service.status;
  if (!status || status.observedGeneration !== service.metadata.generation) return false;
  if (status.updatedReadyReplicas !== WEB_REPLICAS || (status.oldReplicas ?? 0) > 0) return false;
  const replicas = running(await listReplicas(cluster, server, WEB));
  return replicas.length === WEB_REPLICAS && replicas.every((r) => r.status?.ready);
}

/** Every Service of the suite has what it asks for Running, and nothing else is left of it. */
export async function converged(cluster: TestCluster, server: string, names: string[]): Promise<boolean> {
  for (const name of names) {
    const response = await cluster.fetch(`/api/v1/services/${name}?namespace=default`, { signal: AbortSignal.timeout(5000) }, server).catch(() => undefined);
    if (response?.status === 404) {
      if ((await listReplicas(cluster, server, name)).length > 0) return false;
      continue;
    }
    if (!response?.ok) return false;
    const service = (await response.json()) as Service;
    const replicas = await listReplicas(cluster, server, name);
    if (replicas.length !== service.spec.replicas || running(replicas).length !== service.spec.replicas) return false;
  }
  return true;
}

export async function listReplicas(cluster: TestCluster, server: string, service?: string): Promise<Replica[]> {
  const query = service ? `?namespace=default&service=${service}` : '?namespace=all';
  const response = await cluster.fetch(`/api/v1/replicas${query}`, { signal: AbortSignal.timeout(5000) }, server);
  if (!response.ok) throw new Error(`GET /api/v1/replicas: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { items: Replica[] }).items;
}

/** The first server whose /readyz answers 200 (etcd reachable with a leader), or undefined. */
export async function readyServer(cluster: TestCluster, servers: string[]): Promise<string | undefined> {
  for (const server of servers) {
    const response = await cluster.fetch('/readyz', { signal: AbortSignal.timeout(3000) }, server).catch(() => undefined);
    if (response?.status === 200) return server;
  }
  return undefined;
}

/** Waits for the web Service to serve, with a message naming what it saw. */
export async function waitServing(cluster: TestCluster, server: string, timeoutMs: number): Promise<void> {
  await waitFor(`${WEB} serving ${WEB_REPLICAS} ready replicas`, () => webServing(cluster, server), timeoutMs, 500);
}
