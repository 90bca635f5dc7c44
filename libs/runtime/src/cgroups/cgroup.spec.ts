/** cgroup v1 for real (this machine's controllers) and v2 for real on the empty unified hierarchy. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { detectCgroups } from './cgroup';
import { cfsQuota, cpuShares, cpuWeight } from './cgroup.limits';
import { CgroupV1Manager } from './cgroup-v1';
import { CgroupV2Manager } from './cgroup-v2';
import { ContainerCgroup } from './cgroup.types';

describe('cgroup arithmetic', () => {
  it('converts millicores like runc and Kubernetes', () => {
    assert.equal(cpuShares(250), 256); // 250 * 1024 / 1000
    assert.equal(cpuShares(1), 2); // at least 2
    assert.equal(cfsQuota(500), 50_000); // 500/1000 of a 100000 µs period
    assert.equal(cpuWeight(2), 1); // 1 + (2-2)*9999/262142
    assert.equal(cpuWeight(1024), 40); // 1 + (1024-2)*9999/262142 = 39.98 → 40
  });
});

function sleeper() {
  return spawn('sleep', ['30'], { stdio: 'ignore' });
}

function spinner() {
  return spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
}

describe('cgroup v1 (this machine)', { skip: !fs.existsSync('/sys/fs/cgroup/memory/cgroup.procs') && 'no v1 memory controller' }, () => {
  it('applies limits, holds a process, reports usage, and is removed', async () => {
    const manager = detectCgroups();
    assert.equal(manager.version, 1);
    const group = await manager.create('cg-spec-v1', { cpuMillis: 500, cpuRequestMillis: 250, memoryBytes: 64 * 2 ** 20, pids: 50 });
    const child = sleeper();
    try {
      assert.equal(fs.readFileSync('/sys/fs/cgroup/cpu/tide/cg-spec-v1/cpu.cfs_quota_us', 'utf8').trim(), '50000');
      assert.equal(fs.readFileSync('/sys/fs/cgroup/cpu/tide/cg-spec-v1/cpu.shares', 'utf8').trim(), '256');
      assert.equal(fs.readFileSync('/sys/fs/cgroup/memory/tide/cg-spec-v1/memory.limit_in_bytes', 'utf8').trim(), String(64 * 2 ** 20));
      assert.equal(fs.readFileSync('/sys/fs/cgroup/pids/tide/cg-spec-v1/pids.max', 'utf8').trim(), '50');
      await group.addProcess(child.pid!);
      assert.deepEqual(await group.pids(), [child.pid]);
      const usage = await group.usage();
      assert.equal(usage.memoryLimitBytes, 64 * 2 ** 20);
      assert.equal(usage.cpuQuotaMicros, 50_000);
      assert.equal(usage.cpuPeriodMicros, 100_000);
      assert.equal(usage.oomEvents, 0);
      // v1 does not move a process's earlier charges with it (move_charge_at_immigrate is 0): usage may be 0 here.
      assert.ok(usage.memoryWorkingSetBytes <= usage.memoryUsageBytes, JSON.stringify(usage));
    } finally {
      await group.destroy();
    }
    assert.equal(fs.existsSync('/sys/fs/cgroup/memory/tide/cg-spec-v1'), false);
    assert.equal(child.killed || child.exitCode !== null || child.signalCode !== null || !fs.existsSync(`/proc/${child.pid}/status`) ||
      fs.readFileSync(`/proc/${child.pid}/status`, 'utf8').includes('zombie'), true, 'the process was killed');
  });
});

describe('cgroup v1 parent weight', () => {
  it('weighs the parent group of every container at the CPU given (kubepods at the allocatable CPU)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-cgv1-'));
    try {
      fs.mkdirSync(path.join(root, 'cpu'));
      new CgroupV1Manager(root, 'tide').weighParent(1900);
      assert.equal(fs.readFileSync(path.join(root, 'cpu', 'tide', 'cpu.shares'), 'utf8'), '1946'); // 1900 * 1024 / 1000 = 1945.6
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('cgroup v1 usage', { skip: !fs.existsSync('/sys/fs/cgroup/cpuacct/cgroup.procs') && 'no v1 cpuacct controller' }, () => {
  it('counts the CPU time of a busy process and reports no quota for an unlimited group', async () => {
    const group = await detectCgroups().create('cg-spec-v1-busy', { memoryBytes: 64 * 2 ** 20 });
    const child = spinner();
    try {
      await group.addProcess(child.pid!);
      const before = await group.usage();
      // The spinner's CPU time shows in the group's counter however busy the machine is: wait for 30 ms of it.
      const after = await waitFor(async () => {
        const now = await group.usage();
        return now.cpuUsageSeconds - before.cpuUsageSeconds > 0.03 && now;
      }, { what: `the group's CPU time to grow past ${before.cpuUsageSeconds} + 0.03 s` });
      assert.equal(after.cpuQuotaMicros, undefined);
    } finally {
      child.kill('SIGKILL');
      await group.destroy();
    }
  });
});

describe('cgroup v2', () => {
  const unified = '/sys/fs/cgroup/unified';
  it('creates, holds a process, kills all and removes a group on the real v2 hierarchy', { skip: !fs.existsSync(`${unified}/cgroup.procs`) && 'no v2 hierarchy' }, async () => {
    const manager = detectCgroups({ root: unified });
    assert.equal(manager.version, 2);
    const group = await manager.create('cg-spec-v2', { memoryBytes: 2 ** 26 });
    const child = sleeper();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await group.addProcess(child.pid!);
      assert.deepEqual(await group.pids(), [child.pid]);
      await group.killAll();
      await exited;
    } finally {
      child.kill('SIGKILL');
      await group.destroy();
    }
    assert.equal(fs.existsSync(`${unified}/tide/cg-spec-v2`), false);
  });

  it('writes v2 limit files where the controllers are enabled', async () => {
    // A directory shaped like a v2 group whose controllers are enabled: the same code writes the files.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-cgv2-'));
    try {
      const group = new CgroupV2Manager(root, 'tide').open('c1');
      fs.mkdirSync(group.dir, { recursive: true });
      for (const file of ['cpu.weight', 'cpu.max', 'memory.max', 'memory.swap.max', 'pids.max']) fs.writeFileSync(path.join(group.dir, file), '');
      await group.applyLimits({ cpuMillis: 1500, cpuRequestMillis: 1000, memoryBytes: 2 ** 27 });
      const read = (f: string) => fs.readFileSync(path.join(group.dir, f), 'utf8');
      assert.equal(read('cpu.max'), '150000 100000');
      assert.equal(read('memory.max'), String(2 ** 27));
      assert.equal(read('memory.swap.max'), '0');
      assert.equal(read('pids.max'), '1024');
      assert.equal(read('cpu.weight'), String(cpuWeight(cpuShares(1000))));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('weighs the parent group of every container at the CPU given, cpu delegated from the root', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-cgv2-'));
    try {
      fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      fs.writeFileSync(path.join(root, 'cgroup.subtree_control'), '');
      fs.mkdirSync(path.join(root, 'tide'));
      fs.writeFileSync(path.join(root, 'tide', 'cpu.weight'), '100');
      new CgroupV2Manager(root, 'tide').weighParent(1900);
      assert.equal(fs.readFileSync(path.join(root, 'cgroup.subtree_control'), 'utf8'), '+cpu');
      // 1900m → 1946 shares → 1 + (1946-2)*9999/262142 = 75.2 → 75 (the default weight of a group is 100 = 2.5 cores' shares)
      assert.equal(fs.readFileSync(path.join(root, 'tide', 'cpu.weight'), 'utf8'), '75');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads usage from the v2 files as cAdvisor does', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-cgv2-'));
    try {
      const group = new CgroupV2Manager(root, 'tide').open('c1');
      fs.mkdirSync(group.dir, { recursive: true });
      const files: Record<string, string> = {
        'cpu.stat': 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n',
        'memory.current': '10485760\n', 'memory.stat': 'anon 4194304\nfile 6291456\ninactive_file 2097152\n',
        'memory.max': '67108864\n', 'cpu.max': '150000 100000\n', 'memory.events': 'low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n',
      };
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(group.dir, file), text);
      assert.deepEqual(await group.usage(), {
        cpuUsageSeconds: 2.5, memoryUsageBytes: 10485760,
        memoryWorkingSetBytes: 10485760 - 2097152, // memory.current - inactive_file
        memoryLimitBytes: 67108864, cpuQuotaMicros: 150000, cpuPeriodMicros: 100000, oomEvents: 1,
      });
      fs.writeFileSync(path.join(group.dir, 'memory.max'), 'max\n');
      fs.writeFileSync(path.join(group.dir, 'cpu.max'), 'max 100000\n');
      const unlimited = await group.usage();
      assert.equal(unlimited.memoryLimitBytes, undefined);
      assert.equal(unlimited.cpuQuotaMicros, undefined);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads every container\'s CPU time together from the parent group, v2 and v1', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-cgparent-'));
    try {
      assert.equal(new CgroupV2Manager(root, 'tide').containersCpuSeconds(), undefined, 'no parent yet');
      fs.mkdirSync(path.join(root, 'tide'));
      fs.writeFileSync(path.join(root, 'tide/cpu.stat'), 'usage_usec 7500000\nuser_usec 5000000\n');
      assert.equal(new CgroupV2Manager(root, 'tide').containersCpuSeconds(), 7.5);
      fs.mkdirSync(path.join(root, 'cpuacct/tide'), { recursive: true });
      fs.writeFileSync(path.join(root, 'cpuacct/tide/cpuacct.usage'), '2500000000\n');
      assert.equal(new CgroupV1Manager(root, 'tide').containersCpuSeconds(), 2.5);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('given the previous sample, reads only the CPU time of a group that did not run, and never the limits again', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-cgv2-'));
    try {
      const group = new CgroupV2Manager(root, 'tide').open('c2');
      fs.mkdirSync(group.dir, { recursive: true });
      const write = (file: string, text: string) => fs.writeFileSync(path.join(group.dir, file), text);
      write('cpu.stat', 'usage_usec 1000000\n');
      write('memory.current', '4096\n');
      write('memory.stat', 'inactive_file 0\n');
      write('memory.max', '8192\n');
      write('cpu.max', '50000 100000\n');
      write('memory.events', 'oom_kill 0\n');
      const first = await group.usage();
      write('memory.current', '6000\n'); // moved without the CPU time: not read
      assert.equal(await group.usage(first), first, 'the same sample: the CPU time did not move');
      for (const file of ['memory.max', 'cpu.max']) fs.rmSync(path.join(group.dir, file));
      write('cpu.stat', 'usage_usec 1500000\n');
      assert.deepEqual(await group.usage(first), { ...first, cpuUsageSeconds: 1.5, memoryUsageBytes: 6000, memoryWorkingSetBytes: 6000 }, 'memory read anew, limits carried');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

/** A shell that counts in a file as fast as it can: the count stops while it is frozen. */
function counter(file: string) {
  return spawn('sh', ['-c', `i=0; while :; do i=$((i+1)); echo $i > ${file}; done`], { stdio: 'ignore' });
}

