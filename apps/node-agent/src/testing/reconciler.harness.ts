/** A reconciler over the fake runtime, a manual clock and a temporary state dir, for tests. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReplicaAssignment } from '@tide/api';
import { Reconciler, ReconcilerOptions, ReplicaView } from '../reconcile/reconciler';
import { ReplicaStateFile } from '../reconcile/replica.state-file';
import { FakeRuntime } from '@tide/runtime/testing';
import { ManualClock } from './manual.clock';

export class ReconcilerHarness {
  readonly clock = new ManualClock();
  readonly runtime: FakeRuntime;
  readonly reconciler: Reconciler;
  readonly logDir: string;
  readonly restarts: string[] = [];

  constructor(readonly stateDir: string, runtime?: FakeRuntime, options: Partial<ReconcilerOptions> = {}) {
    this.runtime = runtime ?? new FakeRuntime(() => this.clock.now());
    this.logDir = path.join(stateDir, 'logs');
    this.reconciler = new Reconciler({
      runtime: this.runtime, logDir: this.logDir, clock: this.clock, state: new ReplicaStateFile(path.join(stateDir, 'replicas.json')),
      onRestart: (record) => this.restarts.push(record.key), ...options,
    });
  }

  /** Lets exits (promise callbacks) reach the queue, then waits until every queued sync ran. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.reconciler.idle();
    }
  }

  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.settle();
  }

  view(name: string, namespace = 'default'): ReplicaView {
    const found = this.reconciler.views().find((v) => v.record.key === `${namespace}/${name}`);
    assert.ok(found, `a record for ${namespace}/${name}`);
    return found;
  }

  async desire(...assignments: ReplicaAssignment[]): Promise<void> {
    this.reconciler.setDesired(assignments);
    await this.settle();
  }
}

/** Temporary dirs removed by `removeTempDirs` (call it in `after`). */
const tempDirs: string[] = [];

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-reconciler-'));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
