/**
 * What the reconciler relies on from a ContainerRuntime, as one suite run against every
 * implementation (containerd's habit): the in-memory fake, and LinuxRuntime on the real kernel, so
 * that the fake the reconciler tests use stays honest.
 */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ContainerRuntime, ContainerSpec, RuntimeError } from '../runtime.types';

export interface RuntimeUnderTest {
  runtime: ContainerRuntime;
  /** Makes the container's process exit with this code (the fake is told; a real one runs `exit N`). */
  argvExiting(code: number): string[];
  /** A process that runs until stopped. */
  argvRunning(): string[];
  cleanup(): Promise<void>;
}

export function runtimeContract(name: string, create: () => Promise<RuntimeUnderTest>, exitNow?: (runtime: ContainerRuntime, id: string, code: number) => void): void {
  describe(`ContainerRuntime contract: ${name}`, { timeout: 300_000 }, () => {
    const run = Math.random().toString(36).slice(2, 7);
    let subject: RuntimeUnderTest | undefined;
    const spec = (id: string, argv: string[], extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
      id: `contract-${run}-${id}`, hostname: id, image: 'busybox', argv, env: {}, limits: { memoryBytes: 32 * 2 ** 20 },
      labels: { namespace: 'default', replica: id }, ...extra,
    });
    const get = async () => (subject ??= await create());

    after(async () => {
      if (!subject) return;
      for (const c of await subject.runtime.list()) if (c.id.includes(run)) await subject.runtime.remove(c.id).catch(() => undefined);
      await subject.cleanup();
    });

    it('starts a container that list() finds with its spec and labels, and stop() ends it', async () => {
      const { runtime, argvRunning } = await get();
      const started = await runtime.start(spec('a', argvRunning()));
      assert.ok(started.pid > 0);
      assert.equal(started.exit, undefined);
      const listed = (await runtime.list()).find((c) => c.id === started.id);
      assert.deepEqual(listed?.spec.labels, { namespace: 'default', replica: 'a' });
      const exit = await runtime.stop(started.id, 1);
      assert.ok(exit.code !== 0 || exit.signal !== null, 'a stopped container did not succeed');
      assert.deepEqual(await runtime.wait(started.id), exit, 'wait() after the exit gives the same status');
      await runtime.remove(started.id);
      assert.equal((await runtime.list()).some((c) => c.id === started.id), false);
    });

    it('reports the exit code of a container that exits', async () => {
      const { runtime, argvExiting } = await get();
      const started = await runtime.start(spec('b', argvExiting(3)));
      exitNow?.(runtime, started.id, 3);
      const exit = await runtime.wait(started.id);
      assert.equal(exit.code, 3);
      assert.equal(exit.oomKilled, false);
      assert.ok(exit.finishedAt instanceof Date);
      assert.ok((await runtime.list()).some((c) => c.id === started.id && c.exit), 'an exited container is listed until removed');
      await runtime.remove(started.id);
      await runtime.remove(started.id); // idempotent
    });

    it('refuses a missing image with ImageNotFound and leaves nothing behind', async () => {
      const { runtime, argvRunning } = await get();
      const s = spec('c', argvRunning(), { image: 'no-such-image:1.0' });
      await assert.rejects(runtime.start(s), (error: unknown) => error instanceof RuntimeError && error.code === 'ImageNotFound');
      assert.equal((await runtime.list()).some((c) => c.id === s.id), false);
    });

    it('pauses and unpauses a running container (list() says so), refuses exec while paused, and stops a paused one', async () => {
      const { runtime, argvRunning } = await get();
      const started = await runtime.start(spec('e', argvRunning()));
      const listed = async () => (await runtime.list()).find((c) => c.id === started.id);
      await runtime.pause(started.id);
      await runtime.pause(started.id); // idempotent
      assert.equal((await listed())?.paused, true);
      await assert.rejects(runtime.exec(started.id, { argv: ['true'], tty: false }), (error: unknown) => error instanceof RuntimeError && error.code === 'Paused');
      await runtime.unpause(started.id);
      assert.equal((await listed())?.paused, false);
      await runtime.pause(started.id);
      const exit = await runtime.stop(started.id, 1);
      assert.ok(exit.code !== 0 || exit.signal !== null, 'the paused container was stopped');
      await runtime.remove(started.id);
      await assert.rejects(runtime.pause(started.id), (error: unknown) => error instanceof RuntimeError && error.code === 'NotFound');
    });

    it('refuses a second container with the same id', async () => {
      const { runtime, argvRunning } = await get();
      const s = spec('d', argvRunning());
      await runtime.start(s);
      await assert.rejects(runtime.start(s), (error: unknown) => error instanceof RuntimeError);
      await runtime.remove(s.id);
    });
  });
}
