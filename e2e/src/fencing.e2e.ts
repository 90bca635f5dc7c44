/**
 * Issue 17's scenario (hashicorp/nomad#18267): a control plane started on an empty state directory,
 * on the cluster's addresses and with the cluster's CA, in place of the running one. Its store holds
 * nothing, so every node's desired set there is empty. The agents must not stop their containers:
 * first its store does not honour their certificates (never issued by it), then, with their serials
 * copied into it with etcdctl (as a partial restore would leave them), its registrations and sets are refused by
 * the cluster identity. When the cluster's own control plane comes back, the same containers are
 * still running. Ports 22500-22529.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { Node, Replica } from '@tide/api';
import { TestCluster, isAlive, running, systemDispatcher, waitFor } from './harness';
import { controlPlaneCommandLine, replaceFlags, startDetached, stopProcessesMentioning } from './process.tools';

const BASE = 22500;
const SERVICE = 'apiVersion: tide/v1\nkind: Service\nmetadata: { name: kept }\nspec:\n  replicas: 3\n  image: busybox\n  command: ["sleep", "3600"]\n  terminationGracePeriodSeconds: 0\n';
/** The issue saw the containers killed 30-45 s after the empty control plane took over. */
const WATCH_MS = 45_000;

describe('a control plane on an empty state dir', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let wipedDir = '';

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: '100.64.64.0/22' });
    wipedDir = path.join(cluster.stateDir, 'wiped-control-plane');
  });
  after(async () => {
    if (wipedDir) await stopProcessesMentioning(wipedDir);
    await cluster?.stop();
  });

  it('does not make the agents stop their containers, and the cluster carries on when its control plane returns', async () => {
    try {
      await scenario();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${cluster.logs()}`, { cause: error });
    }
  });

  async function scenario(): Promise<void> {
    assert.equal((await cluster.apply(SERVICE)).code, 0);
    const before = await waitFor('3 replicas running', async () => {
      const replicas = running(await cluster.replicas('kept'));
      return replicas.length === 3 && replicas.every((r) => r.status?.pid) ? replicas : undefined;
    }, 120_000);
    const pids = before.map((r) => r.status!.pid!);

    const controlPlaneDir = path.join(cluster.stateDir, 'control-plane');
    const { argv } = controlPlaneCommandLine(controlPlaneDir);
    const serials = nodeCertificateRecords(cluster.stateDir);
    assert.equal(serials.size, 2, 'both nodes have their certificate recorded');
    await stopProcessesMentioning(controlPlaneDir); // the control plane and the etcd it supervises

    // The same flags but an empty state dir: a new etcd, a new store, a new cluster identity.
    startDetached(replaceFlags(argv, { '--state-dir': wipedDir, '--audit-log': path.join(wipedDir, 'audit.log') }), path.join(cluster.stateDir, 'wiped-control-plane.log'));
    const wipedApi = async <T>(route: string) => {
      const response = await fetch(`${cluster.server}${route}`, { dispatcher: systemDispatcher(path.join(cluster.stateDir, 'pki')) } as RequestInit);
      return response.ok ? (await response.json()) as T : undefined;
    };
    await waitFor('the empty control plane serving', () => wipedApi<{ items: Node[] }>('/api/v1/nodes'), 120_000);
    await waitFor('both agents refused by the empty store (certificates it never issued)', async () =>
      ['node-1', 'node-2'].every((node) => cluster.logLines(new RegExp(`node-agent ${node}: .*was never issued by this cluster`)).length > 0), 120_000);

    // The nodes' certificates honoured there too: now only the cluster identity stands in the way.
    recordNodeCertificates(cluster.stateDir, serials);
    await waitFor('both agents refusing the empty store\'s cluster identity', async () =>
      ['node-1', 'node-2'].every((node) => cluster.logLines(new RegExp(`node-agent ${node}: .*FAILED_PRECONDITION: this node belongs to cluster \\S+ and this control plane's store holds cluster`)).length > 0), 120_000);
    const watchedUntil = Date.now() + WATCH_MS;
    while (Date.now() < watchedUntil) {
      assert.deepEqual(pids.filter((pid) => !isAlive(pid)), [], 'every container still runs while the empty control plane is up');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.deepEqual((await wipedApi<{ items: Node[] }>('/api/v1/nodes'))?.items, [], 'the refused registrations wrote no Node into the empty store');
    assert.deepEqual(cluster.logLines(/desired \d+ replica\(s\): 0 new, [1-9]\d* no longer desired/), [], 'no agent applied a set that stops anything');

    await stopProcessesMentioning(wipedDir);
    startDetached(argv, path.join(cluster.stateDir, 'control-plane-restarted.log'));
    const after = await waitFor('the same 3 replicas running under the cluster\'s control plane', async () => {
      const replicas = running(await cluster.replicas('kept').catch(() => [] as Replica[]));
      return replicas.length === 3 ? replicas : undefined;
    }, 120_000);
    assert.deepEqual(after.map((r) => r.status?.pid).sort(), [...pids].sort(), 'the very same containers');
    assert.deepEqual(after.map((r) => r.status?.restartCount ?? 0), [0, 0, 0]);
  }
});

/** The node certificate records (docs/REFERENCE.md, etcd layout). */
const NODE_CERTIFICATES_PREFIX = '/tide/v1/nodecerts/';

/** etcdctl (Debian's etcd-client) against the etcd on the cluster's port, whichever store is there now,
 *  with the control plane's etcd client certificate (`PKI/etcd/`). */
function etcdctl(stateDir: string, args: string[]): string {
  const pki = path.join(stateDir, 'pki', 'etcd');
  const result = spawnSync('etcdctl', [
    `--endpoints=https://127.0.0.1:${BASE + 2}`, `--cacert=${path.join(pki, 'ca.crt')}`,
    `--cert=${path.join(pki, 'control-plane-client.crt')}`, `--key=${path.join(pki, 'control-plane-client.key')}`, ...args,
  ], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 });
  assert.equal(result.status, 0, `etcdctl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function nodeCertificateRecords(stateDir: string): Map<string, string> {
  const answer = JSON.parse(etcdctl(stateDir, ['get', '--prefix', NODE_CERTIFICATES_PREFIX, '-w', 'json'])) as { kvs?: { key: string; value: string }[] };
  return new Map((answer.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString()]));
}

function recordNodeCertificates(stateDir: string, records: Map<string, string>): void {
  for (const [key, value] of records) etcdctl(stateDir, ['put', key, value]);
}
