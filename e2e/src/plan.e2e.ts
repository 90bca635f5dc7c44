/**
 * Issue 19, plan before apply, through tsctl against a real cluster: apply a file, diff it (exit 0),
 * edit it and diff (exit 1, the change shown), dry-run the edit (nothing written), restart the
 * replicas (they roll, and the file still diffs clean), prune what the file no longer holds.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, waitFor } from './harness';

const BASE_PORT = 23400;

const service = (name: string, env: string, labels = '{ app: plan }') => `apiVersion: tide/v1
kind: Service
metadata: { name: ${name}, labels: ${labels} }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  env: { GREETING: ${env} }
  terminationGracePeriodSeconds: 1
`;

describe('plan before apply: diff, dry run, restart, prune', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  const write = (name: string, ...documents: string[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, documents.join('---\n'));
    return file;
  };
  const stored = async (name: string) => (await cluster.services()).find((s) => s.metadata.name === name);

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE_PORT, podCidr: '100.64.208.0/22' });
    dir = fs.mkdtempSync(path.join(cluster.stateDir, 'manifests-'));
  });

  after(async () => {
    await cluster?.stop();
  });

  it('diffs an applied file clean (exit 0) and an edited one with the change (exit 1)', async () => {
    const file = write('app.yaml', service('web', 'hello'), service('old', 'hello'));
    const applied = await cluster.tsctl(['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    const same = await cluster.tsctl(['diff', '-f', file]);
    assert.deepEqual([same.code, same.stdout], [0, ''], same.stderr);
    const edited = await cluster.tsctl(['diff', '-f', write('edited.yaml', service('web', 'bonjour'), service('old', 'hello'))]);
    assert.equal(edited.code, 1, edited.stderr);
    assert.match(edited.stdout, /^# service\/web \(namespace default\) changed\n--- service default\/web \(stored\)\n\+\+\+ service default\/web \(applied\)\n/);
    assert.deepEqual(edited.stdout.split('\n').filter((l) => /^[-+][^-+]/.test(l)), ['-    GREETING: hello', '+    GREETING: bonjour']);
    const bad = await cluster.tsctl(['diff', '-f', write('bad.yaml', service('web', 'hello').replace('replicas: 1', 'replicas: -1'))]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.yaml: document 1: spec\.replicas: /);
  });

  it('dry-runs the edit: says configured, writes nothing; a view token may diff but not dry-run', async () => {
    const generation = (await stored('web'))!.metadata.generation;
    const edited = write('edited.yaml', service('web', 'bonjour'), service('old', 'hello'));
    const dry = await cluster.tsctl(['apply', '-f', edited, '--dry-run=server']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, 'service/web configured (server dry run)\nservice/old unchanged (server dry run)\n');
    assert.equal((await stored('web'))!.metadata.generation, generation, 'nothing written');
    assert.equal((await stored('web'))!.spec.env?.GREETING, 'hello');
    const view = await cluster.token('view', 'default');
    assert.equal((await cluster.tsctl(['--token', view, 'diff', '-f', edited])).code, 1);
    const refused = await cluster.tsctl(['--token', view, 'apply', '-f', edited, '--dry-run=server']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: .*view/m);
  });

  it('restarts the replicas with a rollout, after which the applied file still diffs clean', async () => {
    const running = async () => (await cluster.replicas('web')).filter((r) => r.status?.phase === 'Running').map((r) => r.metadata.name);
    const [first] = await waitFor('web running', async () => ((await running()).length === 1 ? running() : undefined), 120_000);
    const restarted = await cluster.tsctl(['rollout', 'restart', 'service', 'web']);
    assert.equal(restarted.code, 0, restarted.stderr);
    await waitFor('a new web replica running in place of the old one', async () => {
      const names = await running();
      return names.length === 1 && names[0] !== first ? names : undefined;
    }, 180_000);
    const same = await cluster.tsctl(['diff', '-f', path.join(dir, 'app.yaml')]);
    assert.deepEqual([same.code, same.stdout], [0, ''], same.stderr);
  });

  it('prunes the labelled services the file no longer holds, and only those', async () => {
    const unlabelled = await cluster.tsctl(['apply', '-f', write('keep.yaml', service('keep', 'hello', '{ app: other }'))]);
    assert.equal(unlabelled.code, 0, unlabelled.stderr);
    const without = write('app.yaml', service('web', 'hello'));
    assert.equal((await cluster.tsctl(['apply', '-f', without, '--prune'])).code, 2, '--prune without -l is refused');
    const pruned = await cluster.tsctl(['apply', '-f', without, '--prune', '-l', 'app=plan']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.equal(pruned.stdout, 'service/web unchanged\nservice/old pruned\n');
    assert.deepEqual((await cluster.services()).map((s) => s.metadata.name).sort(), ['keep', 'web']);
  });
});
