/**
 * Issue 16 acceptance, the cluster registry with the ecosystem's own tools (Debian's skopeo and
 * umoci) on a real two-node cluster: `tsctl up` starts the embedded registry (TLS from the cluster
 * CA, tokens from the control plane); skopeo copies an OCI archive into it with the credentials
 * `tsctl registry login` wrote, `tsctl image pull` brings it to every node and a service runs it on
 * both; a service of an image only the registry has gets it pulled to the nodes without being asked
 * (events Pulling, Pulled); skopeo inspects an image Tide built and pushed and umoci unpacks it into
 * the files its Dockerfile put there; a view token may pull but not push; a missing image is the registry's own error
 * (ErrImagePull) and the agents keep running.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TestCluster, running, waitFor } from './harness';
import { ociArchive } from './oci.archive';

const execFileAsync = promisify(execFile);
const BASE = 20870; // API; gRPC +1, etcd +2/+3, registry +4, agents +11..
const POD_CIDR = '100.64.100.0/22';
const REGISTRY = `127.0.0.1:${BASE + 4}`;

function serviceYaml(name: string, image: string, script: string): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: ${name} }
spec:
  replicas: 2
  image: ${image}
  command: ["sh", "-c", ${JSON.stringify(script)}]
  placement: { maxSkew: 1 }
  terminationGracePeriodSeconds: 1
`;
}

async function tool(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

describe('the cluster registry with skopeo and umoci', { timeout: 900_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  let certDir: string;
  let authFile: string;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    dir = fs.mkdtempSync(path.join(cluster.stateDir, 'registry-'));
  });

  after(async () => {
    if (cluster) {
      for (const name of ['copied', 'ondemand', 'absent']) await cluster.tsctl(['delete', 'service', name]).catch(() => undefined);
      await cluster.stop();
    }
  });

  it('tsctl registry says where it is and which CA verifies it; login writes containers-auth.json', async () => {
    const shown = await cluster.tsctl(['registry', '-o', 'json']);
    assert.equal(shown.code, 0, shown.stderr);
    const info = JSON.parse(shown.stdout) as { address: string; caFile: string };
    assert.equal(info.address, REGISTRY);
    assert.equal(fs.readFileSync(info.caFile, 'utf8'), cluster.caPem);
    // skopeo reads CAs from a directory of *.crt files.
    certDir = path.join(dir, 'certs');
    fs.mkdirSync(certDir);
    fs.copyFileSync(info.caFile, path.join(certDir, 'ca.crt'));
    authFile = path.join(dir, 'auth.json');
    const login = await cluster.tsctl(['registry', 'login', '--authfile', authFile]);
    assert.equal(login.code, 0, login.stderr);
    const auths = (JSON.parse(fs.readFileSync(authFile, 'utf8')) as { auths: Record<string, { auth: string }> }).auths;
    assert.equal(Buffer.from(auths[REGISTRY].auth, 'base64').toString('utf8'), `tide:${cluster.adminToken}`);
    assert.equal(fs.statSync(authFile).mode & 0o777, 0o600);
  });

  it('skopeo copies an OCI archive in; pulled to every node, a service runs it on both', async () => {
    const archive = ociArchive(path.join(dir, 'copied'), 'copied-by-skopeo');
    const copied = await tool('skopeo', ['copy', '--authfile', authFile, '--dest-cert-dir', certDir, `oci-archive:${archive}`, `docker://${REGISTRY}/shop/copied:1`]);
    assert.equal(copied.code, 0, copied.stderr);
    const pulled = await cluster.tsctl(['image', 'pull', 'shop/copied:1'], { timeoutMs: 300_000 });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /^node-1: shop\/copied:1 sha256:[0-9a-f]{64} /m);
    assert.match(pulled.stdout, /^node-2: shop\/copied:1 sha256:[0-9a-f]{64} /m);
    const applied = await cluster.apply(serviceYaml('copied', 'shop/copied:1', 'cat /marker.txt; sleep 3600'));
    assert.equal(applied.code, 0, applied.stderr);
    const replicas = await waitFor('2 running replicas of copied, one per node', async () => {
      const list = running(await cluster.replicas('copied'));
      return list.length === 2 && new Set(list.map((r) => r.spec.nodeName)).size === 2 ? list : undefined;
    }, 180_000);
    for (const replica of replicas) {
      await waitFor(`the marker in the log of ${replica.metadata.name}`, async () =>
        (await cluster.tsctl(['logs', replica.metadata.name])).stdout.includes('copied-by-skopeo'), 90_000);
    }
  });

  it('a service of an image only the registry has gets it pulled to the nodes (pre-pull or on demand) and runs on both', async () => {
    const archive = ociArchive(path.join(dir, 'ondemand'), 'pulled-on-demand');
    const copied = await tool('skopeo', ['copy', '--authfile', authFile, '--dest-cert-dir', certDir, `oci-archive:${archive}`, `docker://${REGISTRY}/shop/ondemand:1`]);
    assert.equal(copied.code, 0, copied.stderr);
    const applied = await cluster.apply(serviceYaml('ondemand', 'shop/ondemand:1', 'cat /marker.txt; sleep 3600'));
    assert.equal(applied.code, 0, applied.stderr);
    const replicas = await waitFor('2 running replicas of ondemand, one per node', async () => {
      const list = running(await cluster.replicas('ondemand'));
      return list.length === 2 && new Set(list.map((r) => r.spec.nodeName)).size === 2 ? list : undefined;
    }, 240_000);
    for (const replica of replicas) {
      await waitFor(`the marker in the log of ${replica.metadata.name}`, async () =>
        (await cluster.tsctl(['logs', replica.metadata.name])).stdout.includes('pulled-on-demand'), 90_000);
    }
    // Pre-pulled for the Service as soon as it is applied, or on demand for a replica bound before that.
    const events = await cluster.api<{ items: { spec: { reason: string; message: string } }[] }>('/api/v1/events?namespace=default');
    const reasons = events.items.filter((e) => e.spec.message.includes('shop/ondemand:1')).map((e) => e.spec.reason);
    assert.ok(reasons.includes('Pulling') && reasons.includes('Pulled'), reasons.join(', '));
  });

  it('skopeo inspects an image Tide built and pushed; umoci unpacks the files its Dockerfile put there', async () => {
    const context = path.join(dir, 'build');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'hello.txt'), 'built by tide\n');
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY hello.txt /srv/hello.txt\nENV GREETING=hi\n');
    // The build pushes its result to the cluster registry; pushing it again sends no blob.
    const built = await cluster.tsctl(['image', 'build', '-t', 'shop/web:1', context], { timeoutMs: 300_000 });
    assert.equal(built.code, 0, built.stderr);
    const digest = new RegExp(`^${REGISTRY}/shop/web:1 (sha256:[0-9a-f]{64}) \\(from node-\\d: uploaded 3 of 3 blobs\\)$`, 'm').exec(built.stdout)?.[1];
    assert.ok(digest, built.stdout);
    const pushed = await cluster.tsctl(['image', 'push', 'shop/web:1'], { timeoutMs: 300_000 });
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, new RegExp(`^${REGISTRY}/shop/web:1 ${digest} \\(from node-\\d: uploaded 0 of 3 blobs\\)$`, 'm'));
    const inspected = await tool('skopeo', ['inspect', '--authfile', authFile, '--cert-dir', certDir, `docker://${REGISTRY}/shop/web:1`]);
    assert.equal(inspected.code, 0, inspected.stderr);
    const info = JSON.parse(inspected.stdout) as { Digest: string; Layers: string[]; Env: string[] };
    assert.equal(info.Digest, digest);
    assert.equal(info.Layers.length, 2, 'the busybox layer and the COPY layer');
    assert.ok(info.Env.includes('GREETING=hi'), info.Env.join(' '));
    const layout = path.join(dir, 'web-layout');
    const fetched = await tool('skopeo', ['copy', '--authfile', authFile, '--src-cert-dir', certDir, `docker://${REGISTRY}/shop/web:1`, `oci:${layout}:web`]);
    assert.equal(fetched.code, 0, fetched.stderr);
    const bundle = path.join(dir, 'web-bundle');
    const unpacked = await tool('umoci', ['unpack', '--image', `${layout}:web`, bundle]);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    assert.equal(fs.readFileSync(path.join(bundle, 'rootfs/srv/hello.txt'), 'utf8'), 'built by tide\n');
    assert.ok(fs.existsSync(path.join(bundle, 'rootfs/bin/busybox')), 'the base layer is there too');
  });

  it('a view token pulls but cannot push; a missing image is the registry\'s error and the agents keep running', async () => {
    const viewAuth = path.join(dir, 'view-auth.json');
    const login = await cluster.tsctl(['--token', await cluster.token('view'), 'registry', 'login', '--authfile', viewAuth]);
    assert.equal(login.code, 0, login.stderr);
    const read = await tool('skopeo', ['inspect', '--authfile', viewAuth, '--cert-dir', certDir, `docker://${REGISTRY}/shop/web:1`]);
    assert.equal(read.code, 0, read.stderr);
    const archive = ociArchive(path.join(dir, 'denied'), 'never');
    const push = await tool('skopeo', ['copy', '--authfile', viewAuth, '--dest-cert-dir', certDir, `oci-archive:${archive}`, `docker://${REGISTRY}/shop/denied:1`]);
    assert.notEqual(push.code, 0, 'a view token must not push');
    assert.match(push.stderr, /unauthorized|denied|authentication required/i);
    const refused = await cluster.tsctl(['--token', await cluster.token('edit', 'shop'), 'image', 'push', 'shop/web:1']);
    assert.equal(refused.code, 0, `edit in shop pushes to shop/...: ${refused.stderr}`);
    const elsewhere = await cluster.tsctl(['--token', await cluster.token('edit', 'other'), 'image', 'push', 'shop/web:1']);
    assert.notEqual(elsewhere.code, 0);
    assert.match(elsewhere.stderr, /may not push shop\/web/);
    const missing = await cluster.tsctl(['image', 'pull', 'shop/absent:1']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /MANIFEST_UNKNOWN|NAME_UNKNOWN/);
    // A service of it: ErrImagePull with the registry's message in its events.
    const applied = await cluster.apply(serviceYaml('absent', 'shop/absent:1', 'sleep 3600'));
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor('ErrImagePull on a replica of absent', async () => {
      const events = await cluster.api<{ items: { spec: { reason: string; message: string } }[] }>('/api/v1/events?namespace=default');
      return events.items.some((e) => e.spec.reason === 'ErrImagePull' && /shop\/absent:1 .*(MANIFEST_UNKNOWN|NAME_UNKNOWN)/.test(e.spec.message));
    }, 120_000);
    const nodes = await cluster.nodeList();
    assert.deepEqual(nodes.map((n) => n.status?.ready), [true, true], 'both agents still Ready');
  });
});
