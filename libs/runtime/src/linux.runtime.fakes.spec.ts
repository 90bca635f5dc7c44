/**
 * LinuxRuntime with fakes in place of its image store, snapshotter, network and cgroups (all given
 * through LinuxRuntimeOptions): what a start that fails half-way undoes. The init is still real (the
 * launcher clones it into fresh namespaces), so this needs root.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CgroupManager, ContainerCgroup } from './cgroups/cgroup.types';
import { ImageResolver, ResolvedImage } from './image/image.store';
import { LinuxRuntime } from './linux.runtime';
import { NetworkAttacher, PreparedNetwork } from './network/container.network';
import { ContainerLimits, ContainerSpec, RuntimeError } from './runtime.types';
import { OverlayMount, Snapshotter } from './snapshot/overlay.snapshotter';

class FakeImages implements ImageResolver {
  constructor(readonly imageDir: string) {}
  async resolve(ref: string): Promise<ResolvedImage> {
    if (ref !== 'busybox') throw new RuntimeError('ImageNotFound', `image "${ref}" not found on this node`);
    return { ref, layerDirs: [path.join(this.imageDir, 'layers/sha256/0')], config: { env: {}, cmd: ['sh'] } };
  }
}

class FailingSnapshotter implements Snapshotter {
  readonly prepared: string[] = [];
  async prepare(id: string): Promise<OverlayMount> {
    this.prepared.push(id);
    throw new Error('no space left on device');
  }
  upperDir(id: string): string {
    return `/fake/${id}/upper`;
  }
  async remove(): Promise<void> {}
}

class RecordingNetwork implements NetworkAttacher {
  readonly calls: string[] = [];
  prepare(id: string): PreparedNetwork {
    this.calls.push(`prepare ${id}`);
    return { ip: '100.64.0.2', hostVeth: 'tvfake', settings: { bridge: 'tidefake', subnet: '100.64.0.0/24', gateway: '100.64.0.1', clusterCidr: '100.64.0.0/16' }, bindFiles: [] };
  }
  async attach(pid: number): Promise<void> {
    this.calls.push(`attach ${pid}`);
  }
  async release(id: string): Promise<void> {
    this.calls.push(`release ${id}`);
  }
  async sweep(kept: ReadonlySet<string>): Promise<string[]> {
    this.calls.push(`sweep keeping ${[...kept].sort().join(',')}`);
    return [];
  }
}

class RecordingCgroups implements CgroupManager {
  readonly version = 2 as const;
  readonly calls: string[] = [];
  async create(id: string, _limits: ContainerLimits): Promise<ContainerCgroup> {
    this.calls.push(`create ${id}`);
    return this.open(id);
  }
  weighParent(cpuMillis: number): void {
    this.calls.push(`weighParent ${cpuMillis}`);
  }
  open(id: string): ContainerCgroup {
    const calls = this.calls;
    return {
      id,
      addProcess: async (pid) => void calls.push(`addProcess ${id} ${pid}`),
      usage: async () => ({ cpuUsageSeconds: 0, memoryWorkingSetBytes: 0, memoryUsageBytes: 0, oomEvents: 0 }),
      oomKillCount: async () => 0,
      pids: async () => [],
      killAll: async () => undefined,
      freeze: async () => void calls.push(`freeze ${id}`),
      thaw: async () => void calls.push(`thaw ${id}`),
      frozen: () => false,
      destroy: async () => void calls.push(`destroy ${id}`),
    };
  }
}

const canRun = process.getuid?.() === 0;

describe('LinuxRuntime with injected collaborators', { skip: !canRun && 'needs root (the init unshares namespaces)', timeout: 120_000 }, () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-runtime-fakes-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const spec = (id: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    id, hostname: id, image: 'busybox', argv: ['true'], env: {}, limits: {}, labels: {}, network: 'bridge', ...extra,
  });

  function runtimeWith(snapshots: Snapshotter) {
    const network = new RecordingNetwork();
    const cgroups = new RecordingCgroups();
    const runtime = new LinuxRuntime({
      stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images'), warmPool: 0,
      images: new FakeImages(path.join(dir, 'images')), snapshots, network, cgroups,
    });
    return { runtime, network, cgroups };
  }

  it('asks the image store first: an unknown image prepares nothing', async () => {
    const { runtime, network, cgroups } = runtimeWith(new FailingSnapshotter());
    try {
      await assert.rejects(runtime.start(spec('fake-a', { image: 'nope' })), (e: unknown) => e instanceof RuntimeError && e.code === 'ImageNotFound');
      assert.deepEqual(network.calls, []);
      assert.deepEqual(cgroups.calls, []);
    } finally {
      await runtime.close();
    }
  });

  it('undoes a start whose snapshot fails: network released, cgroup destroyed, no state left', async () => {
    const snapshots = new FailingSnapshotter();
    const { runtime, network, cgroups } = runtimeWith(snapshots);
    try {
      await assert.rejects(runtime.start(spec('fake-b')), (e: unknown) => e instanceof RuntimeError && e.code === 'StartFailed' && /no space left/.test(e.message));
      assert.deepEqual(snapshots.prepared, ['fake-b']);
      assert.deepEqual(network.calls, ['prepare fake-b', 'release fake-b'], 'the address is given back; nothing was attached');
      assert.equal(cgroups.calls.some((call) => call.startsWith('addProcess')), false, 'no process joined a group');
      assert.ok(cgroups.calls.includes('destroy fake-b'), 'whatever group there is goes');
      assert.equal(fs.existsSync(path.join(dir, 'state/containers/fake-b/state.json')), false);
      assert.deepEqual(await runtime.list(), []);
    } finally {
      await runtime.close();
    }
  });

  it('sweeps what a start cut short left (a directory without state file: cgroup, address, veth) and keeps what has a state file', async () => {
    const containers = path.join(dir, 'state/containers');
    fs.mkdirSync(path.join(containers, 'half-done/etc'), { recursive: true });
    fs.writeFileSync(path.join(containers, 'half-done/etc/hosts'), '');
    fs.mkdirSync(path.join(containers, 'kept'), { recursive: true });
    const state = { spec: spec('kept'), pid: 999_999_999, pidStartTime: 1, startedAt: new Date().toISOString(), exit: { code: 0, signal: null, oomKilled: false, finishedAt: new Date().toISOString() } };
    fs.writeFileSync(path.join(containers, 'kept/state.json'), JSON.stringify(state));
    const { runtime, network, cgroups } = runtimeWith(new FailingSnapshotter());
    try {
      assert.deepEqual(await runtime.sweepLeftovers(), ['container half-done (directory, cgroup, address, veth)']);
      assert.ok(cgroups.calls.includes('destroy half-done'));
      assert.deepEqual(network.calls, ['release half-done', 'sweep keeping kept']);
      assert.equal(fs.existsSync(path.join(containers, 'half-done')), false);
      assert.deepEqual((await runtime.list()).map((c) => c.id), ['kept'], 'the container with a state file is left to adoption');
      assert.deepEqual(await runtime.sweepLeftovers(), [], 'nothing twice');
    } finally {
      await runtime.close();
    }
  });
});
