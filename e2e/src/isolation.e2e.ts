/**
 * Issue 3 acceptance, isolation: `user` and `readOnlyRootFilesystem` from a manifest to the running
 * process, Docker's capabilities, and a fork bomb held by its pids limit while the node stays healthy.
 * Issue 14's: the default seccomp filter, Unconfined and host networking for admins only, and no
 * path for an unprivileged host user to a layer or a container's files.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
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

/** Directories named one of `names` under `root`, down to `depth` levels (not inside what they hold). */
function findDirs(root: string, names: string[], depth: number): string[] {
  if (depth === 0) return [];
  return fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => {
    const full = path.join(root, e.name);
    return names.includes(e.name) ? [full] : findDirs(full, names, depth - 1);
  });
}

/** The pids controller's directory of a replica's container (id `<namespace>.<replica>`). */
function pidsDir(replica: string): string {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return `/sys/fs/cgroup/tide/default.${replica}`;
  return `/sys/fs/cgroup/pids/tide/default.${replica}`;
}

describe('isolation through the API', { timeout: 300_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: 18470, podCidr: '100.64.76.0/22' });
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

  it('runs the default seccomp filter (unshare -U refused with EPERM); Unconfined is for admins only', async () => {
    const script = 'grep Seccomp: /proc/self/status; unshare -U true || echo unshare-refused; echo END; sleep 3600';
    const applied = await cluster.apply(service('filtered', script));
    assert.equal(applied.code, 0, applied.stderr);
    const log = await logOf('filtered', /END/);
    assert.match(log, /^Seccomp:\s+2$/m);
    assert.match(log, /Operation not permitted/);
    assert.match(log, /^unshare-refused$/m);
    // An edit token may not lift the filter, nor take the host's network: 403 naming each field.
    const edit = await cluster.token('edit');
    const unconfined = service('unfiltered', script, '  securityContext: { seccompProfile: { type: Unconfined } }\n');
    const refused = await cluster.tsctl(['--token', edit, 'apply', '-f', '-'], { input: unconfined });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /spec\.securityContext\.seccompProfile\.type: Unconfined: needs the admin role/);
    const hostNet = await cluster.tsctl(['--token', edit, 'apply', '-f', '-'], { input: service('hostnet', 'sleep 3600', '  network: host\n') });
    assert.equal(hostNet.code, 1);
    assert.match(hostNet.stderr, /spec\.network: host: needs the admin role/);
    assert.deepEqual((await cluster.services()).map((s) => s.metadata.name).filter((n) => n === 'unfiltered' || n === 'hostnet'), []);
    // The admin may: no filter then.
    const admitted = await cluster.apply(unconfined);
    assert.equal(admitted.code, 0, admitted.stderr);
    assert.match(await logOf('unfiltered', /END/), /^Seccomp:\s+0$/m);
    await cluster.tsctl(['delete', 'service', 'filtered']);
    await cluster.tsctl(['delete', 'service', 'unfiltered']);
  });

  it('leaves no path an unprivileged host user can follow to a layer or a container\'s files', async () => {
    // As a state dir under /var/lib would be: only Tide's own modes stand in the way.
    fs.chmodSync(cluster.stateDir, 0o755);
    const targets = findDirs(cluster.stateDir, ['layers', 'containers'], 4);
    assert.ok(targets.some((d) => d.endsWith('/layers')) && targets.some((d) => d.endsWith('/containers')), targets.join(', '));
    for (const dir of targets) {
      const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', '/bin/sh', '-c', 'ls "$0"', dir], { encoding: 'utf8' });
      assert.notEqual(run.status, 0, `nobody listed ${dir}: ${run.stdout}`);
      assert.match(run.stderr, /Permission denied/, dir);
    }
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
