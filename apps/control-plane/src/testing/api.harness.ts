/**
 * The control plane's HTTPS API on a real etcd, for route tests: a cluster PKI in a temporary dir,
 * an admin token, and nodes and replicas written straight to the store. `fetch` trusts the CA and
 * carries the admin token unless told otherwise.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Agent } from 'undici';
import { API_VERSION, Node, Replica } from '@tide/api';
import { createUserToken, type Role } from '@tide/auth';
import { type ClusterPki, clusterPkiLayout, ensureClusterPki, type ClusterPkiLayout } from '@tide/pki';
import { ClusterCache, ConfigCache, ConfigStore, Etcd3, NodeCertificates, ObjectStore, TokenStore } from '@tide/store';
import { startTestEtcd } from '@tide/store/testing';
import { startApiServer } from '../api/api.server';
import { ControlPlaneMetrics } from '../metrics';
import { NodeEnrollment } from '../node-identity/node.enrollment';
import { UsageCache } from '../usage/usage.cache';
import type { ClusterRegistry } from '../registry/cluster.registry';
import type { ConfigContext } from '../api/cluster.context';
import { loadOrCreateKeyRing } from '../secrets/encryption.keys';

export interface ApiHarness {
  base: string;
  port: number;
  store: ObjectStore;
  cache: ClusterCache;
  /** ConfigMaps and Secrets, Secrets sealed with the key file `keyFile`. */
  configs: ConfigContext;
  keyFile: string;
  /** The test etcd's client (raw reads). */
  etcd: Etcd3;
  metrics: ControlPlaneMetrics;
  usage: UsageCache;
  caPem: string;
  /** The cluster's certificates (its CA signs the stand-in agents' serving certificates). */
  pki: ClusterPkiLayout;
  auditLog: string;
  adminToken: string;
  /** The control plane's own client certificate and key (admin-equivalent). */
  clientCertificate: { cert: string; key: string };
  /** fetch to the API trusting its CA; `token` (default the admin's; null: none) goes in Authorization. */
  fetch(pathAndQuery: string, init?: RequestInit & { token?: string | null; client?: { cert: string; key: string } }): Promise<Response>;
  /** A fresh token of that role (and namespace), stored as `tsctl token create` would. */
  token(role: Role, namespace?: string): Promise<string>;
  /** A TLS connection to the API (for hand-written requests such as the exec upgrade). */
  connect(): Promise<tls.TLSSocket>;
  addNode(name: string, agentPort: number, ready?: boolean): Promise<void>;
  removeNode(name: string): Promise<void>;
  addReplica(name: string, options: { service: string; image: string; nodeName?: string; deleting?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** `registry`: the cluster registry the routes see (route tests of /v2/token and /api/v1/registry); `uiDir`: the dashboard files /ui/ serves. */
export async function startApiHarness(options: { registry?: (pki: ClusterPki) => Promise<ClusterRegistry>; uiDir?: string } = {}): Promise<ApiHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-api-'));
  const layout = clusterPkiLayout(path.join(dir, 'pki'));
  const names = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  const etcd = await startTestEtcd();
  const store = new ObjectStore(etcd.client);
  const cache = new ClusterCache(etcd.client);
  await cache.start();
  const keyFile = path.join(dir, 'encryption', 'keys.json');
  let ring = loadOrCreateKeyRing(keyFile).ring;
  const configStore = new ConfigStore(etcd.client, ring.cipher);
  const configCache = new ConfigCache(etcd.client, configStore);
  await configCache.start();
  const configs: ConfigContext = {
    store: configStore, cache: configCache, digestKey: () => ring.digestKey,
    reloadKeys: () => {
      ring = loadOrCreateKeyRing(keyFile).ring;
      configStore.cipher = ring.cipher;
      return ring.cipher.writer;
    },
  };
  const tokens = new TokenStore(etcd.client);
  const metrics = new ControlPlaneMetrics();
  // Samples never go stale in route tests, however long a loaded machine takes between two calls.
  const usage = new UsageCache({ staleMs: Number.MAX_SAFE_INTEGER });
  const auditLog = path.join(dir, 'audit.log');
  const pki = await ensureClusterPki({ dir: layout.dir, serverNames: names });
  const registry = options.registry ? await options.registry(pki) : undefined;
  const enrollment = new NodeEnrollment({
    ca: () => pki.ca, records: new NodeCertificates(etcd.client), tokens, serials: (node) => cache.nodeCertificateSerials(node), grpcListen: '127.0.0.1:7071',
  });
  const api = await startApiServer({
    cluster: { store, cache, metrics, usage, enrollment, configs, ...(registry ? { registry } : {}), ...(options.uiDir ? { uiDir: options.uiDir } : {}), isLeader: () => true, kick: () => undefined },
    etcd: etcd.client, pki: layout, auditLog, listen: { host: '127.0.0.1', port: 0 },
    log: () => undefined, warn: () => undefined, logger: false,
  });
  const caPem = fs.readFileSync(layout.caCertificate, 'utf8');
  const clientCertificate = { cert: fs.readFileSync(layout.clientCertificate, 'utf8'), key: fs.readFileSync(layout.clientKey, 'utf8') };
  const token = async (role: Role, namespace?: string) => {
    const made = createUserToken({ role, ...(namespace ? { namespace } : {}) });
    if (!made.ok) throw new Error(made.reason);
    await tokens.create(made.value.record);
    return made.value.token;
  };
  const adminToken = await token('admin');
  const plain = new Agent({ connect: { ca: caPem } });
  const base = `https://127.0.0.1:${api.port}`;
  return {
    base, port: api.port, store, cache, configs, keyFile, etcd: etcd.client, metrics, usage, caPem, pki: layout, auditLog, adminToken, clientCertificate, token,
    fetch(pathAndQuery, init = {}) {
      const { token: chosen, client, ...rest } = init;
      const bearer = chosen === undefined ? adminToken : chosen;
      const headers = new Headers(rest.headers);
      if (bearer !== null) headers.set('authorization', `Bearer ${bearer}`);
      const dispatcher = client ? new Agent({ connect: { ca: caPem, ...client } }) : plain;
      return fetch(base + pathAndQuery, { ...rest, headers, dispatcher } as RequestInit);
    },
    connect() {
      return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: api.port, ca: caPem, servername: 'localhost' }, () => resolve(socket));
        socket.on('error', reject);
      });
    },
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
      await api.close();
      await plain.close();
      await cache.stop();
      await configCache.stop();
      await etcd.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
