/**
 * Issue 19 acceptance, volumes: a replica with a named local volume writes data, is deleted, and its
 * replacement comes back on the node holding the volume (even when another node is free and the
 * holder is cordoned meanwhile: it waits, saying why) and reads the data; `tsctl get volumes` lists
 * the volume with its node, size and users. An emptyDir over its sizeLimit evicts its replica with a
 * clear reason, and the service replaces it. Along the way: a memory emptyDir is a tmpfs, a hostPath
 * is refused to the edit role, and (admin) made on the node (DirectoryOrCreate) and mounted read-only.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LocalVolumeView, Replica, TideEvent } from '@tide/api';
import { TestCluster, running, waitFor } from './harness';

const BASE = 23500;
const DATA = `row-${randomBytes(6).toString('hex')}`;

const db = (hostDir: string) => `apiVersion: tide/v1
kind: Service
metadata: { name: db }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  terminationGracePeriodSeconds: 1
  volumes:
    - { name: data, localVolume: { name: pgdata } }
    - { name: scratch, emptyDir: { medium: Memory, sizeLimit: 16Mi } }
    - { name: host, hostPath: { path: ${hostDir}, type: DirectoryOrCreate } }
  volumeMounts:
    - { name: data, mountPath: /var/lib/db }
    - { name: scratch, mountPath: /scratch }
    - { name: host, mountPath: /host, readOnly: true }
`;
const FILLER = `apiVersion: tide/v1
kind: Service
metadata: { name: filler }
spec:
  replicas: 1
  image: busybox
  command: ["sh", "-c", "dd if=/dev/zero of=/cache/fill bs=1048576 count=24 && sleep 3600"]
  terminationGracePeriodSeconds: 1
  volumes:
    - { name: cache, emptyDir: { sizeLimit: 8Mi } }
  volumeMounts:
    - { name: cache, mountPath: /cache }
`;

describe('volumes', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: '100.64.224.0/22' });
  });
  after(async () => {
    await cluster?.stop();
  });

  const exec = async (replica: string, script: string) => {
    const run = await cluster.tsctl(['exec', replica, '--', 'sh', '-c', script]);
    return { code: run.code, out: run.stdout.trim(), err: run.stderr };
  };
  const live = async (service: string) => (await cluster.replicas(service)).filter((r: Replica) => !r.metadata.deletionTimestamp);
  const runningOne = (service: string, why: string) => waitFor(why, async () => {
    const replicas = running(await live(service));
    return replicas.length === 1 ? replicas[0] : undefined;
  }, 180_000);
  const volumes = async () => {
    const run = await cluster.tsctl(['get', 'volumes', '-o', 'json']);
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as { items: LocalVolumeView[] }).items;
  };

  it('keeps a named volume on its node: the replica that replaces a deleted one comes back there and reads the data', async () => {
    const hostDir = path.join(cluster.stateDir, 'host-share');
    const edit = await cluster.token('edit');
    const refused = await cluster.tsctl(['--token', edit, 'apply', '-f', '-'], { input: db(hostDir) });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /spec\.volumes\[2\]\.hostPath: needs the admin role/);
    assert.ok(!fs.existsSync(hostDir), 'nothing applied, nothing made');
    const applied = await cluster.apply(db(hostDir));
    assert.equal(applied.code, 0, applied.stderr);
    const first = await runningOne('db', 'a running db replica');
    const holder = first.spec.nodeName!;
    assert.equal((await exec(first.metadata.name, `echo ${DATA} > /var/lib/db/value`)).code, 0);
    // The other volumes: memory is a tmpfs; the host path was made and is read-only inside.
    assert.match((await exec(first.metadata.name, 'grep " /scratch " /proc/mounts')).out, / \/scratch tmpfs /);
    assert.ok(fs.statSync(hostDir).isDirectory(), 'DirectoryOrCreate made the host path');
    fs.writeFileSync(path.join(hostDir, 'hello'), 'from the node');
    assert.equal((await exec(first.metadata.name, 'cat /host/hello')).out, 'from the node');
    assert.notEqual((await exec(first.metadata.name, 'touch /host/x')).code, 0, 'readOnly: the container cannot write the host path');

    const listed = await waitFor('pgdata listed with its size and user', async () => {
      const found = (await volumes()).find((v) => v.name === 'pgdata');
      return found && found.sizeBytes !== undefined && found.sizeBytes > 0 && found.users.includes(first.metadata.name) ? found : undefined;
    }, 90_000);
    assert.equal(listed.node, holder);
    const table = await cluster.tsctl(['get', 'volumes']);
    assert.match(table.stdout, /^NAME +NODE +SIZE +USERS$/m);
    assert.match(table.stdout, new RegExp(`^pgdata +${holder} +\\d+(\\.\\d)?[KMG]i +${first.metadata.name}$`, 'm'));

    // The holder cordoned and the replica deleted: its replacement could go to the other, empty node, but waits.
    assert.equal((await cluster.tsctl(['cordon', holder])).code, 0);
    assert.equal((await cluster.tsctl(['scale', 'service', 'db', '--replicas', '0'])).code, 0);
    await waitFor('the first replica gone', async () => (await cluster.replicas('db')).length === 0, 120_000);
    assert.equal((await cluster.tsctl(['scale', 'service', 'db', '--replicas', '1'])).code, 0);
    const waiting = await waitFor('the replacement pending, saying why', async () => {
      const [replica] = await live('db');
      const reasons = replica?.status?.unschedulable?.nodes;
      return reasons && Object.keys(reasons).length === 2 ? { replica, reasons } : undefined;
    }, 60_000);
    assert.equal(waiting.replica.spec.nodeName, undefined);
    const other = Object.keys(waiting.reasons).find((n) => n !== holder)!;
    assert.equal(waiting.reasons[other], `local volume default/pgdata is on node ${holder}`);
    assert.equal((await cluster.tsctl(['uncordon', holder])).code, 0);
    const second = await runningOne('db', 'the replacement running');
    assert.notEqual(second.metadata.name, first.metadata.name);
    assert.equal(second.spec.nodeName, holder);
    assert.equal((await exec(second.metadata.name, 'cat /var/lib/db/value')).out, DATA, 'the data written by the deleted replica');
  });

  it('evicts a replica whose emptyDir goes over its sizeLimit, with the reason, and replaces it', async () => {
    const applied = await cluster.apply(FILLER);
    assert.equal(applied.code, 0, applied.stderr);
    const event = await waitFor('an Evicted event on the filler service', async () => {
      const events = await cluster.api<{ items: TideEvent[] }>('/api/v1/events?kind=Service&name=filler');
      return events.items.find((e) => e.spec.reason === 'Evicted');
    }, 180_000);
    assert.equal(event.spec.type, 'Warning');
    const evicted = /^replica (filler-\S+) on node \S+: Evicted: emptyDir volume "cache" used (\d+(\.\d)?)Mi, over its sizeLimit 8Mi; replaced$/.exec(event.spec.message);
    assert.ok(evicted, event.spec.message);
    assert.ok(Number(evicted[2]) > 8, `over the limit: ${evicted[2]}Mi`);
    const replacement = await waitFor('a replacement replica', async () => (await live('filler')).find((r) => r.metadata.name !== evicted[1]), 60_000);
    assert.ok(replacement, 'the service replaced the evicted replica');
    const described = await cluster.tsctl(['describe', 'service', 'filler']);
    assert.match(described.stdout, /Evicted.*emptyDir volume "cache" used/);
    assert.equal((await cluster.tsctl(['scale', 'service', 'filler', '--replicas', '0'])).code, 0);
  });
});
