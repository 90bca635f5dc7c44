/**
 * Issue 21, `tsctl cp` and `docker cp`: files and directories copied into and out of a running
 * replica, both ways, through the agent's work on the container's root file system; tar streams on
 * stdin and stdout; paths that would leave the container's root (by `..`, or by a symlink the
 * container made to a host directory) are refused, and the host directory is left untouched.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, TestCluster, running, waitFor } from './harness';
import { DOCKER, Run, dockerEnv, runProgram } from './docker.client';

const TSCTL = path.join(REPO, 'apps/tsctl/dist/main.js');

const SLEEPER = `apiVersion: tide/v1
kind: Service
metadata: { name: files }
spec:
  replicas: 1
  image: busybox
  command: ["sleep", "3600"]
  terminationGracePeriodSeconds: 1
`;


function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return runProgram(file, args, { env, timeoutMs });
}

/** Every file below `dir` with its content (symlinks as "-> target"), for comparing trees. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const child = path.join(rel, name);
      const stat = fs.lstatSync(path.join(dir, child));
      if (stat.isDirectory()) walk(child);
      else out[child] = stat.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(dir, child))}` : fs.readFileSync(path.join(dir, child), 'utf8');
    }
  };
  walk('');
  return out;
}

describe('copying files into and out of a running replica', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let replica: string;
  let work: string;
  let dockerHost = '';

  const tsctl = (args: string[]) => cluster.tsctl(args);
  const execIn = (command: string) => cluster.tsctl(['exec', replica, '--', 'sh', '-c', command]);
  const shell = (command: string) => run('/bin/sh', ['-c', command], { ...process.env, HOME: cluster.stateDir });
  const tsctlLine = () => `${process.execPath} ${TSCTL} --server ${cluster.server}`;
  const docker = (args: string[]) => run(DOCKER, args, dockerEnv(cluster.stateDir, dockerHost));
  const explain = (r: Run) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: 23940, podCidr: '100.64.244.0/22', upFlags: ['--docker'] });
    work = fs.mkdtempSync(path.join(cluster.stateDir, 'cp-'));
    const applied = await cluster.apply(SLEEPER);
    assert.equal(applied.code, 0, applied.stderr);
    replica = await waitFor('a running replica', async () => running(await cluster.replicas('files'))[0]?.metadata.name, 90_000);
    dockerHost = (await cluster.tsctl(['docker-host'])).stdout.trim();
  });

  after(async () => {
    await cluster?.stop();
  });

  it('copies a local file in, to a directory and to a new name; exec reads it back', async () => {
    const local = path.join(work, 'note.txt');
    fs.writeFileSync(local, 'copied in by tsctl cp\n', { mode: 0o640 });
    const into = await tsctl(['cp', local, `${replica}:/tmp/`]);
    assert.equal(into.code, 0, explain(into));
    const renamed = await tsctl(['cp', local, `${replica}:/tmp/renamed.txt`]);
    assert.equal(renamed.code, 0, explain(renamed));
    const read = await execIn('cat /tmp/note.txt /tmp/renamed.txt; stat -c "%a %u" /tmp/note.txt');
    assert.deepEqual([read.code, read.stdout], [0, 'copied in by tsctl cp\ncopied in by tsctl cp\n640 0\n'], explain(read));
  });

  it('copies a directory out (under a new name, and its contents into an existing directory); the trees match', async () => {
    const made = await execIn('mkdir -p /srv/site/css && echo index > /srv/site/index.html && echo "body {}" > /srv/site/css/a.css && ln -s index.html /srv/site/home');
    assert.equal(made.code, 0, explain(made));
    const expected = { 'css/a.css': 'body {}\n', home: '-> index.html', 'index.html': 'index\n' };
    const out = await tsctl(['cp', `${replica}:/srv/site`, path.join(work, 'site-copy')]);
    assert.equal(out.code, 0, explain(out));
    assert.deepEqual(tree(path.join(work, 'site-copy')), expected);
    fs.mkdirSync(path.join(work, 'existing'));
    const contents = await tsctl(['cp', `${replica}:/srv/site/.`, path.join(work, 'existing')]);
    assert.equal(contents.code, 0, explain(contents));
    assert.deepEqual(tree(path.join(work, 'existing')), expected);
  });

  it('copies a directory in, and tar streams both ways with "-"', async () => {
    const local = path.join(work, 'upload');
    fs.mkdirSync(path.join(local, 'deep/er'), { recursive: true });
    fs.writeFileSync(path.join(local, 'deep/er/file'), 'deep\n');
    const into = await tsctl(['cp', local, `${replica}:/srv/`]);
    assert.equal(into.code, 0, explain(into));
    assert.equal((await execIn('cat /srv/upload/deep/er/file')).stdout, 'deep\n');
    assert.equal((await execIn('mkdir -p /srv/fromtar')).code, 0);
    const stdin = await shell(`tar -C ${local} -cf - . | ${tsctlLine()} cp - ${replica}:/srv/fromtar`);
    assert.equal(stdin.code, 0, explain(stdin));
    assert.equal((await execIn('cat /srv/fromtar/deep/er/file')).stdout, 'deep\n');
    const stdout = await shell(`${tsctlLine()} cp ${replica}:/srv/fromtar - | tar -tf - | sort`);
    assert.equal(stdout.code, 0, explain(stdout));
    assert.equal(stdout.stdout, 'fromtar/\nfromtar/deep/\nfromtar/deep/er/\nfromtar/deep/er/file\n');
  });

  it('refuses paths that leave the root: by "..", or through a symlink the container made to a host directory', async () => {
    const climb = await tsctl(['cp', `${replica}:/../../etc/hostname`, path.join(work, 'h')]);
    assert.notEqual(climb.code, 0);
    assert.match(climb.stderr, /climbs above the container's root/);
    const hostDir = path.join(work, 'host-only');
    fs.mkdirSync(hostDir);
    fs.writeFileSync(path.join(hostDir, 'secret'), 'host secret\n');
    assert.equal((await execIn(`ln -s ${hostDir} /tmp/abs && ln -s ../../../../../../../../..${hostDir} /tmp/rel`)).code, 0);
    for (const link of ['/tmp/abs', '/tmp/rel']) {
      const read = await tsctl(['cp', `${replica}:${link}/secret`, path.join(work, 'stolen')]);
      assert.notEqual(read.code, 0, `${link}: ${explain(read)}`);
      assert.match(read.stderr, /Could not find the file/);
      const write = await tsctl(['cp', path.join(work, 'note.txt'), `${replica}:${link}/planted`]);
      assert.notEqual(write.code, 0, `${link}: ${explain(write)}`);
    }
    assert.deepEqual(fs.readdirSync(hostDir), ['secret'], 'nothing was written on the host');
    assert.ok(!fs.existsSync(path.join(work, 'stolen')), 'the host file was not read');
  });

  it('docker cp copies a file and a directory in and out (the real docker CLI)', async () => {
    const started = await docker(['run', '-d', '--name', 'box', 'busybox', 'sleep', '3600']);
    assert.equal(started.code, 0, explain(started));
    const local = path.join(work, 'note.txt');
    const fileIn = await docker(['cp', local, 'box:/tmp/']);
    assert.equal(fileIn.code, 0, explain(fileIn));
    assert.equal((await docker(['exec', 'box', 'cat', '/tmp/note.txt'])).stdout, 'copied in by tsctl cp\n');
    // busybox has no /srv: the directory is created under that name, as dockerd does.
    const dirIn = await docker(['cp', path.join(work, 'upload'), 'box:/srv']);
    assert.equal(dirIn.code, 0, explain(dirIn));
    assert.equal((await docker(['exec', 'box', 'cat', '/srv/deep/er/file'])).stdout, 'deep\n');
    const dirOut = await docker(['cp', 'box:/srv', path.join(work, 'docker-out')]);
    assert.equal(dirOut.code, 0, explain(dirOut));
    assert.deepEqual(tree(path.join(work, 'docker-out')), { 'deep/er/file': 'deep\n' });
    const fileOut = await docker(['cp', 'box:/tmp/note.txt', path.join(work, 'docker-note.txt')]);
    assert.equal(fileOut.code, 0, explain(fileOut));
    assert.equal(fs.readFileSync(path.join(work, 'docker-note.txt'), 'utf8'), 'copied in by tsctl cp\n');
    const missing = await docker(['cp', 'box:/no/such/file', work]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such container:path: box:\/no\/such\/file/); // the CLI's words for a 404, as with dockerd
    assert.equal((await docker(['rm', '-f', 'box'])).code, 0);
  });
});
