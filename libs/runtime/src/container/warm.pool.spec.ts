/**
 * The warm pool on the real kernel: claims, refills, keying by namespaces, drain, a member dying
 * while it waits, and the agent dying. Needs root. Everything started is removed in after hooks.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { ensureBusyboxImage } from '../image/busybox.image';
import { LinuxRuntime } from '../linux.runtime';
import { ContainerSpec } from '../runtime.types';

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;

/** Pids of this process's children that are still a container init (not exec'd yet). */
function waitingInits(parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || Number(fields[1]) !== parent) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0].endsWith('/tide-init')) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

const netns = (pid: number | 'self') => fs.readlinkSync(`/proc/${pid}/ns/net`);
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
const openFds = () => fs.readdirSync('/proc/self/fd').length;
const V1 = fs.existsSync('/sys/fs/cgroup/memory/cgroup.procs');
/** cgroup v1: the memory group of a process ("/tide/_warm-…"), or undefined on v2. */
const memoryGroup = (pid: number) => /:memory:(.*)/.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
const warmGroups = (agent = process.pid) => (V1 ? fs.readdirSync('/sys/fs/cgroup/memory/tide').filter((g) => g.startsWith(`_warm-${agent}-`)) : []);

async function until(condition: () => boolean, what: string): Promise<void> {
  await waitFor(condition, { what });
}

describe('warm pool', { timeout: 600_000 }, () => {
  let dir: string;
  const runtimes: LinuxRuntime[] = [];
  const started: string[] = [];

  const runtime = (warmPool: number) => {
    const created = new LinuxRuntime({ stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images'), warmPool });
    runtimes.push(created);
    return created;
  };
  const spec = (id: string, script = 'echo "up on $(hostname)"; sleep 60'): ContainerSpec => {
    started.push(`wp-${RUN}-${id}`);
    return { id: `wp-${RUN}-${id}`, hostname: `h-${id}`, image: 'busybox', argv: ['sh', '-c', script], env: {}, limits: { memoryBytes: 64 * 2 ** 20 }, labels: {} };
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-warm-pool-'));
    await ensureBusyboxImage(path.join(dir, 'images'));
  });

  after(async () => {
    for (const r of runtimes) await r.close();
    const cleaner = runtime(0);
    for (const id of started) await cleaner.remove(id).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts a container in a waiting init, then refills in the background', async () => {
    const r = runtime(1);
    await r.warmUp();
    const [waiting] = waitingInits();
    assert.ok(waiting, 'one init waits in the pool');
    // cgroup v1: it waits in a group of its own, which becomes the container's (no join at start).
    if (V1) assert.match(memoryGroup(waiting)!, /^\/tide\/_warm-/);
    const info = await r.start(spec('claim'));
    assert.equal(info.pid, waiting, 'the waiting init became the container');
    if (V1) {
      assert.equal(memoryGroup(info.pid), `/tide/${info.id}`);
      assert.equal(fs.readFileSync(`/sys/fs/cgroup/memory/tide/${info.id}/memory.limit_in_bytes`, 'utf8').trim(), String(64 * 2 ** 20));
    }
    const log = path.join(dir, 'state/containers', info.id, 'log');
    await until(() => fs.existsSync(log) && /up on h-claim/.test(fs.readFileSync(log, 'utf8')), 'the command ran with its hostname and log');
    await r.warmUp();
    const refilled = waitingInits();
    assert.equal(refilled.length, 1, 'refilled to its size');
    assert.notEqual(refilled[0], waiting);
    assert.equal((await r.list()).length, 1, 'the waiting init is no container');
    await r.close();
    assert.deepEqual(waitingInits(), []);
    assert.ok(alive(info.pid), 'closing the pool leaves started containers running');
    await r.remove(info.id);
  });

  it('keeps one set of inits per namespace set and takes from the matching one', async () => {
    const r = runtime(1);
    await r.warmUp('host');
    const [host] = waitingInits();
    await r.warmUp('bridge');
    const [bridge] = waitingInits().filter((pid) => pid !== host);
    assert.equal(netns(host), netns('self'), 'host networking keeps the node network namespace');
    assert.notEqual(netns(bridge), netns('self'), 'bridge networking has its own');
    const info = await r.start({ ...spec('keyed'), network: 'host' });
    assert.equal(info.pid, host);
    assert.ok(waitingInits().includes(bridge), 'the bridge init still waits');
    await r.close();
    assert.deepEqual(waitingInits(), []);
  });

  it('discards an init that died while waiting and still starts the container', async () => {
    const r = runtime(1);
    await r.warmUp();
    const [victim] = waitingInits();
    process.kill(victim, 'SIGKILL');
    await until(() => !alive(victim), 'the waiting init is dead');
    const info = await r.start(spec('dead-member', 'echo alive; sleep 60'));
    assert.notEqual(info.pid, victim);
    const log = path.join(dir, 'state/containers', info.id, 'log');
    await until(() => fs.existsSync(log) && /alive/.test(fs.readFileSync(log, 'utf8')), 'the command ran');
    await r.warmUp();
    assert.equal(waitingInits().length, 1, 'the pool refilled');
    await r.close();
  });

  it('close() leaves no waiting init, worker or file descriptor behind', async () => {
    const fdsBefore = openFds();
    const r = runtime(2);
    await r.warmUp('host');
    await r.warmUp('bridge');
    assert.equal(waitingInits().length, 4, 'two per namespace set');
    await r.close();
    assert.deepEqual(waitingInits(), []);
    assert.deepEqual(warmGroups(), [], 'their cgroups are removed');
    await waitFor(() => openFds() <= fdsBefore, { what: `file descriptors back to ${fdsBefore} or fewer`, detail: () => `${openFds()} open` });
  });

  it('an agent that dies takes its waiting inits with it, not its started containers', async () => {
    // A separate process plays the agent: it starts a container from its pool, then is killed.
    const runtimeJs = path.join(__dirname, '../linux.runtime.js');
    const script = `
      const { LinuxRuntime } = require(${JSON.stringify(runtimeJs)});
      const r = new LinuxRuntime({ stateDir: ${JSON.stringify(path.join(dir, 'state'))}, imageDir: ${JSON.stringify(path.join(dir, 'images'))}, warmPool: 1 });
      (async () => {
        await r.warmUp();
        const info = await r.start(${JSON.stringify(spec('orphan'))});
        await r.warmUp();
        const waiting = (${waitingInits.toString()})(process.pid);
        console.log(JSON.stringify({ container: info.pid, waiting }));
        process.kill(process.pid, 'SIGKILL');
      })();`;
    const agent = spawnSync(process.execPath, ['-e', `const fs = require('node:fs'); ${script}`], { encoding: 'utf8', timeout: 90_000 });
    const { container, waiting } = JSON.parse(agent.stdout) as { container: number; waiting: number[] };
    assert.equal(agent.signal, 'SIGKILL');
    assert.equal(waiting.length, 1, 'the agent had refilled its pool');
    await until(() => !alive(waiting[0]), 'the waiting init died with the agent');
    assert.ok(alive(container), 'the claimed container outlives the agent');
    if (V1) {
      assert.equal(warmGroups(agent.pid).length, 1, 'a killed agent cannot remove its warm cgroup');
      runtime(1); // the next runtime with a pool sweeps it
      await until(() => warmGroups(agent.pid).length === 0, 'the dead agent\'s warm cgroup is swept');
    }
  });
});
