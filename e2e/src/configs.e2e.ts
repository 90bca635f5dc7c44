/**
 * Issue 19 acceptance, ConfigMaps and Secrets: a container sees a ConfigMap value in its env and a
 * Secret as a file and a variable; an updated ConfigMap file appears in the running container (no restart), a
 * changed env value rolls the service; the Secret's value is nowhere in etcd's raw data, the
 * processes' logs, a view role's `tsctl get -o yaml`, the state directory of the node that runs no
 * replica using it, nor anywhere on disk under the cluster's state dir (its files are on a tmpfs).
 * Bad input names the field and changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Replica } from '@tide/api';
import { TestCluster, running, waitFor } from './harness';

const BASE = 23300;
const SECRET = `tide-e2e-${randomBytes(12).toString('hex')}`;
const SECRET_B64 = Buffer.from(SECRET).toString('base64');

const config = (greeting: string, level: number) => `apiVersion: tide/v1
kind: ConfigMap
metadata: { name: web }
data:
  GREETING: ${greeting}
  app.conf: "level=${level}"
`;
const SECRET_YAML = `apiVersion: tide/v1
kind: Secret
metadata: { name: db }
stringData:
  password: ${SECRET}
`;
const SERVICE = `apiVersion: tide/v1
kind: Service
metadata: { name: reader }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  terminationGracePeriodSeconds: 1
  env:
    GREETING: { valueFrom: { configMapKeyRef: { name: web, key: GREETING } } }
    DB_PASSWORD: { valueFrom: { secretKeyRef: { name: db, key: password } } }
  volumes:
    - { name: app, configMap: { name: web, items: [{ key: app.conf, path: app.conf }] } }
    - { name: db, secret: { secretName: db, defaultMode: 0400 } }
  volumeMounts:
    - { name: app, mountPath: /etc/app }
    - { name: db, mountPath: /etc/db }
`;

interface ClusterFile {
  nodes: { name: string; stateDir: string; log: string }[];
}

describe('ConfigMaps and Secrets in running containers', { timeout: 420_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: '100.64.204.0/22' });
  });
  after(async () => {
    await cluster?.stop();
  });

  const exec = async (replica: string, script: string) => {
    const run = await cluster.tsctl(['exec', replica, '--', 'sh', '-c', script]);
    assert.equal(run.code, 0, run.stderr);
    return run.stdout.trim();
  };
  const runningReplica = (why: string, not?: string) => waitFor(why, async () => {
    const live = running(await cluster.replicas('reader')).filter((r: Replica) => r.metadata.name !== not && !r.metadata.deletionTimestamp);
    return live.length === 1 ? live[0] : undefined;
  }, 120_000);

  it('gives the container the ConfigMap value in its env and the Secret as a file', async () => {
    const applied = await cluster.apply(`${config('hello', 1)}---\n${SECRET_YAML}---\n${SERVICE}`);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, 'configmap/web created\nsecret/db created\nservice/reader created\n');
    const replica = (await runningReplica('a running reader')).metadata.name;
    assert.equal(await exec(replica, 'echo "$GREETING"'), 'hello');
    assert.equal(await exec(replica, 'cat /etc/db/password'), SECRET);
    assert.equal(await exec(replica, 'echo "$DB_PASSWORD"'), SECRET, 'a Secret in the env too (never in the runtime\'s state file: below)');
    assert.equal(await exec(replica, 'stat -L -c %a /etc/db/password'), '400');
    assert.equal(await exec(replica, 'cat /etc/app/app.conf'), 'level=1');
    const write = await cluster.tsctl(['exec', replica, '--', 'sh', '-c', 'echo x > /etc/db/other']);
    assert.notEqual(write.code, 0, 'a secret volume is read-only in the container');
  });

  it('swaps an updated file into the running container, and rolls the service for a changed env value', async () => {
    const first = (await runningReplica('the reader')).metadata.name;
    assert.equal((await cluster.apply(config('hello', 2))).code, 0);
    await waitFor('level=2 in the running container', async () => (await exec(first, 'cat /etc/app/app.conf')) === 'level=2', 60_000);
    assert.equal((await runningReplica('still the same replica')).metadata.name, first, 'a file change restarts nothing');
    assert.equal((await cluster.apply(config('bonjour', 2))).code, 0);
    const second = (await runningReplica('a replacement reading the new value', first)).metadata.name;
    assert.equal(await exec(second, 'echo "$GREETING"'), 'bonjour');
  });

  it('keeps the Secret out of etcd, the logs, a view role\'s output and every disk but the tmpfs', async () => {
    const etcd = cluster.etcdctl(['get', '', '--prefix']);
    assert.ok(etcd.includes('/tide/v1/secrets/default/db'), 'etcdctl reads the store');
    assert.ok(!etcd.includes(SECRET) && !etcd.includes(SECRET_B64), "the Secret's value is in etcd's raw data");
    assert.deepEqual(cluster.logLines(new RegExp(`${SECRET}|${SECRET_B64}`)), []);
    const view = await cluster.token('view');
    const shown = await cluster.tsctl(['--token', view, 'get', 'secret', 'db', '-o', 'yaml']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /password: <redacted>/);
    assert.ok(!shown.stdout.includes(SECRET_B64));
    const reveal = await cluster.tsctl(['--token', view, 'get', 'secret', 'db', '-o', 'yaml', '--reveal']);
    assert.equal(reveal.code, 1);
    const layout = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, 'cluster.json'), 'utf8')) as ClusterFile;
    const host = (await runningReplica('the reader')).spec.nodeName;
    const idle = layout.nodes.find((n) => n.name !== host)!;
    assert.deepEqual(filesHolding(idle.stateDir, [SECRET, SECRET_B64]), [], `node ${idle.name} runs no reader`);
    assert.deepEqual(filesHolding(cluster.stateDir, [SECRET, SECRET_B64], 'secret-volumes'), [], 'in clear on disk');
    const memory = path.join(layout.nodes.find((n) => n.name === host)!.stateDir, 'secret-volumes');
    assert.ok(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === fs.realpathSync(memory) && / - tmpfs /.test(line)),
      `${memory} is a tmpfs`);
  });

  it('refuses bad input naming the field and changes nothing', async () => {
    const bad = await cluster.apply(SECRET_YAML.replace('stringData:\n  password', 'data:\n  password'));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /data\.password: must be base64/);
    const again = await cluster.tsctl(['get', 'secret', 'db', '-o', 'json', '--reveal']);
    assert.equal(JSON.parse(again.stdout).data.password, SECRET_B64);
  });
});

/** Files under `dir` holding any of the texts (grep -r: binary files too), skipping directories named `skip`. */
function filesHolding(dir: string, texts: string[], skip?: string): string[] {
  const result = spawnSync('grep', ['-rlF', ...texts.flatMap((t) => ['-e', t]), ...(skip ? [`--exclude-dir=${skip}`] : []), '--devices=skip', dir], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.status === 1) return [];
  assert.equal(result.status, 0, `grep: ${result.stderr}`);
  return result.stdout.trim().split('\n');
}
