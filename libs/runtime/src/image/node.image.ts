/**
 * The built-in "node:latest" and "node:<major>" images: the busybox layer (so RUN has a shell) and a
 * layer with the host's Node.js binary at /usr/local/bin/node plus the shared libraries ldd lists, at
 * the same paths, with the dynamic loader. JavaScript services then run in containers without a registry.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Sys, linuxSys } from '@tide/syscall';
import { RuntimeError } from '../runtime.types';
import { BASE_PATH, BUSYBOX_REF, baseConfig, ensureBaseImage, ensureBusyboxImage } from './busybox.image';
import { ImageStore } from './image.store';
import { addLayerFromTar, addParents } from './layer.tar';

export const NODE_REF = 'node:latest';
/** Records which binary the image was made from: a changed host Node.js makes the image again. */
const SOURCE_LABEL = 'org.tide.node.source';

export function nodeRefs(): string[] {
  return [NODE_REF, `node:${process.versions.node.split('.')[0]}`];
}

/** Makes node:latest and node:<major> unless they are present and made from this Node.js binary. */
export async function ensureNodeImage(imageDir: string, nodePath = process.execPath, sys: Sys = linuxSys()): Promise<string[]> {
  await ensureBusyboxImage(imageDir, undefined, sys);
  const source = sourceOf(nodePath);
  await ensureBaseImage(new ImageStore(imageDir, sys), async (store) => {
    if (await isCurrent(store, source)) return;
    const busybox = (await store.record(BUSYBOX_REF))!.layers[0];
    const layer = await nodeLayer(store, nodePath);
    const config = baseConfig(
      { Env: [`PATH=${BASE_PATH}`, `NODE_VERSION=${process.versions.node}`], Cmd: ['node'], Labels: { [SOURCE_LABEL]: source } },
      `node ${process.versions.node} from ${nodePath}`,
    );
    for (const ref of nodeRefs()) await store.commitConfig(ref, config, [busybox, layer]);
  });
  return nodeRefs();
}

function sourceOf(nodePath: string): string {
  const stat = fs.statSync(nodePath);
  return `${nodePath} ${stat.size} ${Math.floor(stat.mtimeMs)}`;
}

async function isCurrent(store: ImageStore, source: string): Promise<boolean> {
  for (const ref of nodeRefs()) {
    const record = await store.record(ref);
    if (!record || !store.has(BUSYBOX_REF)) return false;
    const config = await store.readConfig(record.config).catch(() => undefined);
    if (config?.config?.Labels?.[SOURCE_LABEL] !== source) return false;
  }
  return true;
}

function nodeLayer(store: ImageStore, nodePath: string) {
  const libraries = sharedLibraries(nodePath);
  return addLayerFromTar(store, 'node layer', async (tar) => {
    const written = new Set<string>();
    const files: [string, string][] = [['usr/local/bin/node', nodePath], ...libraries.map((lib): [string, string] => [lib.slice(1), lib])];
    for (const [rel, source] of files.sort(([a], [b]) => a.localeCompare(b))) {
      await addParents(tar, rel, written);
      // statSync follows symlinks (libc.so.6 -> libc-2.36.so): the layer holds the file under the name the loader asks for.
      const stat = fs.statSync(source);
      await tar.add({ name: rel, type: 'file', mode: stat.mode & 0o755, size: stat.size }, source);
    }
  });
}

/** The absolute paths ldd prints: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and the loader "/lib64/ld-linux-x86-64.so.2 (0x...)". */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libraries: string[] = [];
  for (const line of out.split('\n')) {
    if (/not found/.test(line)) throw new RuntimeError('Internal', `${binary} needs a library the host lacks: ${line.trim()}`);
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (match) libraries.push(match[1]);
  }
  return [...new Set(libraries)];
}
