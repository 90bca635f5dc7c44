/**
 * `tsctl exec` as a user runs it against a stand-in exec endpoint: exit codes pass through, stdout
 * and stderr stay apart, -i forwards stdin; and `-it` driven through a real pseudo-terminal (util-linux
 * `script`): raw mode, the size at start and after a resize, the terminal restored afterwards.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { ExecCall, attachStandInExec } from '../testing/stand-in.exec';
import { TEST_HOME, TSCTL_MAIN, tsctl } from '../testing/run.tsctl';

describe('tsctl exec', () => {
  const calls: ExecCall[] = [];
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  attachStandInExec(server, calls);
  let url: string;
  const exec = (args: string[], input?: string) => tsctl(['--server', url, 'exec', ...args], input);

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server.close();
    fs.rmSync(TEST_HOME, { recursive: true, force: true });
  });

  it('exits with the remote exit code', async () => {
    for (const code of [0, 1, 42]) assert.equal((await exec(['web-1', '--', 'exit', String(code)])).code, code);
    const query = calls.at(-1)?.query;
    assert.deepEqual([query?.get('namespace'), query?.getAll('command'), query?.has('tty'), query?.has('stdin')], ['default', ['exit', '42'], false, false]);
  });

  it('keeps stdout and stderr apart without -t, and turns a signal into 128 + its number', async () => {
    assert.deepEqual(await exec(['web-1', '-n', 'shop', '--', 'talk']), { code: 3, stdout: 'out\n', stderr: 'err\n' });
    assert.equal(calls.at(-1)?.query.get('namespace'), 'shop');
    assert.equal((await exec(['web-1', '--', 'killed'])).code, 128 + os.constants.signals.SIGKILL);
  });

  it('forwards stdin with -i and ends it with EOF', async () => {
    assert.deepEqual(await exec(['-i', 'web-1', '--', 'cat'], 'line 1\nline 2\n'), { code: 0, stdout: 'line 1\nline 2\n', stderr: '' });
    assert.equal(calls.at(-1)?.query.get('stdin'), '1');
  });

  it('goes on without a terminal when -it is given but stdin is not one, as kubectl does', async () => {
    const run = await exec(['-it', 'web-1', '--', 'cat'], 'piped\n');
    assert.deepEqual(run, { code: 0, stdout: 'piped\n', stderr: 'Unable to use a TTY - input is not a terminal\n' });
    assert.equal(calls.at(-1)?.query.has('tty'), false);
  });

  it('says what is wrong: unknown replica (exit 1), missing command or replica (exit 2)', async () => {
    assert.deepEqual(await exec(['nope', '--', 'sh']), { code: 1, stdout: '', stderr: 'error: replica "nope" not found in namespace "default"\n' });
    const noCommand = await exec(['web-1']);
    assert.equal(noCommand.code, 2);
    assert.match(noCommand.stderr, /^error: exec needs a command after the replica, e\.g\. "tsctl exec web-1 -- sh"/);
    assert.equal((await exec([])).code, 2);
  });

  it('-it on a real terminal: raw mode, sizes, resize, exit code, terminal restored', { timeout: 180_000 }, async () => {
    const flag = path.join(TEST_HOME, 'resize-now');
    // Inside the pty: fix the size, start tsctl (stdin explicitly the tty: a background job's stdin is
    // /dev/null otherwise), wait for the test's signal, resize (the kernel sends SIGWINCH), then
    // report tsctl's exit code and the terminal's settings after it.
    const script = [
      'stty rows 24 cols 80',
      `"${process.execPath}" "${TSCTL_MAIN}" --server ${url} exec -it web-1 -- term </dev/tty & pid=$!`,
      `while [ ! -e "${flag}" ]; do sleep 0.05; done`,
      'stty rows 40 cols 100',
      'wait $pid; echo "[exit=$?]"',
      'stty -a',
    ].join('\n');
    const child = spawn('script', ['-qfec', script, '/dev/null'], { env: { ...process.env, HOME: TEST_HOME } });
    const closed = new Promise((resolve) => child.on('close', resolve));
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const shown = (text: string) => waitFor(() => output.includes(text), { what: `${JSON.stringify(text)} on the terminal`, detail: () => JSON.stringify(output) });
    await shown('[tty=1 size=24x80]');
    child.stdin.write('abc'); // no newline: only a raw terminal passes it on at once
    await shown('abc');
    fs.writeFileSync(flag, '');
    await shown('[resized 40x100]');
    child.stdin.write('\x04'); // Ctrl-D: the stand-in's process exits 7
    await shown('[exit=7]');
    await closed;
    assert.equal(calls.at(-1)?.stdin, 'abc\x04');
    assert.equal(calls.at(-1)?.resizes.at(-1), '40x100', 'stty may set rows and columns in two steps: the last size counts');
    const settings = output.slice(output.indexOf('[exit=7]'));
    assert.match(settings, /(^|\s)icanon(\s|$)/m, 'canonical mode is back');
    assert.match(settings, /(^|\s)echo(\s|$)/m, 'echo is back');
  });
});
