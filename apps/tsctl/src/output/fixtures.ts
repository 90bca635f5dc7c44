/** API objects for formatting tests. */
import { Node, Replica, Service } from '@tide/api';

export const NOW = Date.parse('2026-01-01T12:00:00Z');
export const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

export function service(name: string, replicas: number, ready: number, ageSeconds: number): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default', creationTimestamp: ago(ageSeconds) },
    spec: { replicas, image: 'busybox', command: ['sh', '-c'], args: ['echo hi; sleep 9'] },
    status: { replicas, readyReplicas: ready, runningReplicas: ready, pendingReplicas: 0 },
  };
}

export function replica(name: string, node: string | undefined, status: Partial<NonNullable<Replica['status']>> = {}, requests = { cpuMillis: 100, memoryBytes: 32 * 2 ** 20 }): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name, namespace: 'default', creationTimestamp: ago(90) },
    spec: {
      service: name.split('-')[0], templateHash: 'abc', ...(node ? { nodeName: node } : {}),
      template: {
        image: 'busybox', command: ['sleep'], args: ['9'], env: {}, requests, limits: {}, ports: [], network: 'host',
        restartPolicy: 'Always', terminationGracePeriodSeconds: 30,
      },
    },
    status: { phase: node ? 'Running' : 'Pending', ready: !!node, restartCount: 0, ...status },
  };
}

export function node(name: string, ready: boolean, cordoned = false): Node {
  return {
    apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default', creationTimestamp: ago(3600), labels: { zone: 'a' } },
    spec: { address: `127.0.1.${name.slice(-1)}`, agentPort: 7081, ...(cordoned ? { cordoned } : {}) },
    status: { capacity: { cpu: 1000, memory: 2 ** 30 }, allocatable: { cpu: 900, memory: 2 ** 30 - 128 * 2 ** 20 }, ready },
  };
}
