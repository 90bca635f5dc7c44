/**
 * A LinuxRuntime over a temporary state and image dir for tests on the real kernel (needs root).
 * `cleanup()` removes every container it started, then the directory, also after a failed test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { BUSYBOX_REF, ensureBusyboxImage } from '../image/busybox.image';
import { dir, file, symlink, tarBytes } from '../image/image.testing';
import { ImageStore } from '../image/image.store';
import { LinuxRuntime } from '../linux.runtime';
import { ContainerInfo, ContainerSpec } from '../runtime.types';

const MiB = 2 ** 20;

export class RuntimeFixture {
  readonly started: string[] = [];
  /** Unique per run: another checkout may run these tests at the same time (same cgroup parent). */
  private readonly run = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;

  private constructor(
    readonly dir: string,
    readonly runtime: LinuxRuntime,
  ) {}

  static async create(prefix: string): Promise<RuntimeFixture> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tide-${prefix}-`));
    await ensureBusyboxImage(path.join(dir, 'images'));
    return new RuntimeFixture(dir, new LinuxRuntime({ stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images') }));
  }

  get imageDir(): string {
    return path.join(this.dir, 'images');
  }

  spec(id: string, script: string, extra: Partial<ContainerSpec> = {}): ContainerSpec {
    return {
      id: `t-${this.run}-${id}`, hostname: `host-${id}`, image: 'busybox', argv: ['sh', '-c', script], env: {},
      limits: { memoryBytes: 64 * MiB, cpuMillis: 500 }, labels: {}, ...extra,
    };
  }

  async start(spec: ContainerSpec): Promise<ContainerInfo> {
    this.started.push(spec.id);
    return this.runtime.start(spec);
  }

  /** The container's log once it matches `until`; fails, showing the log, if it never does. */
  async logOf(id: string, until: RegExp): Promise<string> {
    return logMatching(path.join(this.dir, 'state/containers', id, 'log'), until);
  }

  /** Runs `script` to its end and answers its output. */
  async output(id: string, script: string, extra: Partial<ContainerSpec> = {}): Promise<string> {
    const spec = this.spec(id, script, extra);
    await this.start(spec);
    await this.runtime.wait(spec.id);
    return this.logOf(spec.id, /$/);
  }

  /** An image `ref` made of busybox (or `base`) plus a layer holding `files` (path → content, content and mode, or a symlink's target). */
  async imageWith(ref: string, files: Record<string, string | { body: Buffer; mode: number } | { symlink: string }>, baseRef = BUSYBOX_REF): Promise<void> {
    const store = new ImageStore(this.imageDir);
    const base = await store.record(baseRef);
    if (!base) throw new Error(`${baseRef} is missing in ${this.imageDir}`);
    const dirs = new Set<string>();
    for (const name of Object.keys(files)) {
      for (let parent = path.dirname(name); parent !== '.' && parent !== '/'; parent = path.dirname(parent)) dirs.add(parent);
    }
    const entry = (name: string, body: (typeof files)[string]) => {
      if (typeof body === 'string') return file(name, body);
      return 'symlink' in body ? symlink(name, body.symlink) : file(name, body.body, body.mode);
    };
    const entries = [...[...dirs].sort().map((name) => dir(name)), ...Object.entries(files).map(([name, body]) => entry(name, body))];
    const scratch = await store.tempDir('fixture');
    try {
      const blob = path.join(scratch, 'layer.tar');
      fs.writeFileSync(blob, await tarBytes(entries));
      const layer = await store.addLayer(blob, {}, ref);
      await store.commitConfig(ref, await store.readConfig(base.config), [...base.layers, layer]);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  async cleanup(): Promise<void> {
    for (const id of this.started) await this.runtime.remove(id).catch(() => undefined);
    await this.runtime.close(); // the warm pool's inits and their cgroups
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A container log file once it matches `until` (generous deadline); the error shows what it held. */
export function logMatching(file: string, until: RegExp): Promise<string> {
  const read = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
  return waitFor(() => {
    const text = read();
    return until.test(text) ? text : undefined;
  }, { what: `${until} in ${file}`, detail: () => JSON.stringify(read().slice(-2000)) });
}
