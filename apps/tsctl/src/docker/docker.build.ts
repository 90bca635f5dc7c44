/**
 * `docker build` (`POST /build`, the context as a tar) and `docker commit` (`POST /commit`) over
 * Tide's image API: the build runs on a node as `tsctl image build`'s does (and reaches every Ready
 * node), its log relayed as dockerd's legacy builder writes it; a commit makes the running
 * container's writable layer a new layer on its image, on the container's node, then pushes the
 * result to the cluster registry (when there is one) and has every Ready node pull it, so that a
 * container of it starts on any node.
 */
import * as http from 'node:http';
import * as readline from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { BuildResult, BuildStreamLine, NodeImage } from '@tide/api';
import { errorFromFetchResponse } from '../api/api.client';
import type { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import type { DockerImages } from './docker.images';
import { imageId } from './docker.images';
import { containerState, dockerName } from './docker.model';
import { isTrue } from './docker.filters';
import { goArch } from './docker.system';
import { JsonMessage, buildEndMessages, buildFailureMessage, buildLogMessage } from './docker.progress';
import { familiarString, parseDockerRef } from './docker.refs';

/** Build options Tide's builder has no counterpart for: refused when given a value other than Docker's default. */
const UNSUPPORTED_BUILD: Array<{ param: string; flag: string; isDefault: (value: string) => boolean }> = [
  { param: 'target', flag: '--target', isDefault: (v) => v === '' },
  { param: 'nocache', flag: '--no-cache (Tide\'s builds always use the node\'s build cache)', isDefault: (v) => !isTrue(v) },
  { param: 'pull', flag: '--pull', isDefault: (v) => !isTrue(v) },
  { param: 'labels', flag: '--label (use LABEL in the Dockerfile)', isDefault: (v) => v === '' || v === '{}' || v === 'null' },
  { param: 'squash', flag: '--squash', isDefault: (v) => !isTrue(v) },
  { param: 'remote', flag: 'a remote context (git or URL)', isDefault: (v) => v === '' },
  { param: 'extrahosts', flag: '--add-host', isDefault: (v) => v === '' || v === '[]' || v === 'null' },
  { param: 'networkmode', flag: '--network', isDefault: (v) => v === '' || v === 'default' },
  { param: 'cachefrom', flag: '--cache-from', isDefault: (v) => v === '' || v === '[]' || v === 'null' },
  { param: 'outputs', flag: '--output', isDefault: (v) => v === '' || v === '[]' || v === 'null' },
  ...['memory', 'memswap', 'cpushares', 'cpuperiod', 'cpuquota', 'shmsize'].map((param) => ({ param, flag: 'resource limits on build steps', isDefault: (v: string) => v === '' || v === '0' })),
  ...['cpusetcpus', 'cpusetmems', 'isolation', 'ulimits'].map((param) => ({ param, flag: `build option ${param}`, isDefault: (v: string) => v === '' || v === 'null' || v === '[]' || v === 'default' })),
];

/** NAME=VALUE per build argument; a null value (an argument without one, not in the client's environment) is left out, as dockerd does. */
export function buildArgsOf(json: string | null): string[] {
  if (!json) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new DockerError(400, `buildargs: not JSON: ${json}`);
  }
  if (parsed === null) return [];
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new DockerError(400, 'buildargs: a JSON object of NAME: VALUE');
  return Object.entries(parsed as Record<string, unknown>).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${String(v)}`);
}

export class DockerBuilds {
  constructor(private readonly images: DockerImages, private readonly containers: TideContainers) {}

  async build(params: URLSearchParams, body: Readable, res: http.ServerResponse): Promise<void> {
    const refused = UNSUPPORTED_BUILD.find((o) => params.has(o.param) && !o.isDefault(params.get(o.param) ?? ''));
    if (refused) throw new DockerError(501, `Tide's Docker API does not support ${refused.flag} on builds yet`);
    const platform = params.get('platform');
    if (platform && platform !== `linux/${goArch()}`) throw new DockerError(501, `Tide's Docker API builds for linux/${goArch()} only, not ${platform}`);
    const names = params.getAll('t');
    if (names.length === 0) throw new DockerError(501, "Tide's Docker API builds named images only (Tide keeps no untagged images): give -t NAME[:TAG]");
    const tags = await Promise.all(names.map((t) => this.images.storeRefOf(t)));
    const query = new URLSearchParams({ tag: tags[0], ...(params.get('dockerfile') ? { dockerfile: params.get('dockerfile')! } : {}) });
    for (const arg of buildArgsOf(params.get('buildargs'))) query.append('buildArg', arg);
    const response = await this.images.api.upload(`/api/v1/images/build?${query}`, await plainTar(body));
    if (!response.ok || !response.body) throw await errorFromFetchResponse(response);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const quiet = isTrue(params.get('q'));
    const write = (message: JsonMessage) => res.write(`${JSON.stringify(message)}\n`);
    const result = await relayBuildLog(Readable.fromWeb(response.body as never), (line) => {
      const message = quiet ? undefined : buildLogMessage(line);
      if (message) write(message);
    });
    if (!result?.ok || !result.image) {
      write(buildFailureMessage(result?.error ?? 'the build stream ended without a result (the control plane or the node stopped?)'));
      return void res.end();
    }
    for (const extra of tags.slice(1)) await this.images.api.request('POST', '/api/v1/images/tag', { source: tags[0], target: extra });
    for (const message of buildEndMessages(result.image.id, names.map((n) => familiarString(parseDockerRef(n))), quiet)) write(message);
    res.end();
  }

  /** `POST /commit?container=&repo=&tag=`: 201 `{"Id": "sha256:..."}`. */
  async commit(params: URLSearchParams): Promise<{ Id: string }> {
    for (const [param, flag] of [['changes', '--change'], ['author', '--author'], ['comment', '--message']]) {
      if (params.get(param)) throw new DockerError(501, `Tide's Docker API does not support ${flag} on commits yet`);
    }
    const repo = params.get('repo');
    if (!repo) throw new DockerError(501, "Tide's Docker API commits to a name only (Tide keeps no untagged images): docker commit CONTAINER NAME[:TAG]");
    const ref = await this.images.storeRefOf(params.get('tag') ? `${repo}:${params.get('tag')}` : repo);
    const container = await this.containers.find(params.get('container') ?? '');
    const replica = container.replica;
    if (!replica || !containerState(container).Running) {
      throw new DockerError(409, `container ${dockerName(container.service)} is not running: Tide commits running containers only (an exited container's writable layer is removed with it)`);
    }
    const committed = await this.images.api.request<{ node: string; image: NodeImage }>('POST', '/api/v1/images/commit', {
      replica: replica.metadata.name, namespace: this.containers.namespace, ref,
    });
    if (await this.images.clusterRegistry()) {
      // Through the registry to every other Ready node, as a build's image reaches them: a container of it may be placed anywhere.
      await this.images.api.request('POST', '/api/v1/images/push', { ref, node: committed.node })
        .then(() => this.images.api.request('POST', '/api/v1/images/pull', { ref }))
        .catch((error: Error) => {
          throw new DockerError(500, `committed ${ref} (${imageId(committed.image.id)}) on node ${committed.node}, but could not bring it to the other nodes through the cluster registry: ${error.message}`);
        });
    }
    return { Id: imageId(committed.image.id) };
  }
}

/** The build's result line; each log line goes to `log` as it comes. */
async function relayBuildLog(body: Readable, log: (line: string) => void): Promise<BuildResult | undefined> {
  let result: BuildResult | undefined;
  for await (const text of readline.createInterface({ input: body, crlfDelay: Infinity })) {
    if (!text.trim()) continue;
    const line = JSON.parse(text) as BuildStreamLine;
    if ('result' in line) result = line.result;
    else log(line.log);
  }
  return result;
}

/** The context as a plain tar: the CLI gzips it with --compress (Tide's builder reads plain tar). */
async function plainTar(body: Readable): Promise<Readable> {
  const iterator = body[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
  }
  const whole = Readable.from(rest());
  return head[0] === 0x1f && head[1] === 0x8b ? whole.pipe(createGunzip()) : whole;
}
