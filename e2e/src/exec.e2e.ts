/**
 * Issue 3 acceptance, exec: `tsctl exec` runs inside a real replica (its PID namespace, hostname and
 * root), passes stdin and the exit code through, and `-it` gives a shell on a real terminal.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO, TestCluster, running, waitFor } from './harness';

const SLEEPER = `apiVersion: tide/v1
kind: Service
metadata: { name: sleeper }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  terminationGracePeriodSeconds: 1
`;

describe('tsctl exec into a running replica', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let replica: string;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: 18070, podCidr: '100.64.52.0/22' });
    const applied = await cluster.apply(SLEEPER);
    assert.equal(applied.code, 0, applied.stderr);
    replica = await waitFor('a running sleeper', async () => running(await cluster.replicas('sleeper'))[0]?.metadata.name, 60_000);
  });

  after(async () => {
    await cluster?.stop();
  });

  it("sees the replica's PID 1 (its command) and its hostname", async () => {
    const pid1 = await cluster.tsctl(['exec', replica, '--', 'cat', '/proc/1/cmdline']);
    assert.equal(pid1.code, 0, pid1.stderr);
    assert.equal(pid1.stdout.split('\0').filter(Boolean).join(' '), 'sleep 3600');
    const hostname = await cluster.tsctl(['exec', replica, '--', 'hostname']);
    assert.deepEqual([hostname.code, hostname.stdout], [0, `${replica}\n`]);
  });

  it('passes the exit code through and keeps stderr apart', async () => {
    const run = await cluster.tsctl(['exec', replica, '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.deepEqual(run, { code: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('forwards stdin with -i', async () => {
    const run = await cluster.tsctl(['exec', '-i', replica, '--', 'sh', '-c', 'wc -l'], { input: 'a\nb\nc\n' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), '3');
  });

  it('answers an unknown replica with a clear error', async () => {
    const run = await cluster.tsctl(['exec', 'nope', '--', 'true']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: replica "nope" not found in namespace "default"\n$/);
  });

  it('gives an interactive shell with a terminal under -it', { timeout: 180_000 }, async () => {
    // util-linux `script` gives tsctl a pseudo-terminal, as a user's terminal would.
    const tsctl = path.join(REPO, 'apps/tsctl/dist/main.js');
    const command = `stty rows 24 cols 80; "${process.execPath}" "${tsctl}" --server ${cluster.server} exec -it ${replica} -- sh; echo "[exit=$?]"`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, HOME: cluster.stateDir } });
    const closed = new Promise((resolve) => child.on('close', resolve));
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const seen = (text: string) => waitFor(`"${text}" on the terminal`, async () => output.includes(text), 60_000, 50);
    child.stdin.write('tty; stty size; echo "sum=$((6*7))"\r');
    await seen('sum=42');
    child.stdin.write('exit 3\r');
    await seen('[exit=3]');
    await closed;
    assert.match(output, /\/dev\/pts\/\d+/, 'the shell has a terminal of its own');
    assert.match(output, /24 80/, 'with the size of the local one');
  });
});
