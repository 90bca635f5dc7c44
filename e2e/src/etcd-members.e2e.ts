/**
 * `--etcd-members 3`: the control plane supervises three etcd members with peer TLS on etcd's own
 * CA, and keeps taking writes with any one of them stopped (a quorum of two is left), the stopped
 * one the etcd leader included. Ports 21370 (API), 21371 (gRPC), etcd 21372/21373, 21375/21376,
 * 21377/21378.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, pidsMentioning, waitFor } from './harness';
import { ControlPlaneProcess } from './bench/control-plane.process';

const BASE_PORT = 21370;

function etcdMembers(stateDir: string): { pid: number; args: string[] }[] {
  return pidsMentioning(stateDir)
    .map((pid) => ({ pid, args: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') }))
    .filter((p) => p.args[0].endsWith('etcd'));
}

const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];

describe('three supervised etcd members', { timeout: 600_000 }, () => {
  const cp = new ControlPlaneProcess(BASE_PORT, path.join(REPO, 'apps/control-plane/dist/main.js'), ['--id', 'members-e2e', '--etcd-members', '3'], 'tide-members-e2e-');
  const stopped: number[] = [];
  const json = { 'Content-Type': 'application/json' };
  const apply = (name: string) => cp.fetch('/api/v1/apply', {
    method: 'POST', headers: json, body: JSON.stringify({ documents: [{ apiVersion: 'tide/v1', kind: 'Service', metadata: { name }, spec: { replicas: 1, image: 'busybox' } }] }),
  });

  before(async () => {
    cp.start();
    await waitFor('the control plane ready', async () => (await cp.fetch('/readyz').catch(() => undefined))?.status === 200, 120_000, 500);
  });

  after(async () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    await cp.stop();
    assert.deepEqual(pidsMentioning(cp.dir), [], 'no control plane or etcd left running');
  });

  it('runs three members with client and peer TLS, one initial cluster', () => {
    const members = etcdMembers(cp.dir);
    assert.equal(members.length, 3);
    const clusters = new Set(members.map((m) => flag(m.args, '--initial-cluster')));
    assert.equal(clusters.size, 1, 'the same initial cluster for all');
    assert.equal([...clusters][0].split(',').length, 3);
    for (const { args } of members) {
      assert.match(flag(args, '--listen-peer-urls'), /^https:\/\/127\.0\.0\.1:213(73|76|78)$/);
      assert.ok(args.includes('--peer-client-cert-auth') && args.includes('--client-cert-auth'));
    }
  });

  it('takes writes with any one member stopped, the leader included', async () => {
    for (const [index, member] of etcdMembers(cp.dir).entries()) {
      process.kill(member.pid, 'SIGSTOP');
      stopped.push(member.pid);
      try {
        // A stopped leader takes an election (about a second) before writes go through again.
        await waitFor(`a write with member ${flag(member.args, '--name')} stopped`, async () => (await apply(`with-${index}-stopped`)).status === 200, 60_000, 500);
        // Read back: a read may fail while a member is away (503), but never says the written object is not there.
        const seen: number[] = [];
        await waitFor(`a read of with-${index}-stopped`, async () => {
          seen.push((await cp.fetch(`/api/v1/services/with-${index}-stopped`)).status);
          return seen.at(-1) === 200;
        }, 60_000, 500);
        assert.ok(!seen.includes(404), `no 404 for an object written: ${seen.join(', ')}`);
      } finally {
        process.kill(member.pid, 'SIGCONT');
        stopped.pop();
      }
      await waitFor('/readyz 200 with all members back', async () => (await cp.fetch('/readyz')).status === 200, 60_000, 500);
    }
  });
});
