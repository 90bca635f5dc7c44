/**
 * Dockerfile builds. Each instruction takes the build state (layers + image config) to the next:
 * COPY, ADD and RUN add one layer each; WORKDIR adds one only when it creates the directory; ENV,
 * LABEL, VOLUME, USER, EXPOSE, CMD and ENTRYPOINT change the config only (as Docker: "empty_layer"
 * in the history); ARG changes neither, only the variables of the steps after it (and so their
 * cache keys). A second FROM starts a new stage; the last stage is the image, the others are there
 * for `COPY --from` and `FROM <stage>`. RUN runs in a Tide container (host network, the step's
 * layers as root, as the USER in effect, with the stage's ARGs and ENV) and its overlay upper
 * directory becomes the layer. Every step goes through the build cache, so an unchanged rebuild
 * reuses every layer and starts no container. An image FROM names that is not on the node is pulled
 * (`BuildOptions.pull`) before the build gives up on it.
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
import { openStageSource } from './stage.source';

interface Build {
  store: ImageStore;
  runtime: ContainerRuntime;
  context: BuildContext;
  log(line: string): void;
  buildArgs: Record<string, string>;
  pull?: (ref: string) => Promise<void>;
  /** ARGs declared before the first FROM, with their values: they serve FROM lines, and stages that declare them again. */
  globalArgs: Record<string, string>;
  /** Finished stages, in order. */
  stages: Stage[];
}

interface Stage {
  name?: string;
  state: BuildState;
  /** The stage's ARGs in effect. */
  args: Record<string, string>;
  /** A CMD in this stage: a later ENTRYPOINT keeps it (otherwise ENTRYPOINT clears the base image's CMD, as Docker). */
  cmdSet: boolean;
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
  const build: Build = {
    store, runtime, context: await BuildContext.open(options.contextDir), log: options.log, buildArgs: options.buildArgs ?? {},
    ...(options.pull ? { pull: options.pull } : {}), globalArgs: {}, stages: [],
  };
  const cache = new BuildCache(store);
  return store.lock.shared(async () => {
    let stage: Stage | undefined;
    for (const [i, instruction] of instructions.entries()) {
      build.log(`Step ${i + 1}/${instructions.length} : ${instruction.text}`);
      stage = await nextStage(build, cache, stage, instruction);
    }
    // The parser makes sure of a FROM, so there is a stage.
    const record = await store.commitConfig(tag, stage!.state.config, stage!.state.layers);
    build.log(`Successfully built ${record.config.slice(7, 19)} as ${tag}`);
    return record;
  });
}

/** One instruction: FROM starts a stage, ARG sets variables, anything else is a cached step of the stage. */
async function nextStage(build: Build, cache: BuildCache, stage: Stage | undefined, instruction: Instruction): Promise<Stage | undefined> {
  if (instruction.kind === 'FROM') {
    if (stage) build.stages.push(stage);
    return fromStep(build, instruction);
  }
  if (instruction.kind === 'ARG') {
    if (stage) return argStep(build, stage, instruction);
    for (const arg of instruction.args) declareGlobal(build, arg);
    return undefined;
  }
  if (!stage) throw new ImageError('Invalid', `Dockerfile line ${instruction.line}: ${instruction.kind} before FROM`);
  return { ...stage, state: await cachedStep(build, cache, stage, instruction), cmdSet: stage.cmdSet || instruction.kind === 'CMD' };
}

function declareGlobal(build: Build, arg: { name: string; value?: string }): void {
  const value = build.buildArgs[arg.name] ?? (arg.value === undefined ? undefined : expandVariables(arg.value, build.globalArgs));
  if (value !== undefined) build.globalArgs[arg.name] = value;
}

/** ARG in a stage: --build-arg, else its default, else the global ARG's value; the value goes into the cache key. */
function argStep(build: Build, stage: Stage, instruction: Extract<Instruction, { kind: 'ARG' }>): Stage {
  const args = { ...stage.args };
  let key = stage.state.key;
  for (const arg of instruction.args) {
    const value = build.buildArgs[arg.name] ?? (arg.value === undefined ? build.globalArgs[arg.name] : expandVariables(arg.value, varsOf(stage)));
    if (value !== undefined) args[arg.name] = value;
    key = BuildCache.keyOf(key, `ARG ${arg.name}=${value ?? ''}`, '');
  }
  return { ...stage, args, state: { ...stage.state, key } };
}

/** What $VAR expands to in a stage: its ARGs, overridden by the ENV of its config, as Docker. */
function varsOf(stage: Stage): Record<string, string> {
  return { ...stage.args, ...envOf(stage.state.config) };
}

async function fromStep(build: Build, instruction: Extract<Instruction, { kind: 'FROM' }>): Promise<Stage> {
  const image = expandVariables(instruction.image, build.globalArgs);
  const named = build.stages.find((s) => s.name !== undefined && s.name === image.toLowerCase());
  const stage = (state: BuildState): Stage => ({ ...(instruction.stage ? { name: instruction.stage } : {}), state, args: {}, cmdSet: false });
  if (named) return stage(named.state);
  if (image === 'scratch') {
    return stage({ key: 'scratch', layers: [], config: { ...hostPlatform(), config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] } });
  }
  const record = await imageRecord(build, image, `Dockerfile line ${instruction.line}`);
  build.log(` ---> ${record.config.slice(7, 19)}`);
  const config = await build.store.readConfig(record.config);
  return stage({ key: record.config, layers: record.layers, config: { ...config, history: config.history ?? [] } });
}

