/**
 * `exec` into running containers on the real kernel (needs root): namespaces, cgroup, user and
 * capabilities of the container, exit codes, stdin, and terminals. Every container is removed in the
 * after hook, so a failing test leaves nothing behind.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { waitFor } from '@tide/api/testing';
import { DEFAULT_CAPABILITY_MASK } from '../init/capabilities';
import { ExecOptions, ExecSession, RuntimeError } from '../runtime.types';
import { RuntimeFixture } from '../testing/runtime.fixture';

interface Finished {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
}

function collect(stream: NodeJS.ReadableStream | undefined): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

/** Waits for the session's end, with everything it printed. */
async function finish(session: ExecSession, input?: string): Promise<Finished> {
  const stdout = collect(session.stdout);
  const stderr = collect(session.stderr);
  if (input !== undefined) session.stdin.end(input);
  const { code, signal } = await session.exited;
  return { stdout: stdout(), stderr: stderr(), code, signal };
}

/** Reads a terminal's output until it matches. */
function until(read: () => string, pattern: RegExp): Promise<string> {
  return waitFor(() => pattern.test(read()) && read(), { what: `${pattern} on the terminal`, detail: () => JSON.stringify(read()) });
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const DEFAULT_CAPS_HEX = DEFAULT_CAPABILITY_MASK.toString(16).padStart(16, '0');

describe('exec', { timeout: 600_000 }, () => {
  let f: RuntimeFixture;
  let running: string;
  let asApp: string;

  const exec = (id: string, argv: string[], options: Partial<ExecOptions> = {}) => f.runtime.exec(id, { argv, tty: false, ...options });

  before(async () => {
    f = await RuntimeFixture.create('exec');
    await f.imageWith('users:1', {
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
      'etc/group': 'root:x:0:\ntty:x:5:\napp:x:1000:\n',
    });
    const spec = f.spec('target', 'echo inside > /tmp/mark; exec sleep 120', { env: { FROM_SPEC: 'spec' }, workingDir: '/tmp' });
    running = spec.id;
    await f.start(spec);
    await f.logOf(running, /$/);
    const app = f.spec('app', 'exec sleep 120', { image: 'users:1', user: 'app' });
    asApp = app.id;
    await f.start(app);
  });

  after(async () => f.cleanup());

  it("sees the container's PID 1, hostname, files and cgroup, with its env and working dir", async () => {
    const info = (await f.runtime.list()).find((c) => c.id === running)!;
    const out = await finish(await exec(running, ['sh', '-c', [
      'tr "\\0" " " < /proc/1/cmdline; echo', 'hostname', 'cat /tmp/mark', 'pwd', 'echo "$FROM_SPEC $EXTRA"', 'grep -c . /proc/self/cgroup > /dev/null && cat /proc/self/cgroup',
    ].join('; ')], { env: { EXTRA: 'extra' } }));
    const lines = out.stdout.split('\n');
    assert.equal(lines[0], 'sleep 120 ');
    assert.equal(lines[1], `host-target`);
    assert.equal(lines[2], 'inside', "the container's root, not the host's");
    assert.equal(lines[3], '/tmp');
    assert.equal(lines[4], 'spec extra');
    assert.match(out.stdout, new RegExp(`/tide/${running.replace(/\./g, '\\.')}$`, 'm'), "in the container's cgroup");
    assert.equal(out.code, 0);
    assert.ok(info.pid > 0);
  });

  it('passes the exit code, a signal, stdin and stderr through', async () => {
    assert.equal((await finish(await exec(running, ['sh', '-c', 'exit 3']))).code, 3);
    const cat = await finish(await exec(running, ['sh', '-c', 'cat; echo oops >&2']), 'hello\nworld\n');
    assert.equal(cat.stdout, 'hello\nworld\n');
    assert.equal(cat.stderr, 'oops\n');
    const sleeper = await exec(running, ['sleep', '30']);
    sleeper.kill('SIGKILL');
    assert.deepEqual(await sleeper.exited, { code: null, signal: 'SIGKILL' });
  });

  it('reports a missing command with 127 and an unknown user with 126, as a shell would', async () => {
    const missing = await finish(await exec(running, ['no-such-command']));
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /^tide exec: executable "no-such-command" not found in the image/);
    const ghost = await finish(await exec(running, ['true'], { user: 'ghost' }));
    assert.equal(ghost.code, 126);
    assert.match(ghost.stderr, /user "ghost" not found/);
  });

  it("runs as the container's user with its capabilities and no_new_privs; options.user overrides", async () => {
    const status = ['sh', '-c', 'grep -E "^(Uid|CapEff|CapBnd|NoNewPrivs):" /proc/self/status'];
    const app = (await finish(await exec(asApp, status))).stdout;
    assert.match(app, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    assert.match(app, /^CapEff:\s+0{16}$/m);
    assert.match(app, new RegExp(`^CapBnd:\\s+${DEFAULT_CAPS_HEX}$`, 'm'));
    assert.match(app, /^NoNewPrivs:\s+1$/m);
    const root = (await finish(await exec(asApp, status, { user: '0' }))).stdout;
    assert.match(root, /^Uid:\s+0\s+0\s+0\s+0$/m);
    assert.match(root, new RegExp(`^CapEff:\\s+${DEFAULT_CAPS_HEX}$`, 'm'), "root gets Docker's set, not the host's");
  });

  it('gives a terminal of the container with its size, follows a resize, and stdin is typed into it', async () => {
    // The exit of a terminal's session leader hangs the terminal up, and the kernel then drops what
    // its master side had not read yet (pty_flush_buffer): on a starved machine, the last words. As
    // with runc, a reader that needs them waits for them before the process may end (here: `read`).
    const once = await exec(running, ['sh', '-c', 'tty; stty size; read done'], { tty: true, size: { rows: 30, cols: 100 } });
    const printed = await until(collect(once.stdout), /^30 100\r$/m);
    // Numbered from 0: the container's own devpts instance, not the host's.
    assert.match(printed, /^\/dev\/pts\/0\r$/m);
    once.stdin.write('\n');
    assert.deepEqual(await once.exited, { code: 0, signal: null });
    const shell = await exec(running, ['sh'], { tty: true, size: { rows: 30, cols: 100 } });
    assert.equal(shell.stderr, undefined, 'stderr goes to the terminal');
    const read = collect(shell.stdout);
    shell.stdin.write('stty size\n');
    await until(read, /^30 100\r$/m);
    shell.resize({ rows: 40, cols: 120 });
    shell.stdin.write('stty size\n');
    await until(read, /^40 120\r$/m);
    shell.stdin.write('exit 7\n');
    assert.deepEqual(await shell.exited, { code: 7, signal: null });
  });

  it('leaves no process and no open fd behind', async () => {
    const fds = openFds();
    for (const tty of [false, true]) {
      const session = await exec(running, ['sh', '-c', 'sleep 0.2; echo done'], { tty });
      const out = await finish(session);
      assert.match(out.stdout, /done/);
      assert.equal(fs.existsSync(`/proc/${session.pid}`), false, 'the exec process is gone');
    }
    // Worker threads close their handles after the session ends: a leak never comes back down.
    // Handles of earlier tests may close meanwhile too, so the count may end below the baseline.
    await waitFor(() => openFds() <= fds, { what: `open fds back to ${fds} or fewer`, detail: () => `${openFds()} open` });
  });

  it('refuses an unknown or exited container with NotFound', async () => {
    const notFound = (e: unknown) => e instanceof RuntimeError && e.code === 'NotFound';
    await assert.rejects(exec('no-such-container', ['true']), notFound);
    const spec = f.spec('exited', 'true');
    await f.start(spec);
    await f.runtime.wait(spec.id);
    await assert.rejects(exec(spec.id, ['true']), notFound);
  });
});
