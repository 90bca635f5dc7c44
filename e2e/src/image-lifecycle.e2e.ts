/**
 * Issue 16, the image lifecycle on a real cluster with its embedded registry: a corrupted blob in the
 * registry is refused and nothing of it is used; a multi-stage Dockerfile (global and stage ARGs with
 * --build-arg, COPY --from, LABEL, VOLUME, ENTRYPOINT with CMD) builds FROM an image only the
 * registry has; a running replica's changes are committed into a new image (a deletion included) that
 * runs, and `image history` names the step of each layer; a node that joins later, with its own image
 * store and tiny GC thresholds, pulls the image of the replica it is given and runs it, receives the
 * layer of another image from a peer node (mTLS, node certificates) when all nodes pull it at once,
 * removes that unused image as soon as it arrives while keeping the one its replica uses; `image prune` removes
 * what no replica uses and keeps what one does.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { JoinedAgent, printedJoin } from './agent.process';
import { TestCluster, running, waitFor } from './harness';
import { ociArchive } from './oci.archive';

const execFileAsync = promisify(execFile);
const BASE = 21270; // API; gRPC +1, etcd +2/+3, registry +4, agents +11..
const POD_CIDR = '100.64.104.0/22';
const REGISTRY = `127.0.0.1:${BASE + 4}`;

async function tool(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

function service(name: string, image: string, script: string, extra = ''): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: ${name} }
spec:
  replicas: 1
  image: ${image}
  command: ["sh", "-c", ${JSON.stringify(script)}]
  terminationGracePeriodSeconds: 1
${extra}`;
}

describe('the image lifecycle: corrupt blobs, multi-stage builds, commit, history, late nodes, GC and prune', { timeout: 1_200_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let certDir: string;
  let authFile: string;
  let lateAgent: JoinedAgent | undefined;
  const skopeoAuth = () => ['--authfile', authFile];

  const copyIn = async (name: string, marker: string) => {
    const archive = ociArchive(path.join(dir, name.replace(/[/:]/g, '-')), marker);
    const copied = await tool('skopeo', ['copy', ...skopeoAuth(), '--dest-cert-dir', certDir, `oci-archive:${archive}`, `docker://${REGISTRY}/${name}`]);
    assert.equal(copied.code, 0, copied.stderr);
  };
  const imagesOn = async (node: string) => {
    const listed = await cluster.api<{ items: { ref: string; nodes: string[] }[] }>('/api/v1/images');
    return listed.items.filter((i) => i.nodes.includes(node)).map((i) => i.ref);
  };
  const logOf = async (service: string, text: string) => {
    const [replica] = await waitFor(`a running replica of ${service}`, async () => {
      const list = running(await cluster.replicas(service));
      return list.length === 1 ? list : undefined;
    }, 240_000);
    await waitFor(`"${text}" in the log of ${replica.metadata.name}`, async () => (await cluster.tsctl(['logs', replica.metadata.name])).stdout.includes(text), 90_000);
    return replica;
  };

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    dir = fs.mkdtempSync(path.join(cluster.stateDir, 'lifecycle-'));
    certDir = path.join(dir, 'certs');
    fs.mkdirSync(certDir);
    fs.writeFileSync(path.join(certDir, 'ca.crt'), cluster.caPem);
    authFile = path.join(dir, 'auth.json');
    const login = await cluster.tsctl(['registry', 'login', '--authfile', authFile]);
    assert.equal(login.code, 0, login.stderr);
  });

  after(async () => {
    if (cluster) {
      for (const name of ['src', 'fromcommit', 'late']) await cluster.tsctl(['delete', 'service', name]).catch(() => undefined);
    }
    await lateAgent?.stop();
    await cluster?.stop();
  });

  it('refuses a blob corrupted in the registry: a clear error, no image and no layer of it, agents Ready', async () => {
    await copyIn('shop/corrupt:1', 'never-used');
    const inspected = await tool('skopeo', ['inspect', '--raw', ...skopeoAuth(), '--cert-dir', certDir, `docker://${REGISTRY}/shop/corrupt:1`]);
    const layer = (JSON.parse(inspected.stdout) as { layers: { digest: string }[] }).layers[0].digest.slice(7);
    const config = JSON.parse((await tool('skopeo', ['inspect', '--config', ...skopeoAuth(), '--cert-dir', certDir, `docker://${REGISTRY}/shop/corrupt:1`])).stdout) as { rootfs: { diff_ids: string[] } };
    const data = path.join(cluster.stateDir, 'control-plane/registry/data/docker/registry/v2/blobs/sha256', layer.slice(0, 2), layer, 'data');
    const bytes = fs.readFileSync(data);
    bytes[bytes.length >> 1] ^= 0xff; // same length, other content
    fs.writeFileSync(data, bytes);
    const pulled = await cluster.tsctl(['image', 'pull', 'shop/corrupt:1'], { timeoutMs: 300_000 });
    assert.notEqual(pulled.code, 0);
    assert.match(pulled.stderr, new RegExp(`sha256:${layer}`), pulled.stderr);
    assert.match(pulled.stderr, /digest|expected/i);
    assert.ok(!(await imagesOn('node-1')).includes('shop/corrupt:1'));
    assert.equal(fs.existsSync(path.join(cluster.stateDir, 'images/layers/sha256', config.rootfs.diff_ids[0].slice(7))), false, 'no layer of it is in the store');
    assert.deepEqual((await cluster.nodeList()).map((n) => n.status?.ready), [true, true]);
  });

  it('builds a multi-stage Dockerfile FROM an image only the registry has, with ARGs, COPY --from, LABEL, VOLUME, ENTRYPOINT and CMD', async () => {
    await copyIn('shop/base:1', 'the-base');
    const context = path.join(dir, 'multi');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), [
      'ARG BASE=shop/base:1',
      'FROM ${BASE} AS build',
      'ARG WHO=nobody',
      'RUN mkdir -p /out && echo "built for $WHO" > /out/app.txt && echo scratch > /out/tmp.txt',
      'FROM ${BASE}',
      'COPY --from=build /out/app.txt /srv/app.txt',
      'LABEL org.opencontainers.image.title="shop web" tier=front',
      'VOLUME /data',
      'CMD ["/srv/app.txt"]',
      'ENTRYPOINT ["cat"]',
      '',
    ].join('\n'));
    const built = await cluster.tsctl(['image', 'build', '--build-arg', 'WHO=tide', '-t', 'shop/multi:1', context], { timeoutMs: 600_000 });
    assert.equal(built.code, 0, `${built.stdout}\n${built.stderr}`);
    assert.match(built.stdout, /shop\/base:1 is not on this node: pulling it from the cluster registry/);
    const config = JSON.parse((await tool('skopeo', ['inspect', '--config', ...skopeoAuth(), '--cert-dir', certDir, `docker://${REGISTRY}/shop/multi:1`])).stdout) as {
      config: { Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string>; Volumes: Record<string, object> }; rootfs: { diff_ids: string[] };
    };
    assert.deepEqual(config.config.Entrypoint, ['cat']);
    assert.deepEqual(config.config.Cmd, ['/srv/app.txt'], 'a CMD of the same stage stays beside ENTRYPOINT');
    assert.deepEqual(config.config.Labels, { 'org.opencontainers.image.title': 'shop web', tier: 'front' });
    assert.deepEqual(Object.keys(config.config.Volumes), ['/data']);
    assert.equal(config.rootfs.diff_ids.length, 2, 'the base layer and the COPY --from layer: the build stage is not in the image');
  });

  it('commits a running replica into a new image (a deletion included) that runs; history names each step', async () => {
    const applied = await cluster.apply(service('src', 'shop/multi:1', 'cat /srv/app.txt; rm /srv/app.txt; echo committed > /new.txt; echo ready; sleep 3600'));
    assert.equal(applied.code, 0, applied.stderr);
    const replica = await logOf('src', 'ready');
    assert.match((await cluster.tsctl(['logs', replica.metadata.name])).stdout, /built for tide/);
    const committed = await cluster.tsctl(['image', 'commit', replica.metadata.name, 'shop/committed:1']);
    assert.equal(committed.code, 0, committed.stderr);
    assert.match(committed.stdout, new RegExp(`^${replica.spec.nodeName}: committed default/${replica.metadata.name} as shop/committed:1 \\([0-9a-f]{12}, 3 layers\\)$`, 'm'));
    const history = await cluster.tsctl(['image', 'history', 'shop/committed:1', '-o', 'json']);
    assert.equal(history.code, 0, history.stderr);
    const steps = (JSON.parse(history.stdout) as { history: { layer?: string; createdBy: string }[] }).history;
    assert.equal(steps[0].createdBy, `tsctl image commit default/${replica.metadata.name}`);
    assert.ok(steps[0].layer);
    assert.ok(steps.some((s) => s.createdBy === 'ENTRYPOINT ["cat"]' && !s.layer), 'config-only steps have no layer');
    assert.ok(steps.some((s) => s.createdBy === 'COPY --from=build /out/app.txt /srv/app.txt' && s.layer));
    const table = await cluster.tsctl(['image', 'history', 'shop/committed:1']);
    assert.match(table.stdout, /^LAYER\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
    const again = await cluster.apply(service('fromcommit', 'shop/committed:1', 'test -e /srv/app.txt && echo still-there || echo deleted; cat /new.txt; sleep 3600'));
    assert.equal(again.code, 0, again.stderr);
    await logOf('fromcommit', 'committed');
    const log = (await cluster.tsctl(['logs', running(await cluster.replicas('fromcommit'))[0].metadata.name])).stdout;
    assert.match(log, /^deleted$/m, 'the whiteout hides the file of the lower layer');
  });

  it('a node that joins later pulls the image of its replica and runs it; its GC drops an unused image and keeps the used one', async () => {
    await copyIn('shop/late:1', 'late-node-ran-it');
    await copyIn('shop/extra:1', 'unused');
    const made = await cluster.tsctl(['token', 'create', '--join', '--ttl', '10m', '--node', 'node-3']);
    assert.equal(made.code, 0, made.stderr);
    const imageDir = path.join(cluster.stateDir, 'images-node-3'); // its own store: nothing is there yet
    lateAgent = new JoinedAgent({
      join: printedJoin(made.stdout), stateDir: path.join(cluster.stateDir, 'nodes', 'node-3'), imageDir, log: path.join(cluster.stateDir, 'node-3.log'),
      flags: ['--name', 'node-3', '--address', '127.0.1.3', '--port', String(BASE + 13), '--cpu', '500', '--memory', String(2 ** 29), '--labels', 'tier=late',
        '--image-gc-high-threshold', '1Ki', '--image-gc-low-threshold', '1Ki', '--image-gc-min-age', '0'],
    });
    await waitFor('node-3 Ready', async () => (await cluster.nodeList()).some((n) => n.metadata.name === 'node-3' && n.status?.ready), 180_000);
    const applied = await cluster.apply(service('late', 'shop/late:1', 'cat /marker.txt; sleep 3600', '  placement: { nodeSelector: { tier: late } }\n'));
    assert.equal(applied.code, 0, applied.stderr);
    const replica = await logOf('late', 'late-node-ran-it');
    assert.equal(replica.spec.nodeName, 'node-3');
    assert.ok(fs.existsSync(path.join(imageDir, 'images', `${encodeURIComponent('shop/late:1')}.json`)), 'pulled into node-3\'s own store');
    const pulled = await cluster.tsctl(['image', 'pull', 'shop/extra:1'], { timeoutMs: 300_000 });
    // node-1, node-2 (one store) and node-3 pull at once: the one layer comes from the registry to node-1 (its seed), then from node-1 to the others.
    assert.match(pulled.stdout, /^node-3: shop\/extra:1 sha256:[0-9a-f]{64} \(image [0-9a-f]{12}, 1 layer\(s\) fetched, 1 from peers\)$/m, `${pulled.stdout}\n${pulled.stderr}`);
    await waitFor('node-3 removes shop/extra:1 (unused, over the threshold)', async () => !(await imagesOn('node-3')).includes('shop/extra:1'), 120_000);
    const kept = await imagesOn('node-3');
    assert.ok(kept.includes('shop/late:1'), `the image its replica uses stays: ${kept.join(', ')}`);
    assert.ok(kept.includes('busybox:latest'), 'the built-in base image stays');
    assert.ok(cluster.logLines(/removed shop\/extra:1/).length > 0);
    assert.ok((await imagesOn('node-1')).includes('shop/extra:1'), 'node-1 (default thresholds) keeps it');
  });

  it('image prune removes the images no replica uses and keeps those one does', async () => {
    const pruned = await cluster.tsctl(['image', 'prune']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /^node-\d: removed .*shop\/extra:1/m);
    const left = await imagesOn('node-1');
    assert.ok(!left.includes('shop/extra:1'), left.join(', '));
    for (const used of ['shop/multi:1', 'shop/committed:1']) assert.ok(left.includes(used), `${used} runs on node-1 or node-2 (one store): kept`);
    assert.ok((await imagesOn('node-3')).includes('shop/late:1'), 'node-3 keeps the image of its replica');
    assert.equal(running(await cluster.replicas('late')).length, 1);
  });
});
