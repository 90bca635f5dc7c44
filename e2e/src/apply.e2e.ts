/**
 * Issue 2 acceptance: apply semantics and bad input through tsctl against a real cluster, and a
 * control-plane restart that loses no desired state.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, pidsMentioning, waitFor } from './harness';

const GOOD = `apiVersion: tide/v1
kind: Service
metadata: { name: alpha }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  terminationGracePeriodSeconds: 1
---
apiVersion: tide/v1
kind: Service
metadata: { name: beta }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  terminationGracePeriodSeconds: 1
`;

/** Each bad manifest, and the field path its error must name. */
const BAD: { name: string; yaml: string; mentions: RegExp }[] = [
  { name: 'unknown kind', yaml: 'apiVersion: tide/v1\nkind: Gadget\nmetadata: { name: g }\nspec: {}\n', mentions: /kind/ },
  { name: 'wrong type', yaml: service('replicas: "three"'), mentions: /spec\.replicas/ },
  { name: 'cpu abc', yaml: service('replicas: 1\n  resources: { requests: { cpu: abc } }'), mentions: /spec\.resources\.requests\.cpu/ },
  { name: 'memory 12Qi', yaml: service('replicas: 1\n  resources: { limits: { memory: 12Qi } }'), mentions: /spec\.resources\.limits\.memory/ },
  { name: 'replicas -1', yaml: service('replicas: -1'), mentions: /spec\.replicas/ },
  { name: 'missing image', yaml: service('replicas: 1').replace('  image: busybox\n', ''), mentions: /spec\.image/ },
  { name: 'invalid YAML', yaml: 'apiVersion: tide/v1\nkind: Service\nmetadata: { name: [oops\n', mentions: /YAML|yaml/ },
];

function service(replicasLine: string): string {
  return `apiVersion: tide/v1\nkind: Service\nmetadata: { name: bad }\nspec:\n  ${replicasLine}\n  image: busybox\n`;
}

describe('apply, bad input and control-plane restarts', { timeout: 400_000 }, () => {
  let cluster: TestCluster;
  let dir: string;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: 17170, podCidr: '100.64.0.0/22' });
    dir = fs.mkdtempSync(path.join(cluster.stateDir, 'manifests-'));
  });

  after(async () => {
    await cluster?.stop();
  });

  it('applies several documents from one file, then reports unchanged on re-apply', async () => {
    const file = path.join(dir, 'good.yaml');
    fs.writeFileSync(file, GOOD);
    const first = await cluster.tsctl(['apply', '-f', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /service\/alpha created/);
    assert.match(first.stdout, /service\/beta created/);
    // Status updates by the controllers change resourceVersion; the spec's generation changes only on writes of the spec.
    const generations = (await cluster.services()).map((s) => s.metadata.generation);
    const again = await cluster.tsctl(['apply', '-f', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /service\/alpha unchanged/);
    assert.match(again.stdout, /service\/beta unchanged/);
    assert.deepEqual((await cluster.services()).map((s) => s.metadata.generation), generations, 'nothing written');
    const changed = await cluster.tsctl(['apply', '-f', '-'], { input: GOOD.replace('replicas: 1', 'replicas: 2') });
    assert.match(changed.stdout, /service\/alpha configured/);
    assert.match(changed.stdout, /service\/beta unchanged/);
  });

  for (const bad of BAD) {
    it(`refuses ${bad.name} with the file, document and field, writing nothing`, async () => {
      const file = path.join(dir, `${bad.name.replace(/\W+/g, '-')}.yaml`);
      // A valid document first: it must not be written either, because the file as a whole is refused.
      fs.writeFileSync(file, GOOD.split('---')[0].replace('alpha', 'gamma') + '---\n' + bad.yaml);
      const result = await cluster.tsctl(['apply', '-f', file]);
      assert.notEqual(result.code, 0);
      assert.ok(result.stderr.includes(file), `names the file: ${result.stderr}`);
      assert.match(result.stderr, /document 2/, `names the document: ${result.stderr}`);
      assert.match(result.stderr, bad.mentions);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      const names = (await cluster.services()).map((s) => s.metadata.name);
      assert.ok(!names.includes('gamma') && !names.includes('bad'), `nothing written: ${names}`);
    });
  }

  it('marks a replica of a missing image Failed with the reason, and the agent keeps running', async () => {
    const yaml = GOOD.split('---')[0].replace('alpha', 'ghost').replace('image: busybox', 'image: no-such-image:1.0');
    assert.equal((await cluster.apply(yaml)).code, 0);
    const replica = await waitFor('an ImageNotFound failure', async () => {
      const [r] = await cluster.replicas('ghost');
      const text = `${r?.status?.message ?? ''} ${r?.status?.lastExit?.reason ?? ''}`;
      return /ImageNotFound|not found/i.test(text) ? r : undefined;
    }, 60_000);
    assert.notEqual(replica.status?.phase, 'Running');
    assert.ok((await cluster.nodeList()).every((n) => n.status?.ready), 'the node stays ready');
    await cluster.tsctl(['delete', 'service', 'ghost']);
  });

  it('keeps a replica that fits nowhere Pending, and describe says why per node', async () => {
    const yaml = GOOD.split('---')[0].replace('alpha', 'huge').replace('  terminationGracePeriodSeconds: 1', '  resources: { requests: { cpu: "64", memory: 1Mi } }\n  terminationGracePeriodSeconds: 1');
    assert.equal((await cluster.apply(yaml)).code, 0);
    const replica = await waitFor('the unschedulable reason', async () => {
      const [r] = await cluster.replicas('huge');
      return r?.status?.unschedulable ? r : undefined;
    }, 90_000);
    assert.equal(replica.status?.phase, 'Pending');
    assert.equal(replica.status?.unschedulable?.summary, '0/1 nodes available: 1 insufficient cpu');
    const described = await cluster.tsctl(['describe', 'replica', replica.metadata.name]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /Unschedulable: 0\/1 nodes available: 1 insufficient cpu/);
    assert.match(described.stdout, /node-1: insufficient cpu/);
    assert.match(described.stdout, /FailedScheduling/, 'the event is shown');
    await cluster.tsctl(['delete', 'service', 'huge']);
  });

  it('restarts the control plane without losing desired state', async () => {
    const [cpPid] = pidsMentioning('control-plane/dist/main.js').filter((pid) =>
      fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cluster.stateDir),
    );
    assert.ok(cpPid, 'a control plane is running');
    const argv = fs.readFileSync(`/proc/${cpPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(cpPid, 'SIGTERM');
    await waitFor('the control plane to exit', async () => !fs.existsSync(`/proc/${cpPid}`), 90_000);
    const log = fs.openSync(path.join(cluster.stateDir, 'restarted-control-plane.log'), 'a');
    spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] }).unref();
    const names = await waitFor('the API back with the services', async () => {
      const list = (await cluster.services()).map((s) => s.metadata.name).sort();
      return list.length >= 2 ? list : undefined;
    }, 60_000);
    assert.deepEqual(names.filter((n) => n === 'alpha' || n === 'beta'), ['alpha', 'beta']);
    await waitFor('alpha running again', async () => (await cluster.replicas('alpha')).some((r) => r.status?.phase === 'Running'), 60_000);
  });
});
