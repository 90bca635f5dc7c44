/**
 * Dockerfile builds. Each instruction takes the build state (layers + image config) to the next:
 * COPY, ADD and RUN add one layer each; WORKDIR adds one only when it creates the directory; ENV,
 * USER, EXPOSE, CMD and ENTRYPOINT change the config only (as Docker: "empty_layer" in the history).
 * RUN runs in a Tide container (host network, the step's layers as root, as the USER in effect) and
 * its overlay upper directory becomes the layer. Every step goes through the build cache, so an
 * unchanged rebuild reuses every layer and starts no container.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageRecord, ImageStore, StoredLayer } from '../image/image.store';
import { BuildOptions, ImageError } from '../image/image.types';
import { addLayerFromTar } from '../image/layer.tar';
import { OciImageConfig, formatRef, hostPlatform, parseRef } from '../image/oci';
import { ContainerRuntime } from '../runtime.types';
import { BuildCache, BuildState } from './build.cache';
import { BuildContext } from './build.context';
import { writeCopyLayer } from './copy.step';
import { DockerfileError, Instruction, expandVariables, parseDockerfile } from './dockerfile.parser';
import { writeUpperDiff } from './layer.diff';
import { statMerged } from './merged.view';
import { runStep } from './run.step';

interface Build {
  store: ImageStore;
  runtime: ContainerRuntime;
  context: BuildContext;
  log(line: string): void;
}

export async function buildImage(store: ImageStore, runtime: ContainerRuntime, options: BuildOptions): Promise<ImageRecord> {
  const tag = formatRef(parseRef(options.tag));
  const dockerfile = path.join(options.contextDir, options.dockerfile ?? 'Dockerfile');
  const text = await fs.promises.readFile(dockerfile, 'utf8').catch(() => {
    throw new ImageError('Invalid', `no Dockerfile at ${dockerfile}`);
  });
  let instructions: Instruction[];
  try {
    instructions = parseDockerfile(text);
  } catch (error) {
    if (error instanceof DockerfileError) throw new ImageError('Invalid', error.message);
    throw error;
  }
  const build: Build = { store, runtime, context: await BuildContext.open(options.contextDir), log: options.log };
  const cache = new BuildCache(store);
  return store.lock.shared(async () => {
    let state: BuildState | undefined;
    for (const [i, instruction] of instructions.entries()) {
      build.log(`Step ${i + 1}/${instructions.length} : ${instruction.text}`);
      state = state ? await cachedStep(build, cache, state, instruction) : await fromStep(build, instruction);
    }
    const record = await store.commitConfig(tag, state!.config, state!.layers);
    build.log(`Successfully built ${record.config.slice(7, 19)} as ${tag}`);
    return record;
  });
}

async function fromStep(build: Build, instruction: Instruction): Promise<BuildState> {
  if (instruction.kind !== 'FROM') throw new ImageError('Invalid', `Dockerfile line ${instruction.line}: expected FROM`);
  if (instruction.image === 'scratch') {
    return { key: 'scratch', layers: [], config: { ...hostPlatform(), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] } };
  }
  const record = await build.store.record(formatRef(parseRef(instruction.image)));
  if (!record) throw new ImageError('Invalid', `Dockerfile line ${instruction.line}: image "${instruction.image}" not found on this node (import or build it first)`);
  build.log(` ---> ${record.config.slice(7, 19)}`);
  const config = await build.store.readConfig(record.config);
  return { key: record.config, layers: record.layers, config: { ...config, history: config.history ?? [] } };
}

async function cachedStep(build: Build, cache: BuildCache, parent: BuildState, instruction: Instruction): Promise<BuildState> {
  const where = `Dockerfile line ${instruction.line}`;
  const env = envOf(parent.config);
  const inputs = instruction.kind === 'COPY' || instruction.kind === 'ADD'
    ? await build.context.hash((await Promise.all(instruction.sources.map((s) => build.context.resolve(expandVariables(s, env), where)))).flat())
    : '';
  const key = BuildCache.keyOf(parent.key, instruction.text, inputs);
  const hit = await cache.get(key);
  if (hit) {
    build.log(' ---> CACHED');
    return hit;
  }
  const change = await runInstruction(build, parent, instruction, where);
  const created = new Date().toISOString();
  const history = [...(parent.config.history ?? []), { created, created_by: instruction.text, ...(change.layer ? {} : { empty_layer: true }) }];
  const state: BuildState = {
    key,
    layers: change.layer ? [...parent.layers, change.layer] : parent.layers,
    config: { ...parent.config, created, config: change.config ?? parent.config.config, history },
  };
  await cache.put(state);
  build.log(` ---> ${change.layer ? `layer ${change.layer.diffID.slice(7, 19)}` : 'config only'}`);
  return state;
}

type RunConfig = NonNullable<OciImageConfig['config']>;

async function runInstruction(build: Build, parent: BuildState, step: Instruction, where: string): Promise<{ layer?: StoredLayer; config?: RunConfig }> {
  const config: RunConfig = { ...(parent.config.config ?? {}) };
  const env = envOf(parent.config);
  const workdir = config.WorkingDir || '/';
  const layerDirs = parent.layers.map((l) => build.store.layerDir(l.diffID));
  switch (step.kind) {
    case 'ENV': {
      const values = new Map((config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      for (const [k, v] of step.pairs) values.set(k, expandVariables(v, { ...env, ...Object.fromEntries(values) }));
      return { config: { ...config, Env: [...values].map(([k, v]) => `${k}=${v}`) } };
    }
    case 'USER':
      return { config: { ...config, User: expandVariables(step.user, env) } };
    case 'EXPOSE':
      return { config: { ...config, ExposedPorts: { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(step.ports.map((p) => [p, {}])) } } };
    case 'CMD':
      return { config: { ...config, Cmd: step.argv } };
    case 'ENTRYPOINT':
      return { config: { ...config, Entrypoint: step.argv } };
    case 'WORKDIR': {
      const dir = path.posix.resolve(workdir, expandVariables(step.path, env));
      const exists = statMerged(build.store.sys, layerDirs, dir.slice(1))?.isDirectory();
      const layer = exists ? undefined : await addLayerFromTar(build.store, `${where}: WORKDIR`, async (tar) => {
        const parts = dir.split('/').filter(Boolean);
        for (let k = 1; k <= parts.length; k++) await tar.add({ name: parts.slice(0, k).join('/'), type: 'directory', mode: 0o755 });
      });
      return { layer, config: { ...config, WorkingDir: dir } };
    }
    case 'COPY':
    case 'ADD': {
      const dest = path.posix.resolve(workdir, expandVariables(step.dest, env)) + (step.dest.endsWith('/') ? '/' : '');
      const sources = step.sources.map((s) => expandVariables(s, env));
      const layer = await addLayerFromTar(build.store, `${where}: ${step.kind}`, (tar) =>
        writeCopyLayer(build.store.sys, build.context, layerDirs, { add: step.kind === 'ADD', sources, dest, chown: step.chown, where }, tar),
      );
      return { layer };
    }
    case 'RUN':
      return { layer: await runLayer(build, layerDirs, config, step.argv, where) };
    case 'FROM':
      throw new ImageError('Invalid', `${where}: a second FROM`);
  }
}

async function runLayer(build: Build, layerDirs: string[], config: RunConfig, argv: string[], where: string): Promise<StoredLayer> {
  if (layerDirs.length === 0) throw new ImageError('BuildFailed', `${where}: RUN needs a shell, and an image FROM scratch has no layers yet`);
  const id = `build-${randomBytes(6).toString('hex')}`;
  const logPath = path.join(await build.store.tempDir('run'), 'log');
  try {
    const upper = await runStep(build.runtime, build.log, {
      id, logPath, layerDirs, argv, env: envOf({ config } as OciImageConfig), workingDir: config.WorkingDir || '/', user: config.User, where,
    });
    return await addLayerFromTar(build.store, `${where}: RUN`, (tar) => writeUpperDiff(build.store.sys, upper.dir, tar));
  } finally {
    await build.runtime.remove(id).catch(() => undefined);
    await fs.promises.rm(path.dirname(logPath), { recursive: true, force: true });
  }
}

function envOf(config: OciImageConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of config.config?.Env ?? []) env[item.slice(0, item.indexOf('='))] = item.slice(item.indexOf('=') + 1);
  return env;
}
