/**
 * Issue 3 acceptance, images through tsctl on a real two-node cluster: an imported `docker save`
 * archive runs as a service on either node; an image built from a Dockerfile reaches every node and
 * runs; an image a service uses cannot be removed until the service is gone.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, running, waitFor } from './harness';

function service(name: string, image: string, script: string): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: ${name} }
spec:
  replicas: 2
  image: ${image}
  command: ["sh", "-c", ${JSON.stringify(script)}]
  terminationGracePeriodSeconds: 1
`;
}

/** A `docker save` archive of a one-layer image holding the host's static busybox and a marker file. */
function dockerSaveArchive(dir: string, ref: string): string {
  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'sleep', 'echo']) fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  fs.writeFileSync(path.join(root, 'marker.txt'), 'from-the-imported-image\n');
  const archive = path.join(dir, 'archive');
  fs.mkdirSync(archive);
  execFileSync('tar', ['-C', root, '-cf', path.join(archive, 'layer.tar'), '.']);
  const diffId = `sha256:${createHash('sha256').update(fs.readFileSync(path.join(archive, 'layer.tar'))).digest('hex')}`;
  const config = JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64', os: 'linux', created: new Date().toISOString(),
    config: { Env: ['PATH=/bin'], Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [diffId] },
  });
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  fs.writeFileSync(path.join(archive, configName), config);
  fs.writeFileSync(path.join(archive, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [ref], Layers: ['layer.tar'] }]));
  const file = path.join(dir, 'image.tar');
  execFileSync('tar', ['-C', archive, '-cf', file, 'manifest.json', configName, 'layer.tar']);
  return file;
}

describe('images through tsctl', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let dir: string;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: 18120, podCidr: '100.64.56.0/22' });
    dir = fs.mkdtempSync(path.join(cluster.stateDir, 'images-'));
  });

  after(async () => {
    await cluster?.stop();
  });

  /** Waits for both replicas of a service to run, then for each one's log to show the text. */
  const runsEverywhere = async (name: string, text: string) => {
    const replicas = await waitFor(`2 running ${name} replicas`, async () => {
      const list = running(await cluster.replicas(name));
      return list.length === 2 ? list : undefined;
    }, 90_000);
    for (const replica of replicas) {
      await waitFor(`${text} in the log of ${replica.metadata.name}`, async () =>
        (await cluster.tsctl(['logs', replica.metadata.name])).stdout.includes(text), 90_000);
    }
    return replicas;
  };

  it('imports a docker save archive on every node; a service of it runs', async () => {
    const imported = await cluster.tsctl(['image', 'import', dockerSaveArchive(dir, 'imported:1')], { timeoutMs: 120_000 });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /^node-1: imported imported:1 \([0-9a-f]{12}\)$/m);
    assert.match(imported.stdout, /^node-2: imported imported:1 \([0-9a-f]{12}\)$/m);
    const listed = await cluster.tsctl(['image', 'ls']);
    assert.match(listed.stdout, /^imported\s+1\s+[0-9a-f]{12}\s+\S+B\s+node-1,node-2$/m);
    const applied = await cluster.apply(service('imp', 'imported:1', 'cat /marker.txt; sleep 3600'));
    assert.equal(applied.code, 0, applied.stderr);
    await runsEverywhere('imp', 'from-the-imported-image');
  });

  it('refuses to remove an image while a service uses it, then removes it from every node', async () => {
    const refused = await cluster.tsctl(['image', 'rm', 'imported:1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /image "imported:1" is in use by service default\/imp/);
    assert.equal((await cluster.tsctl(['delete', 'service', 'imp'])).code, 0);
    await waitFor('the imp replicas gone', async () => (await cluster.replicas('imp')).length === 0, 60_000);
    const removed = await cluster.tsctl(['image', 'rm', 'imported:1']);
    assert.equal(removed.code, 0, removed.stderr);
    // The nodes of a local cluster share one image store (tsctl up gives every agent STATE/images):
    // whichever node comes second finds the tag gone already.
    assert.match(removed.stdout, /^node-1: (removed|did not have) imported:1\nnode-2: (removed|did not have) imported:1\n$/);
    assert.match(removed.stdout, /removed imported:1/);
    assert.doesNotMatch((await cluster.tsctl(['image', 'ls'])).stdout, /^imported\s/m);
  });

  it('builds from a Dockerfile, copies the image to every node, and a service of it runs', async () => {
    const context = path.join(dir, 'context');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN echo built-at-step-3 > /step.txt\nCMD ["sh"]\n');
    fs.writeFileSync(path.join(context, 'greeting.txt'), 'hello-from-the-build\n');
    fs.writeFileSync(path.join(context, 'ignored.log'), 'must not be sent');
    fs.writeFileSync(path.join(context, '.dockerignore'), '*.log\n');
    const built = await cluster.tsctl(['image', 'build', '-t', 'built:1', context], { timeoutMs: 180_000 });
    assert.equal(built.code, 0, `${built.stdout}\n${built.stderr}`);
    assert.match(built.stdout, /^Successfully built built:1 \([0-9a-f]{12}\) on node-\d, copied to node-\d$/m);
    const applied = await cluster.apply(service('bld', 'built:1', 'cat /greeting.txt /step.txt; ls /ignored.log 2>&1; sleep 3600'));
    assert.equal(applied.code, 0, applied.stderr);
    const replicas = await runsEverywhere('bld', 'built-at-step-3');
    assert.equal(new Set(replicas.map((r) => r.spec.nodeName)).size, 2, 'one replica per node: the image is on both');
    const log = (await cluster.tsctl(['logs', replicas[0].metadata.name])).stdout;
    assert.match(log, /hello-from-the-build/);
    assert.match(log, /ignored\.log.*(No such file|can't access)/, '.dockerignore kept the file out of the context');
  });

  it('exits 1 naming the step when a build fails', async () => {
    const context = path.join(dir, 'failing');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nRUN exit 3\n');
    const failed = await cluster.tsctl(['image', 'build', '-t', 'failing:1', context], { timeoutMs: 180_000 });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^error: build failed: /m);
    assert.match(`${failed.stdout}${failed.stderr}`, /RUN exit 3/, 'the failing step is named');
  });
});
