/**
 * Issue 3 acceptance, isolation: `user` and `readOnlyRootFilesystem` from a manifest to the running
 * process, Docker's capabilities, and a fork bomb held by its pids limit while the node stays healthy.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { TestCluster, running, waitFor } from './harness';

function service(name: string, script: string, extra = ''): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: ${name} }
spec:
  replicas: 1
  image: busybox
  command: ["sh", "-c", ${JSON.stringify(script)}]
  terminationGracePeriodSeconds: 0
  resources: { limits: { cpu: 200m, memory: 64Mi } }
${extra}`;
}

/** The pids controller's directory of a replica's container (id `<namespace>.<replica>`). */
function pidsDir(replica: string): string {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return `/sys/fs/cgroup/tide/default.${replica}`;
  return `/sys/fs/cgroup/pids/tide/default.${replica}`;
}

describe('isolation through the API', { timeout: 300_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: 18470 });
  });

  after(async () => {
    await cluster?.stop();
  });

  async function logOf(serviceName: string, until: RegExp): Promise<string> {
    const [replica] = await waitFor(`a running ${serviceName}`, async () => {
      const list = running(await cluster.replicas(serviceName));
      return list.length === 1 ? list : undefined;
    }, 60_000);
    return waitFor(`the log of ${serviceName}`, async () => {
      const out = await cluster.tsctl(['logs', replica.metadata.name]);
      return until.test(out.stdout) ? out.stdout : undefined;
    });
  }

  it('runs as the manifest\'s user on a read-only root, without capabilities', async () => {
    const script = 'grep -E "^(Uid|CapEff|CapBnd|NoNewPrivs):" /proc/self/status; touch /x 2>/dev/null || echo root-read-only; echo END; sleep 3600';
    const applied = await cluster.apply(service('locked', script, '  user: "65534:65534"\n  readOnlyRootFilesystem: true\n'));
    assert.equal(applied.code, 0, applied.stderr);
    const log = await logOf('locked', /END/);
    assert.match(log, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(log, /^CapEff:\s+0{16}$/m);
    assert.match(log, /^CapBnd:\s+00000000a80425fb$/m);
    assert.match(log, /^NoNewPrivs:\s+1$/m);
    assert.match(log, /^root-read-only$/m);
  });

  it('refuses a malformed user at apply time, naming the field', async () => {
    const applied = await cluster.apply(service('badUser'.toLowerCase(), 'true', '  user: "a b"\n'));
    assert.equal(applied.code, 1);
    assert.match(applied.stdout + applied.stderr, /spec\.user: "a b" must be "uid", "uid:gid", "name" or "name:group"/);
  });

  it('reports a user the image does not know as a failed start with the reason', async () => {
    const applied = await cluster.apply(service('ghost', 'sleep 3600', '  user: ghost\n'));
    assert.equal(applied.code, 0, applied.stderr);
    const replica = await waitFor('a failed start naming the user', async () => {
      const [r] = await cluster.replicas('ghost');
      return r?.status?.phase === 'Failed' && /user "ghost" not found/.test(r.status.message ?? '') ? r : undefined;
    }, 60_000);
    assert.match(replica.status!.message!, /\/etc\/passwd/);
    await cluster.tsctl(['delete', 'service', 'ghost']);
  });

  it('holds a fork bomb inside its pids limit while the node stays Ready and starts other replicas', async () => {
    const limit = 40;
    // Each bomb process forks the next two, then becomes a sleep holding its pid: the bomb fills the
    // limit and stays there (busybox sh exits when a fork fails: the classic bomb would collapse).
    const applied = await cluster.apply(service('bomb', 'bomb() { bomb | bomb & exec sleep 3600; }; bomb', `  resources: { limits: { cpu: 200m, memory: 64Mi, pids: ${limit} } }\n`)
      .replace('  resources: { limits: { cpu: 200m, memory: 64Mi } }\n', ''));
    assert.equal(applied.code, 0, applied.stderr);
    const [bomb] = await waitFor('the bomb running', async () => {
      const list = running(await cluster.replicas('bomb'));
      return list.length === 1 ? list : undefined;
    }, 60_000);
    const dir = pidsDir(bomb.metadata.name);
    const read = (file: string) => fs.readFileSync(`${dir}/${file}`, 'utf8');
    assert.equal(read('pids.max').trim(), String(limit));
    // A fork is refused (pids.events "max") only when the group is full: then it holds there.
    const held: number[] = [];
    await waitFor('forks refused at the limit', async () => {
      held.push(Number(read('pids.current')));
      return Number(/^max (\d+)$/m.exec(read('pids.events'))?.[1] ?? 0) > 0;
    }, 60_000, 20);
    for (let i = 0; i < 10; i++) held.push(Number(read('pids.current')));
    assert.ok(held.every((tasks) => tasks <= limit), `never past the limit: ${held.join(', ')}`);
    if (fs.existsSync(`${dir}/pids.peak`)) assert.equal(Number(read('pids.peak')), limit, 'the group reached its limit and never passed it');
    // The node is unaffected: it stays Ready and starts another replica.
    const calm = await cluster.apply(service('calm', 'echo calm; sleep 3600'));
    assert.equal(calm.code, 0, calm.stderr);
    assert.match(await logOf('calm', /calm/), /calm/);
    assert.ok((await cluster.nodeList()).every((n) => n.status?.ready), 'the node is Ready');
    await cluster.tsctl(['delete', 'service', 'bomb']);
    await waitFor('the bomb removed with its cgroup', async () => !fs.existsSync(dir) && (await cluster.replicas('bomb')).length === 0, 60_000);
  });
});
