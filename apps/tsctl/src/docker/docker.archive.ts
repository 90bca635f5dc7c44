/**
 * `docker cp` over Tide's archive endpoints (cp/replica.files.ts): `HEAD /containers/{id}/archive`
 * (the stat alone), `GET` (a tar of the path) and `PUT` (a tar extracted into a directory), with
 * the stat in `X-Docker-Container-Path-Stat` as dockerd sends it: base64 of
 * `{"name","size","mode","mtime","linkTarget"}` where mode is a Go os.FileMode, not st_mode.
 * The docker CLI does the rest (where a copy lands) itself. Tide reaches a container's files
 * through its running process: a stopped container's cannot be copied.
 */
import type * as http from 'node:http';
import { PathStat } from '@tide/api';
import { ReplicaFiles } from '../cp/replica.files';
import { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import { containerState, dockerName } from './docker.model';

export const DOCKER_PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

// Go's os.FileMode type bits (io/fs): the permissions are the low nine bits, as in st_mode.
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_DEVICE = 2 ** 26;
const GO_NAMED_PIPE = 2 ** 25;
const GO_SOCKET = 2 ** 24;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_CHAR_DEVICE = 2 ** 21;
const GO_STICKY = 2 ** 20;

const GO_TYPE: Record<number, number> = {
  0o040000: GO_DIR, 0o120000: GO_SYMLINK, 0o060000: GO_DEVICE, 0o020000: GO_DEVICE + GO_CHAR_DEVICE, 0o010000: GO_NAMED_PIPE, 0o140000: GO_SOCKET,
};

/** st_mode → Go's os.FileMode, as Go's os.Lstat fills it in. */
export function goFileMode(mode: number): number {
  let go = (mode & 0o777) + (GO_TYPE[mode & 0o170000] ?? 0);
  if (mode & 0o4000) go += GO_SETUID;
  if (mode & 0o2000) go += GO_SETGID;
  if (mode & 0o1000) go += GO_STICKY;
  return go;
}

/** The header's value: dockerd's ContainerPathStat, base64 of its JSON. */
export function dockerPathStat(stat: PathStat): string {
  const docker = { name: stat.name, size: stat.size, mode: goFileMode(stat.mode), mtime: stat.mtime, linkTarget: stat.linkTarget };
  return Buffer.from(JSON.stringify(docker)).toString('base64');
}

export class DockerArchives {
  constructor(private readonly containers: TideContainers) {}

  /** HEAD (`withBody` false) or GET: the stat header, then the tar. */
  async read(ref: string, params: URLSearchParams, res: http.ServerResponse, withBody: boolean, signal: AbortSignal): Promise<void> {
    const { files, replica } = await this.runningReplica(ref);
    const path = pathOf(params);
    if (!withBody) {
      const stat = await files.stat(replica, path);
      if (!stat) throw new DockerError(404, `Could not find the file ${path} in container ${ref}`);
      res.writeHead(200, { [DOCKER_PATH_STAT_HEADER]: dockerPathStat(stat) });
      return void res.end();
    }
    const { stat, tar } = await files.read(replica, path, signal);
    res.writeHead(200, { 'Content-Type': 'application/x-tar', [DOCKER_PATH_STAT_HEADER]: dockerPathStat(stat) });
    for await (const chunk of tar) {
      if (!res.write(chunk)) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
    }
    res.end();
  }

  /** PUT: the body, a tar, extracted into the directory at ?path (404 missing, 400 not a directory). */
  async write(ref: string, params: URLSearchParams, body: http.IncomingMessage): Promise<void> {
    const { files, replica } = await this.runningReplica(ref);
    const copyUIDGID = params.get('copyUIDGID');
    await files.write(replica, pathOf(params), body, copyUIDGID === '1' || copyUIDGID === 'true');
  }

  /** The running replica's name, with the files of its namespace (a user-defined network's, or the server's). */
  private async runningReplica(ref: string): Promise<{ files: ReplicaFiles; replica: string }> {
    const container = await this.containers.find(ref);
    if (!containerState(container).Running || !container.replica) {
      throw new DockerError(409, `container ${dockerName(container.service)} is not running: Tide copies files in and out of running containers only`);
    }
    return { files: new ReplicaFiles(this.containers.api, container.replica.metadata.namespace), replica: container.replica.metadata.name };
  }
}

function pathOf(params: URLSearchParams): string {
  const path = params.get('path');
  if (!path) throw new DockerError(400, 'path: give the path in the container');
  return path;
}
