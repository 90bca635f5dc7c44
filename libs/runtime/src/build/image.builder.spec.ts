/**
 * Dockerfile builds on the real kernel: RUN runs in a Tide container and its changes (including a
 * deletion) become a layer; COPY honours .dockerignore; ADD extracts a tar; an unchanged rebuild is
 * all cache hits and starts no container; a changed file invalidates its step and the ones after.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { waitFor } from '@tide/api/testing';
import { BUSYBOX_REF, ensureBusyboxImage } from '../image/busybox.image';
import { ensureNodeImage } from '../image/node.image';
import { createImageService } from '../image.service';
import { ImageStore } from '../image/image.store';
import { ImageService } from '../image/image.types';
import { LinuxRuntime } from '../linux.runtime';
import { ContainerSpec } from '../runtime.types';

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;

const DOCKERFILE = `FROM ${BUSYBOX_REF}
ENV GREETING=hello
WORKDIR /app
# the context, minus .dockerignore
COPY files/ /app/
ADD bundle.tar.gz /opt/
RUN echo "$GREETING from $(pwd)" > /app/run.txt \\
 && rm /etc/hostname && mkdir /data && echo x > /data/x
USER 1000
EXPOSE 8080
CMD ["cat", "/app/run.txt"]
`;

describe('Dockerfile builds', { timeout: 600_000 }, () => {
  let work: string;
  let context: string;
  let runtime: LinuxRuntime;
  let images: ImageService;
  let store: ImageStore;
  const starts: string[] = [];
  const started: string[] = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-build-'));
    context = path.join(work, 'context');
    fs.mkdirSync(path.join(context, 'files/sub'), { recursive: true });
    fs.writeFileSync(path.join(context, 'Dockerfile'), DOCKERFILE);
    fs.writeFileSync(path.join(context, '.dockerignore'), 'files/secret\n');
    fs.writeFileSync(path.join(context, 'files/a.txt'), 'A\n');
    fs.writeFileSync(path.join(context, 'files/sub/b.txt'), 'B\n');
    fs.writeFileSync(path.join(context, 'files/secret'), 'do not copy\n');
    fs.mkdirSync(path.join(work, 'bundle/pkg'), { recursive: true });
    fs.writeFileSync(path.join(work, 'bundle/pkg/lib.js'), 'module.exports = 1;\n');
    execFileSync('tar', ['-czf', path.join(context, 'bundle.tar.gz'), '-C', path.join(work, 'bundle'), 'pkg']);
    const imageDir = path.join(work, 'images');
    await ensureBusyboxImage(imageDir);
    runtime = new LinuxRuntime({ stateDir: path.join(work, 'state'), imageDir });
    // Counts the containers the build starts.
    const counting = Object.create(runtime) as LinuxRuntime;
    counting.start = (spec: ContainerSpec) => {
      starts.push(spec.id);
      return runtime.start(spec);
    };
    images = createImageService({ imageDir, runtime: counting });
    store = new ImageStore(imageDir);
  });

  after(async () => {
    for (const id of [...starts, ...started]) await runtime.remove(id).catch(() => undefined);
    await runtime.close(); // the warm pool's inits and their cgroups
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function runImage(image: string, script: string): Promise<string> {
    const id = `bld-${RUN}-${started.length}`;
    started.push(id);
    const info = await runtime.start({ id, hostname: 'check', image, argv: ['sh', '-c', script], env: {}, limits: {}, labels: {} });
    await runtime.wait(id);
    return fs.readFileSync(info.logPath, 'utf8');
  }

  let firstID: string;

  it('builds: RUN in a container, COPY without ignored files, ADD extracting a tar, the config set', async () => {
    const lines: string[] = [];
    const info = await images.build({ contextDir: context, tag: 'built:1', log: (l) => lines.push(l) });
    firstID = info.id;
    assert.equal(starts.length, 1, 'one container, for the RUN step');
    assert.equal(info.layers.length, 5, 'busybox + WORKDIR (created /app) + COPY + ADD + RUN');
    const resolved = await store.resolve('built:1');
    assert.deepEqual(resolved.config, {
      env: { PATH: '/bin:/usr/bin:/sbin:/usr/sbin', GREETING: 'hello' }, cmd: ['cat', '/app/run.txt'], workingDir: '/app', user: '1000', exposedPorts: ['8080/tcp'],
    });
    assert.ok(lines.includes('Step 6/9 : RUN echo "$GREETING from $(pwd)" > /app/run.txt  && rm /etc/hostname && mkdir /data && echo x > /data/x'), lines.join('\n'));
    const runLayer = resolved.layerDirs[4];
    assert.ok(fs.statSync(path.join(runLayer, 'etc/hostname')).isCharacterDevice(), 'the deletion is a whiteout in the RUN layer');
    const log = await runImage('built:1', 'cat /app/run.txt; ls /app; cat /opt/pkg/lib.js; ls /etc/hostname 2>&1; cat /data/x');
    assert.match(log, /^hello from \/app$/m, 'RUN saw ENV and WORKDIR');
    assert.match(log, /^a\.txt\nrun\.txt\nsub$/m, 'the ignored file was not copied');
    assert.match(log, /^module\.exports = 1;$/m, 'ADD extracted the archive');
    assert.match(log, /hostname: No such file or directory/, 'the file RUN removed is gone');
    assert.match(log, /^x$/m);
  });

  it('rebuilds an unchanged context from the cache: every step CACHED, no container, the same image', async () => {
    const lines: string[] = [];
    const before = starts.length;
    const info = await images.build({ contextDir: context, tag: 'built:1', log: (l) => lines.push(l) });
    assert.equal(starts.length, before, 'no container started');
    assert.equal(lines.filter((l) => l === ' ---> CACHED').length, 8, lines.join('\n'));
    assert.equal(info.id, firstID, 'same image ID');
  });

  it('reruns a step whose input changed, and the steps after it only', async () => {
    fs.writeFileSync(path.join(context, 'files/a.txt'), 'A2\n');
    const lines: string[] = [];
    const before = starts.length;
    const info = await images.build({ contextDir: context, tag: 'built:2', log: (l) => lines.push(l) });
    assert.equal(lines.filter((l) => l === ' ---> CACHED').length, 2, 'ENV and WORKDIR only');
    assert.equal(starts.length, before + 1, 'RUN ran again');
    assert.notEqual(info.id, firstID);
    assert.match(await runImage('built:2', 'cat /app/a.txt'), /^A2$/m);
  });

  it('fails on a RUN that exits non-zero, with its output, and leaves no container', async () => {
    const failing = path.join(work, 'failing');
    fs.mkdirSync(failing);
    fs.writeFileSync(path.join(failing, 'Dockerfile'), `FROM busybox\nRUN echo about to fail; exit 3\n`);
    await assert.rejects(images.build({ contextDir: failing, tag: 'bad:1', log: () => undefined }), /Dockerfile line 2: RUN .* exited with code 3:\nabout to fail/);
    assert.deepEqual((await runtime.list()).filter((c) => c.spec.labels['tide.build']), []);
    assert.ok(!store.has('bad:1'));
  });

  it('refuses a bad Dockerfile or a source outside the context, naming the line', async () => {
    const bad = path.join(work, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM busybox\nCOPY ../secret /x\n');
    await assert.rejects(images.build({ contextDir: bad, tag: 'bad:2', log: () => undefined }), /Dockerfile line 2: source "\.\.\/secret" is outside the build context/);
    fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM busybox\nHEALTHCHECK NONE\n');
    await assert.rejects(images.build({ contextDir: bad, tag: 'bad:2', log: () => undefined }), /Dockerfile line 2: unknown instruction "HEALTHCHECK"/);
    fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM nosuch:1\n');
    await assert.rejects(images.build({ contextDir: bad, tag: 'bad:2', log: () => undefined }), /Dockerfile line 1: image "nosuch:1" not found/);
  });

  it('builds the web example FROM node, which then serves its hostname over HTTP', async () => {
    await ensureNodeImage(store.imageDir);
    const example = path.join(__dirname, '../../../../manifests/examples/web');
    const info = await images.build({ contextDir: example, tag: 'web:1', log: () => undefined });
    assert.deepEqual((await store.resolve('web:1')).config.exposedPorts, ['8080/tcp']);
    const id = `bld-${RUN}-web`;
    started.push(id);
    const port = 18670; // this part's test port
    await runtime.start({ id, hostname: 'web-test', image: 'web:1', argv: [], env: { PORT: String(port) }, limits: {}, labels: {} });
    // The server listens a moment after the start: wait for its first answer.
    const answer = await waitFor(() => new Promise<string | undefined>((resolve) => {
      const request = http.get(`http://127.0.0.1:${port}/`, { timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c)).on('end', () => resolve(body));
      }).on('error', () => resolve(undefined));
      request.on('timeout', () => request.destroy());
    }), { what: `an answer on port ${port}` });
    assert.equal(answer, 'hello from web-test\n');
    assert.ok(info.layers.length >= 3);
  });
});