/** The image's record; pulled first when it is not on this node and the build can pull. */
async function imageRecord(build: Build, image: string, where: string): Promise<ImageRecord> {
  let ref: string;
  try {
    ref = formatRef(parseRef(image));
  } catch (error) {
    throw new ImageError('Invalid', `${where}: ${(error as Error).message}`);
  }
  let record = await build.store.record(ref);
  if (!record && build.pull) {
    build.log(` ---> ${image} is not on this node: pulling it from the cluster registry`);
    await build.pull(image).catch((error: Error) => {
      throw new ImageError('Invalid', `${where}: image "${image}" is not on this node and could not be pulled: ${error.message}`);
    });
    record = await build.store.record(ref);
  }
  if (!record) throw new ImageError('Invalid', `${where}: image "${image}" not found on this node (import or build it first, or push it to the cluster registry)`);
  return record;
}

async function cachedStep(build: Build, cache: BuildCache, stage: Stage, instruction: Instruction): Promise<BuildState> {
  const where = `Dockerfile line ${instruction.line}`;
  const parent = stage.state;
  const key = BuildCache.keyOf(parent.key, instruction.text, await stepInputs(build, stage, instruction, where));
  const hit = await cache.get(key);
  if (hit) {
    build.log(' ---> CACHED');
    return hit;
  }
  const change = await runInstruction(build, stage, instruction, where);
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

/** What a step reads besides its parent: the context files COPY and ADD name, or the stage or image COPY --from names (its key says its content). */
async function stepInputs(build: Build, stage: Stage, instruction: Instruction, where: string): Promise<string> {
  if (instruction.kind !== 'COPY' && instruction.kind !== 'ADD') return '';
  if (instruction.kind === 'COPY' && instruction.from) return (await fromSource(build, instruction.from, where)).key;
  const vars = varsOf(stage);
  return build.context.hash((await Promise.all(instruction.sources.map((s) => build.context.resolve(expandVariables(s, vars), where)))).flat());
}

/** The state COPY --from=X reads: an earlier stage by name or index, else an image (pulled when missing). */
async function fromSource(build: Build, from: string, where: string): Promise<BuildState> {
  const byIndex = /^\d+$/.test(from) ? build.stages[Number(from)] : undefined;
  const named = byIndex ?? build.stages.find((s) => s.name === from);
  if (named) return named.state;
  if (/^\d+$/.test(from)) throw new ImageError('Invalid', `${where}: --from=${from}: there is no earlier stage ${from}`);
  const record = await imageRecord(build, from, `${where}: --from`);
  return { key: record.config, layers: record.layers, config: await build.store.readConfig(record.config) };
}

type RunConfig = NonNullable<OciImageConfig['config']>;

async function runInstruction(build: Build, stage: Stage, step: Instruction, where: string): Promise<{ layer?: StoredLayer; config?: RunConfig }> {
  const parent = stage.state;
  const config: RunConfig = { ...(parent.config.config ?? {}) };
  const env = varsOf(stage);
  const workdir = config.WorkingDir || '/';
  const layerDirs = parent.layers.map((l) => build.store.layerDir(l.diffID));
  switch (step.kind) {
    case 'ENV': {
      const values = new Map((config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      for (const [k, v] of step.pairs) values.set(k, expandVariables(v, { ...env, ...Object.fromEntries(values) }));
      return { config: { ...config, Env: [...values].map(([k, v]) => `${k}=${v}`) } };
    }
    case 'LABEL':
      return { config: { ...config, Labels: { ...(config.Labels ?? {}), ...Object.fromEntries(step.pairs.map(([k, v]) => [expandVariables(k, env), expandVariables(v, env)])) } } };
    case 'VOLUME':
      return { config: { ...config, Volumes: { ...(config.Volumes ?? {}), ...Object.fromEntries(step.paths.map((p) => [path.posix.resolve('/', expandVariables(p, env)), {}])) } } };
    case 'USER':
      return { config: { ...config, User: expandVariables(step.user, env) } };
    case 'EXPOSE':
      return { config: { ...config, ExposedPorts: { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(step.ports.map((p) => [p, {}])) } } };
    case 'CMD':
      return { config: { ...config, Cmd: step.argv } };
    case 'ENTRYPOINT':
      // Docker: ENTRYPOINT clears a CMD the base image set; a CMD of this stage stays.
      return { config: { ...config, Entrypoint: step.argv, ...(stage.cmdSet ? {} : { Cmd: null }) } };
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
      const source = step.kind === 'COPY' && step.from ? await openStageSource(build.store, (await fromSource(build, step.from, where)).layers) : undefined;
      try {
        const layer = await addLayerFromTar(build.store, `${where}: ${step.kind}`, (tar) =>
          writeCopyLayer(build.store.sys, source?.context ?? build.context, layerDirs, { add: step.kind === 'ADD', sources, dest, chown: step.chown, where }, tar),
        );
        return { layer };
      } finally {
        await source?.release();
      }
    }
    case 'RUN':
      return { layer: await runLayer(build, layerDirs, config, env, step.argv, where) };
    case 'FROM':
    case 'ARG':
      throw new ImageError('Invalid', `${where}: ${step.kind} is not a step of its own`);
  }
}

async function runLayer(build: Build, layerDirs: string[], config: RunConfig, env: Record<string, string>, argv: string[], where: string): Promise<StoredLayer> {
  if (layerDirs.length === 0) throw new ImageError('BuildFailed', `${where}: RUN needs a shell, and an image FROM scratch has no layers yet`);
  const id = `build-${randomBytes(6).toString('hex')}`;
  const logPath = path.join(await build.store.tempDir('run'), 'log');
  try {
    const upper = await runStep(build.runtime, build.log, {
      id, logPath, layerDirs, argv, env, workingDir: config.WorkingDir || '/', user: config.User, where,
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