function countIn(file: string): number {
  return Number(fs.readFileSync(file, 'utf8').trim() || 0);
}

/** Freezes a counting process's group, sees the count stand still and the kernel say so, thaws it, sees it count again. */
async function pauseAndResume(group: ContainerCgroup, stateOf: () => string, frozenState: string, thawedState: string): Promise<void> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tide-freeze-')), 'count');
  const child = counter(file);
  try {
    await group.addProcess(child.pid!);
    await waitFor(() => fs.existsSync(file) && countIn(file) > 10, { what: 'the counter to count' });
    assert.equal(group.frozen(), false);
    await group.freeze();
    assert.equal(group.frozen(), true);
    assert.equal(stateOf(), frozenState);
    assert.match(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'), /State:\s+[SD]/, 'the frozen task sleeps');
    const frozenAt = countIn(file);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(countIn(file), frozenAt, 'no count while frozen');
    await group.thaw();
    assert.equal(group.frozen(), false);
    assert.equal(stateOf(), thawedState);
    await waitFor(() => countIn(file) > frozenAt + 10, { what: `the count to pass ${frozenAt} + 10 after the thaw` });
    await group.freeze(); // destroyed frozen: destroy must still kill and remove it
  } finally {
    await group.destroy();
    child.kill('SIGKILL');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

describe('cgroup v1 freezer (this machine)', { skip: !fs.existsSync('/sys/fs/cgroup/freezer/cgroup.procs') && 'no v1 freezer controller' }, () => {
  it('freezes and thaws a container group, made at the first pause, and removes it frozen', async () => {
    const manager = detectCgroups();
    const group = await manager.create('cg-spec-v1-freeze', {});
    const dir = '/sys/fs/cgroup/freezer/tide/cg-spec-v1-freeze';
    assert.equal(fs.existsSync(dir), false, 'no freezer group before a pause');
    await pauseAndResume(group, () => fs.readFileSync(`${dir}/freezer.state`, 'utf8').trim(), 'FROZEN', 'THAWED');
    assert.equal(fs.existsSync(dir), false);
    assert.equal(fs.existsSync('/sys/fs/cgroup/pids/tide/cg-spec-v1-freeze'), false);
  });

  it('freezes children forked after the pause began, and tells the state to a new manager (an agent restart)', async () => {
    const group = await detectCgroups().create('cg-spec-v1-forks', {});
    const child = spawn('sh', ['-c', 'while :; do sleep 0.01 & wait; done'], { stdio: 'ignore' });
    try {
      await group.addProcess(child.pid!);
      await group.freeze();
      const frozen = await group.pids();
      const inFreezer = fs.readFileSync('/sys/fs/cgroup/freezer/tide/cg-spec-v1-forks/cgroup.procs', 'utf8').split('\n').filter(Boolean).map(Number);
      assert.deepEqual([...frozen].sort(), [...inFreezer].sort(), 'every task of the container is in the frozen group');
      assert.equal(detectCgroups().open('cg-spec-v1-forks').frozen(), true);
    } finally {
      await group.destroy();
      child.kill('SIGKILL');
    }
  });
});

describe('cgroup v2 freezer', { skip: !fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') && 'no v2 hierarchy' }, () => {
  it('freezes and thaws a group on the real v2 hierarchy (cgroup.freeze, cgroup.events frozen)', async () => {
    const group = await detectCgroups({ root: '/sys/fs/cgroup/unified' }).create('cg-spec-v2-freeze', {});
    const events = () => /frozen (\d)/.exec(fs.readFileSync('/sys/fs/cgroup/unified/tide/cg-spec-v2-freeze/cgroup.events', 'utf8'))?.[1] ?? '?';
    await pauseAndResume(group, events, '1', '0');
    assert.equal(fs.existsSync('/sys/fs/cgroup/unified/tide/cg-spec-v2-freeze'), false);
  });
});
