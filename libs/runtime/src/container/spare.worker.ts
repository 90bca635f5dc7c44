/**
 * One start worker booted ahead of need, for cold starts. Booting a worker thread and loading koffi
 * in it took 14-40 ms of a cold start's critical path (the start benchmark's breakdown). A spare has
 * no namespaces and no process: it is a thread that waits, with koffi loaded, until a start hands it
 * its namespaces; then it unshares and spawns the init exactly as a fresh worker does. It is unref'd
 * while it waits, so it keeps no process alive, and replaced after each start that took it. This is
 * no warm pool: the init itself still boots on the start's path.
 */
import { Worker } from 'node:worker_threads';
import { StartWorkerData } from '../init/init.config';
import type { InitPipeEnds } from './init.pipes';
import { INIT_SCRIPT, START_WORKER } from './start.paths';

export class SpareWorker {
  private spare?: { worker: Worker; booted: Promise<void>; stopWatching: () => void };
  private closed = false;

  constructor(private readonly stageDir: string) {}

  /** The spare, told to unshare `namespaces` and spawn its init onto the runtime's pipe ends;
   *  undefined when there is none yet. */
  take(namespaces: number, ends: InitPipeEnds): Worker | undefined {
    const spare = this.spare;
    if (!spare) return undefined;
    spare.stopWatching();
    this.spare = undefined;
    spare.worker.postMessage({ type: 'spawn', namespaces, ...ends });
    return spare.worker;
  }

  /** Boots a spare if there is none (after a start, off its path). */
  refill(): void {
    if (this.closed || this.spare) return;
    const data: StartWorkerData = { initScript: INIT_SCRIPT, stageDir: this.stageDir };
    const worker = new Worker(START_WORKER, { workerData: data });
    worker.unref();
    let resolveBooted!: () => void;
    const booted = new Promise<void>((resolve) => (resolveBooted = resolve));
    const drop = () => {
      if (this.spare?.worker === worker) this.spare = undefined;
      resolveBooted();
    };
    worker.on('error', drop).on('exit', drop).once('message', resolveBooted); // 'spare-ready'
    // Only our own listeners go: removeAllListeners() would also drop the ones through which Node
    // hands the worker's messages to a later listener (they would be lost).
    const stopWatching = () => worker.off('error', drop).off('exit', drop).off('message', resolveBooted);
    this.spare = { worker, booted, stopWatching };
  }

  /** Resolves once a spare has booted, or has failed to (the bench waits for it before a timed start). */
  async ready(): Promise<void> {
    this.refill();
    // The booting thread is unref'd: whoever waits for it keeps the process alive meanwhile.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      await this.spare?.booted;
    } finally {
      clearInterval(keepAlive);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.spare?.worker;
    this.spare = undefined;
    await worker?.terminate();
  }
}
