/**
 * Attachable stdio of a container's main process on the real kernel (needs root): a terminal of the
 * container's devpts whose output also reaches the log, a stdin pipe closed by the client's end,
 * clients that come and go while the container runs on, and signals to the main process.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { ExecSession } from '../runtime.types';
import { RuntimeFixture } from '../testing/runtime.fixture';

function collect(session: ExecSession): () => string {
  let text = '';
  session.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

const until = (read: () => string, pattern: RegExp) =>
  waitFor(() => pattern.test(read()), { what: `${pattern} on the terminal`, detail: () => JSON.stringify(read()) });

describe('attachable stdio of the main process', { timeout: 300_000 }, () => {
  let f: RuntimeFixture;

  before(async () => {
    f = await RuntimeFixture.create('console');
  });

  after(async () => f.cleanup());

  it('runs the command on a terminal of its own, in the log too, and keeps running when a client detaches', async () => {
    const spec = { ...f.spec('tty', ''), argv: ['sh'], stdio: { stdin: true, tty: true } };
    await f.start(spec);
    const first = f.runtime.attach(spec.id, true);
    const shown = collect(first);
    first.resize({ rows: 33, cols: 101 });
    first.stdin.write('tty; stty size; echo "pid $$"\n');
    await until(shown, /\/dev\/pts\/0\r\n33 101\r\npid 1\r\n/);
    first.kill('SIGKILL'); // detaches
    await first.exited.catch(() => undefined);
    assert.equal((await f.runtime.list()).find((c) => c.id === spec.id)?.exit, undefined, 'still running without a client');
    const second = f.runtime.attach(spec.id, false);
    const again = collect(second);
    second.stdin.write('echo second; exit 3\n');
    const exit = await second.exited;
    assert.equal(exit.code, 3);
    assert.match(again(), /second/);
    assert.doesNotMatch(again(), /pid 1/, 'without replay only what comes next');
    const log = fs.readFileSync(path.join(f.dir, 'state/containers', spec.id, 'log'), 'utf8');
    assert.match(log, /pid 1\r\n[\s\S]*second/);
  });

  it('gives a process without a terminal the client\'s input on stdin and its end as EOF', async () => {
    const spec = { ...f.spec('stdin', 'cat; echo "done $?"'), stdio: { stdin: true, tty: false } };
    await f.start(spec);
    const session = f.runtime.attach(spec.id, false);
    session.stdin.end('piped\n');
    assert.equal((await session.exited).code, 0);
    assert.equal(await f.logOf(spec.id, /done 0/), 'piped\ndone 0\n');
  });

  it('refuses to attach to a container started without stdin or a terminal', async () => {
    const spec = f.spec('plain', 'exec sleep 60');
    await f.start(spec);
    assert.throws(() => f.runtime.attach(spec.id, false), /cannot be attached to: it was started without stdin or a terminal/);
  });

  it('signals the main process: a trapped signal leaves it running', async () => {
    const spec = f.spec('trap', 'trap "echo got HUP" HUP; echo ready; while true; do sleep 0.1; done');
    await f.start(spec);
    await f.logOf(spec.id, /ready/);
    f.runtime.signal(spec.id, 'SIGHUP');
    await f.logOf(spec.id, /got HUP/);
    assert.equal((await f.runtime.list()).find((c) => c.id === spec.id)?.exit, undefined);
    f.runtime.signal(spec.id, 'SIGKILL');
    assert.equal((await f.runtime.wait(spec.id)).signal, 'SIGKILL');
  });
});
