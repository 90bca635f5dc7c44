/**
 * pull benchmark: an image of several layers (random bytes, so compression does not shrink them)
 * pulled from the cluster registry by every node of a local cluster at once, with Tide (`tsctl image
 * pull`: each agent fetches, verifies and unpacks into its store, so the image is ready to run when
 * the command returns; peer-to-peer on, and in the same rounds with `--no-p2p`) and with the
 * ecosystem's tools once per node, all at once: the reference, the same unit of work, is
 * `skopeo copy docker://… oci:DIR:TAG` then `umoci unpack --image DIR:TAG BUNDLE` (fetched, verified
 * and unpacked to a root a runtime can start), and `skopeo copy` alone (fetched and verified, not
 * runnable yet) is reported beside it. Rounds whose order rotates; medians reported. Each node has its
 * own image store (`tsctl up --image-stores per-node`), as on separate machines: the image is removed
 * from every node between rounds. Registry egress is read from the registry's access log (bytes of
 * the blob GETs of each phase).
 * Options: --nodes N (10), --layers N (4), --layer-mb M (10), --rounds N (3), --base-port P (21070:
 * API P, registry P+4, agents P+11..), --json.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TestCluster, waitFor } from '../harness';

const execFileAsync = promisify(execFile);
const POD_CIDR = '100.64.112.0/20';
const REF = 'bench/pull:1';
const PULLED = /pulled bench\/pull:1 \(/;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** An OCI layout archive of `layers` layers, each one file of `bytes` random bytes. */
function imageArchive(dir: string, layers: number, bytes: number): string {
  const layout = path.join(dir, 'layout');
  const blobs = path.join(layout, 'blobs/sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const descriptors = [];
  const diffIds = [];
  for (let i = 0; i < layers; i++) {
    const root = path.join(dir, `layer-${i}`);
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, `data-${i}.bin`), randomBytes(bytes));
    const tar = path.join(dir, `layer-${i}.tar`);
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    const data = fs.readFileSync(tar);
    fs.writeFileSync(path.join(blobs, sha256(data)), data);
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha256(data)}`, size: data.length });
    diffIds.push(`sha256:${sha256(data)}`);
  }
  const config = Buffer.from(JSON.stringify({ architecture: process.arch === 'arm64' ? 'arm64' : 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
  fs.writeFileSync(path.join(blobs, sha256(config)), config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length }, layers: descriptors,
  }));
  fs.writeFileSync(path.join(blobs, sha256(manifest)), manifest);
  fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(manifest)}`, size: manifest.length }] }));
  const archive = `${layout}.tar`;
  execFileSync('tar', ['-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
  return archive;
}

/** Bytes the registry sent for blob GETs in the access-log lines after `offset` (combined log format). */
function blobEgress(log: string, offset: number): number {
  const text = fs.readFileSync(log, 'utf8').slice(offset);
  let bytes = 0;
  for (const match of text.matchAll(/"GET \/v2\/[^ ]+\/blobs\/sha256:[0-9a-f]{64} HTTP\/[0-9.]+" 200 (\d+)/g)) bytes += Number(match[1]);
  return bytes;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const nodes = option('nodes', 10);
  const layers = option('layers', 4);
  const layerBytes = option('layer-mb', 10) * 1024 * 1024;
  const rounds = option('rounds', 3);
  const BASE = option('base-port', 21070);
  const json = process.argv.includes('--json');
  const say = (line: string) => (json ? console.error(line) : console.log(line)); // with --json, stdout is the result alone
  for (const tool of ['skopeo', 'umoci', 'docker-registry']) execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  const cluster = await TestCluster.start({ nodes, basePort: BASE, podCidr: POD_CIDR, upFlags: ['--image-stores', 'per-node'] });
  try {
    const registry = `127.0.0.1:${BASE + 4}`;
    const dir = fs.mkdtempSync(path.join(cluster.stateDir, 'pull-bench-'));
    const certDir = path.join(dir, 'certs');
    fs.mkdirSync(certDir);
    fs.writeFileSync(path.join(certDir, 'ca.crt'), cluster.caPem);
    const authFile = path.join(dir, 'auth.json');
    const login = await cluster.tsctl(['registry', 'login', '--authfile', authFile]);
    if (login.code !== 0) throw new Error(`tsctl registry login: ${login.stderr}`);
    const auth = ['--authfile', authFile];
    await execFileAsync('skopeo', ['copy', ...auth, '--dest-cert-dir', certDir, `oci-archive:${imageArchive(dir, layers, layerBytes)}`, `docker://${registry}/${REF}`], { maxBuffer: 1 << 24 });
    const raw = JSON.parse((await execFileAsync('skopeo', ['inspect', '--raw', ...auth, '--cert-dir', certDir, `docker://${registry}/${REF}`])).stdout) as { config: { size: number }; layers: { size: number }[] };
    const imageBytes = raw.config.size + raw.layers.reduce((sum, l) => sum + l.size, 0);
    const log = path.join(cluster.stateDir, 'control-plane', 'registry.log');
    // Each store makes its built-in node image (100 MB) in the background at start: not during a round.
    await waitFor('every node\'s built-in images', async () => cluster.logLines(/: images node:latest.* ready/).length >= nodes, 600_000);
    say(`image ${REF}: ${layers} layers, ${(imageBytes / 1e6).toFixed(1)} MB in the registry; ${nodes} nodes`);
    const figures = {
      tide: [] as number[], skopeo: [] as number[], tideEgress: [] as number[], skopeoEgress: [] as number[], direct: [] as number[], directEgress: [] as number[],
      copyOnly: [] as number[],
    };
    const tideRound = async (p2p: boolean) => {
      await cluster.tsctl(['image', 'rm', REF]); // from the last round (absent the first time)
      const offset = fs.statSync(log).size;
      const profiled = new Set(cluster.logLines(PULLED));
      const began = process.hrtime.bigint();
      const pulled = await cluster.tsctl(['image', 'pull', REF, ...(p2p ? [] : ['--no-p2p'])], { timeoutMs: 900_000 });
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      if (pulled.code !== 0) throw new Error(`tsctl image pull: ${pulled.stderr}`);
      (p2p ? figures.tide : figures.direct).push(seconds);
      (p2p ? figures.tideEgress : figures.directEgress).push(blobEgress(log, offset) / imageBytes);
      say(`tide${p2p ? '' : ' --no-p2p'}: ${seconds.toFixed(2)} s, egress ${(blobEgress(log, offset) / imageBytes).toFixed(2)} × the image`);
      for (const line of cluster.logLines(PULLED).filter((l) => !profiled.has(l))) say(`  ${line.replace(/.*pulled [^ ]+ \([^)]*\): /, '')}`); // each agent's own account
    };
    /** Each node: `skopeo copy` to an OCI layout, then (`unpack`) `umoci unpack` of it to a runtime bundle; all nodes at once. */
    const skopeo = async (round: number, unpack: boolean) => {
      const offset = fs.statSync(log).size;
      const began = process.hrtime.bigint();
      await Promise.all(Array.from({ length: nodes }, async (_, i) => {
        const layout = path.join(dir, `skopeo-${round}-node-${i + 1}`);
        await execFileAsync('skopeo', ['copy', ...auth, '--src-cert-dir', certDir, `docker://${registry}/${REF}`, `oci:${layout}:pull`], { maxBuffer: 1 << 24 });
        if (unpack) await execFileAsync('umoci', ['unpack', '--image', `${layout}:pull`, `${layout}-bundle`], { maxBuffer: 1 << 24 });
      }));
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      (unpack ? figures.skopeo : figures.copyOnly).push(seconds);
      if (unpack) figures.skopeoEgress.push(blobEgress(log, offset) / imageBytes);
      for (let i = 0; i < nodes; i++) {
        for (const leftover of [`skopeo-${round}-node-${i + 1}`, `skopeo-${round}-node-${i + 1}-bundle`]) fs.rmSync(path.join(dir, leftover), { recursive: true, force: true });
      }
      say(`skopeo copy${unpack ? ' + umoci unpack' : ' alone'}: ${seconds.toFixed(2)} s, egress ${(blobEgress(log, offset) / imageBytes).toFixed(2)} × the image`);
    };
    const contestants = [() => tideRound(true), (round: number) => skopeo(round, true), () => tideRound(false), (round: number) => skopeo(round, false)];
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < contestants.length; k++) await contestants[(round + k) % contestants.length](round);
    }
    const result = {
      nodes, layers, image_bytes: imageBytes, rounds,
      tide_all_nodes_s: Number(median(figures.tide).toFixed(3)),
      skopeo_all_nodes_s: Number(median(figures.skopeo).toFixed(3)),
      registry_egress_over_image_size: Number(median(figures.tideEgress).toFixed(2)),
      skopeo_registry_egress_over_image_size: Number(median(figures.skopeoEgress).toFixed(2)),
      tide_over_skopeo_time: Number((median(figures.tide) / median(figures.skopeo)).toFixed(2)),
      p2p: true,
      tide_no_p2p_all_nodes_s: Number(median(figures.direct).toFixed(3)),
      registry_egress_no_p2p_over_image_size: Number(median(figures.directEgress).toFixed(2)),
      image_stores: 'per-node',
      reference: 'skopeo copy + umoci unpack, per node',
      skopeo_copy_only_all_nodes_s: Number(median(figures.copyOnly).toFixed(3)),
      tide_over_skopeo_copy_only_time: Number((median(figures.tide) / median(figures.copyOnly)).toFixed(2)),
    };
    console.log(json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  } finally {
    await cluster.stop();
  }
}

main().catch((error: Error) => {
  console.error(`pull benchmark failed: ${error.message}`);
  process.exit(1);
});
