/**
 * `tsctl docker-serve`: serves the Docker Engine API on a unix socket (0660, the owner's and group's
 * only: whoever may open it acts with this process's Tide credential), translating each call into
 * Tide API calls. `tsctl docker-host`: the value to put in DOCKER_HOST for that socket.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../cli/args';
import { Command, CommandContext, CommandError, NAMESPACE_OPTION, namespaceOf } from '../commands/command';
import { TideContainers } from './docker.backend';
import { ContainerVerbs } from './docker.containers';
import { DockerApi } from './docker.server';
import { SystemInfo } from './docker.system';

const SOCKET_OPTION = { long: 'socket', help: 'the unix socket (default: STATE/docker.sock of the cluster "tsctl up" started, else ~/.tide/docker.sock)' };

/** The cluster's state dir when tsctl up wrote the config, else the user's ~/.tide. */
export function defaultSocket(ctx: Pick<CommandContext, 'config' | 'options'>, home = os.homedir()): string {
  const given = ctx.options.get('socket');
  if (given) return path.resolve(given);
  return path.join(ctx.config.stateDir ?? path.join(home, '.tide'), 'docker.sock');
}

export const dockerHostCommand: Command = {
  name: 'docker-host',
  usage: 'tsctl docker-host [--socket PATH]',
  summary: 'print the DOCKER_HOST value of "tsctl docker-serve" (export DOCKER_HOST=$(tsctl docker-host))',
  options: [SOCKET_OPTION],
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`docker-host takes no arguments, got "${ctx.args.join(' ')}"`);
    const socket = defaultSocket(ctx);
    ctx.out(`unix://${socket}`);
    if (!fs.existsSync(socket)) ctx.note(`note: nothing serves ${socket} yet: start "tsctl docker-serve" (or "tsctl up --docker")`);
  },
};

export const dockerServeCommand: Command = {
  name: 'docker-serve',
  usage: 'tsctl docker-serve [--socket PATH] [--group GROUP] [-n NAMESPACE]',
  summary: 'serve the Docker Engine API (a subset of v1.41) on a unix socket: docker clients run containers as Tide services',
  options: [SOCKET_OPTION, { long: 'group', help: 'the socket\'s group (as dockerd\'s -G docker): its members may use it (default: this process\'s group)' }, NAMESPACE_OPTION],
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`docker-serve takes no arguments, got "${ctx.args.join(' ')}"`);
    const socket = defaultSocket(ctx);
    const group = ctx.options.has('group') ? groupId(ctx.options.get('group')!) : undefined;
    // The credential is checked now: a wrong one is this command's error, not every docker call's.
    const who = await ctx.api.get<{ name: string }>('/api/v1/whoami');
    await clearStaleSocket(socket);
    const verbs = new ContainerVerbs(new TideContainers(ctx.api, namespaceOf(ctx)));
    const api = new DockerApi(verbs, new SystemInfo(ctx.api));
    const server = http.createServer(api.handle);
    server.on('upgrade', api.handleUpgrade);
    await listenPrivately(server, socket);
    if (group !== undefined) fs.chownSync(socket, -1, group);
    ctx.note(`serving the Docker API on unix://${socket} for ${ctx.api.server} as ${who.name}, namespace ${namespaceOf(ctx)}`);
    const removed = await verbs.adoptAutoRemoved().catch((error: Error) => ctx.note(`warning: could not look for --rm containers left behind: ${error.message}`));
    if (removed) ctx.note(`removed ${removed} --rm container(s) that exited while no server ran`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    server.close();
    server.closeAllConnections();
    fs.rmSync(socket, { force: true });
  },
};

/** A group's id, by name (from /etc/group) or as a number. */
export function groupId(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  const line = fs.readFileSync(groupFile, 'utf8').split('\n').find((l) => l.split(':')[0] === group);
  if (!line) throw new UsageError(`--group: no group "${group}" in ${groupFile}`);
  return Number(line.split(':')[2]);
}

/** A socket file nobody answers on (a killed server's) is removed; one that answers is another server's. */
async function clearStaleSocket(socket: string): Promise<void> {
  if (!fs.existsSync(socket)) {
    fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o700 });
    return;
  }
  if (!fs.lstatSync(socket).isSocket()) throw new CommandError(`${socket} exists and is not a socket: remove it or give --socket`);
  const answered = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socket, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (answered) throw new CommandError(`another server is listening on ${socket}: stop it, or give another --socket`);
  fs.rmSync(socket);
}

/** Created 0660 (the umask narrowed while it is made, so that it is never wider even for a moment). */
async function listenPrivately(server: http.Server, socket: string): Promise<void> {
  const umask = process.umask(0o117);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  fs.chmodSync(socket, 0o660);
}
