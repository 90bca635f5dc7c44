/** The control plane's HTTP API on a real etcd, for route tests: nodes and replicas are written straight to the store. */
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { API_VERSION, Node, Replica } from '@tide/api';
import { ClusterCache, ObjectStore } from '@tide/store';
import { startTestEtcd } from '@tide/store/dist/testing';
import { attachExecProxy } from '../api/exec.proxy';
import { AppModule } from '../app.module';
import { ControlPlaneMetrics } from '../metrics';
import { UsageCache } from '../usage/usage.cache';

export interface ApiHarness {
  base: string;
  port: number;
  store: ObjectStore;
  cache: ClusterCache;
  metrics: ControlPlaneMetrics;
  usage: UsageCache;
  addNode(name: string, agentPort: number, ready?: boolean): Promise<void>;
  removeNode(name: string): Promise<void>;
  addReplica(name: string, options: { service: string; image: string; nodeName?: string; deleting?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function startApiHarness(): Promise<ApiHarness> {
  const etcd = await startTestEtcd();
  const store = new ObjectStore(etcd.client);
  const cache = new ClusterCache(etcd.client);
  await cache.start();
  const metrics = new ControlPlaneMetrics();
  // Samples never go stale in route tests, however long a loaded machine takes between two calls.
  const usage = new UsageCache({ staleMs: Number.MAX_SAFE_INTEGER });
  const app: INestApplication = await NestFactory.create(AppModule.forCluster({
    store, cache, metrics, usage, isLeader: () => true, kick: () => undefined,
  }), { logger: false });
  const endExec = attachExecProxy(app.getHttpServer(), store);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return {
    base: `http://127.0.0.1:${port}`, port, store, cache, metrics, usage,
    async addNode(name, agentPort, ready = true) {
      await store.create<Node>({
        apiVersion: API_VERSION, kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '127.0.0.1', agentPort },
        status: { ready, capacity: { cpu: 1000, memory: 2 ** 30 }, allocatable: { cpu: 900, memory: 2 ** 29 } },
      });
    },
    async removeNode(name) {
      await store.delete('Node', 'default', name);
    },
    async addReplica(name, options) {
      await store.create({
        apiVersion: API_VERSION, kind: 'Replica',
        metadata: { name, namespace: 'default', ...(options.deleting ? { deletionTimestamp: new Date().toISOString() } : {}) },
        spec: { service: options.service, templateHash: 'abc', nodeName: options.nodeName, template: { image: options.image } },
      } as unknown as Replica);
    },
    async close() {
      endExec();
      await app.close();
      await cache.stop();
      await etcd.stop();
    },
  };
}
