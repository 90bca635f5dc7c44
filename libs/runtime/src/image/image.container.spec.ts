/**
 * Images as containers see them (real overlayfs, real namespaces; needs root): whiteouts and opaque
 * directories hide lower files, containers of one image share its unpacked layers as lowerdirs but
 * not their writes, and the node image runs JavaScript. Every container is removed in an after hook.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { LinuxRuntime } from '../linux.runtime';
import { ContainerSpec } from '../runtime.types';
import { BUSYBOX_REF, ensureBusyboxImage } from './busybox.image';
import { ImageStore } from './image.store';
import { dir, file, tarBytes } from './image.testing';
import { overlayLowerDirs } from './mounted.layers';
import { ensureNodeImage } from './node.image';
import { hostPlatform } from './oci';

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;

/** Every file under `dir` (lock files aside) with its size and modification time. */
function filesOf(dir: string, root = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesOf(file, root);
    if (!entry.isFile() || entry.name.endsWith('.lock')) return [];
    const stat = fs.statSync(file);
    return [`${path.relative(root, file)} ${stat.size} ${stat.mtimeMs}`];
  }).sort();
}

describe('images in containers', { timeout: 600_000 }, () => {
  let work: string;
  let store: ImageStore;
  let runtime: LinuxRuntime;
  const started: string[] = [];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-image-ct-'));
    await ensureBusyboxImage(path.join(work, 'images'));
    store = new ImageStore(path.join(work, 'images'));
    runtime = new LinuxRuntime({ stateDir: path.join(work, 'state'), imageDir: store.imageDir });
  });

  after(async () => {
    for (const id of started) await runtime.remove(id).catch(() => undefined);
    await runtime.close(); // the warm pool's inits and their cgroups
    fs.rmSync(work, { recursive: true, force: true });
  });

  const spec = (name: string, image: string, script: string): ContainerSpec => ({
    id: `img-${RUN}-${name}`, hostname: name, image, argv: ['sh', '-c', script], env: {}, limits: {}, labels: {},
  });

  async function run(s: ContainerSpec): Promise<string> {
    started.push(s.id);
    const info = await runtime.start(s);
    await runtime.wait(s.id);
    return fs.readFileSync(info.logPath, 'utf8');
  }

  async function addLayer(entries: Parameters<typeof tarBytes>[0]) {
    const input = path.join(work, `layer-${Math.random().toString(36).slice(2)}.tar`);
    fs.writeFileSync(input, await tarBytes(entries));
    return store.addLayer(input, {}, 'test layer');
  }

  it('hides lower files behind whiteouts and opaque directories', async () => {
    const busybox = (await store.record(BUSYBOX_REF))!.layers[0];
    const lower = await addLayer([dir('data'), file('data/a', 'a'), file('data/b', 'b'), dir('opq'), file('opq/old1', '1'), file('opq/old2', '2')]);
    const upper = await addLayer([dir('data'), file('data/.wh.a', ''), dir('opq'), file('opq/.wh..wh..opq', ''), file('opq/new', 'n')]);
    await store.commitConfig('whiteout:1', { ...hostPlatform(), rootfs: { type: 'layers', diff_ids: [] } }, [busybox, lower, upper]);
    const log = await run(spec('wh', 'whiteout:1', 'echo data: $(ls /data); echo opq: $(ls /opq)'));
    assert.match(log, /^data: b$/m, 'data/a is whited out, data/b shows through');
    assert.match(log, /^opq: new$/m, 'the opaque directory hides every lower entry');
  });

  it('shares the unpacked layers between containers of one image, not their writes', async () => {
    const a = spec('share-a', BUSYBOX_REF, 'echo mine > /tmp/a-was-here; echo written; sleep 30');
    const b = spec('share-b', BUSYBOX_REF, 'sleep 30');
    started.push(a.id, b.id);
    const infoA = await runtime.start(a);
    const infoB = await runtime.start(b);
    const lowerOf = (pid: number) => overlayLowerDirs(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
    const layerDir = (await store.resolve(BUSYBOX_REF)).layerDirs[0];
    assert.deepEqual(lowerOf(infoA.pid), [layerDir], 'the root overlay of A has the store layer as its lowerdir');
    assert.deepEqual(lowerOf(infoB.pid), [layerDir], 'and so does B: one copy on disk');
    await waitFor(() => fs.readFileSync(infoA.logPath, 'utf8').includes('written'), { what: "A's write" });
    assert.ok(fs.existsSync(path.join(infoA.upperDir!, 'tmp/a-was-here')), "A's write lands in A's upper layer");
    assert.ok(!fs.existsSync(path.join(layerDir, 'tmp/a-was-here')), 'not in the shared layer');
    assert.ok(!fs.existsSync(`/proc/${infoB.pid}/root/tmp/a-was-here`), 'B does not see it');
    assert.deepEqual(fs.readdirSync(`/proc/${infoB.pid}/root/tmp`), []);
  });

  it('keeps the layers a running container uses when their image is removed', async () => {
    const busybox = (await store.record(BUSYBOX_REF))!.layers[0];
    const extra = await addLayer([dir('gc'), file('gc/file', 'kept')]);
    await store.commitConfig('gc-victim:1', { ...hostPlatform(), rootfs: { type: 'layers', diff_ids: [] } }, [busybox, extra]);
    const s = spec('gc', 'gc-victim:1', 'sleep 30');
    started.push(s.id);
    await runtime.start(s);
    await store.untag('gc-victim:1');
    await store.collectGarbage();
    assert.ok(fs.existsSync(path.join(store.layerDir(extra.diffID), 'gc/file')), 'mounted by a running container: kept');
    await runtime.remove(s.id);
    await store.collectGarbage();
    assert.ok(!fs.existsSync(store.layerDir(extra.diffID)), 'collected once the container is gone');
  });

  it('makes node:latest and node:<major> from the host Node.js, once, and runs JavaScript in it', async () => {
    const refs = await ensureNodeImage(store.imageDir);
    assert.deepEqual(refs, ['node:latest', `node:${process.versions.node.split('.')[0]}`]);
    const first = (await store.record('node:latest'))!;
    const written = filesOf(store.imageDir);
    await ensureNodeImage(store.imageDir);
    assert.deepEqual(await store.record('node:latest'), first, 'idempotent');
    assert.deepEqual(filesOf(store.imageDir), written, 'cheap when present: nothing copied or written again');
    const log = await run(spec('node', refs[1], 'node -e "console.log(process.version, 6 * 7)"; ls /bin/sh'));
    assert.match(log, new RegExp(`^${process.version} 42$`, 'm'));
    assert.match(log, /^\/bin\/sh$/m, 'the busybox layer gives RUN a shell');
  });
});
