/**
 * `tsctl docker-serve`: serves the Docker Engine API on a unix socket (0660, the owner's and group's
 * only: whoever may open it acts with this process's Tide credential), and with --tcp also on TCP with
 * mutual TLS of the cluster CA (each client acting as itself: docker.tcp.ts), translating each call
 * into Tide API calls. `tsctl docker-host`: the value to put in DOCKER_HOST for the socket, or with
 * --tcp a client certificate and the DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH lines.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ApiClient } from '../api/api.client';
import { UsageError } from '../cli/args';
import { Command, CommandContext, CommandError, NAMESPACE_OPTION, namespaceOf } from '../commands/command';
import { TideContainers } from './docker.backend';
import { ContainerVerbs } from './docker.containers';
import { DockerApi } from './docker.server';
import { SystemInfo } from './docker.system';
import { TcpDockerServer } from './docker.tcp';
import {
  certificateDirectory, dockerTlsEnvironment, formatTcpAddress, issueServingCertificate, issueUserCertificate, machineAddresses,
  parseTcpAddress, servingNames, writeClientFiles, type TcpAddress,
} from './docker.tls';

const SOCKET_OPTION = { long: 'socket', help: 'the unix socket (default: STATE/docker.sock of the cluster "tsctl up" started, else ~/.tide/docker.sock)' };

/** The cluster's state dir when tsctl up wrote the config, else the user's ~/.tide. */
export function defaultSocket(ctx: Pick<CommandContext, 'config' | 'options'>, home = os.homedir()): string {
  const given = ctx.options.get('socket');
  if (given) return path.resolve(given);
  return path.join(ctx.config.stateDir ?? path.join(home, '.tide'), 'docker.sock');
}

const TCP_OPTION = { long: 'tcp', help: 'HOST:PORT: also serve the API there, with mutual TLS of the cluster CA (clients: tsctl docker-host --tcp)' };

/** Where `tsctl docker-host --tcp` puts the client's files unless --cert-dir says. */
export function defaultCertDir(ctx: Pick<CommandContext, 'config'>, home = os.homedir()): string {
  return path.join(ctx.config.stateDir ?? path.join(home, '.tide'), 'docker-tls');
}

export const dockerHostCommand: Command = {
  name: 'docker-host',
  usage: 'tsctl docker-host [--socket PATH] | tsctl docker-host --tcp HOST:PORT [--cert-dir DIR]',
  summary: 'print the DOCKER_HOST value of "tsctl docker-serve" (export DOCKER_HOST=$(tsctl docker-host)); with --tcp, write a client certificate and print the lines to eval',
  options: [
    SOCKET_OPTION,
    { long: 'tcp', help: 'HOST:PORT of "tsctl docker-serve --tcp": write ca.pem, cert.pem and key.pem for this credential and print DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH' },
    { long: 'cert-dir', help: 'with --tcp: the existing directory for the certificate files (default: STATE/docker-tls or ~/.tide/docker-tls)' },
  ],
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`docker-host takes no arguments, got "${ctx.args.join(' ')}"`);
    if (ctx.options.has('tcp')) return printTcpHost(ctx, parseTcpAddress(ctx.options.get('tcp')!));
    if (ctx.options.has('cert-dir')) throw new UsageError('--cert-dir goes with --tcp HOST:PORT (the unix socket needs no certificate)');
    const socket = defaultSocket(ctx);
    ctx.out(`unix://${socket}`);
    if (!fs.existsSync(socket)) ctx.note(`note: nothing serves ${socket} yet: start "tsctl docker-serve" (or "tsctl up --docker")`);
  },
};

/** A client certificate of this credential's own identity, in the files and variables docker reads. */
async function printTcpHost(ctx: CommandContext, address: TcpAddress): Promise<void> {
  if (ctx.options.has('socket')) throw new UsageError('--socket and --tcp: give one (the unix socket or the TCP address)');
  const dir = certificateDirectory(ctx.options.get('cert-dir'), defaultCertDir(ctx));
  const signed = await issueUserCertificate(ctx.api);
  writeClientFiles(dir, signed);
  for (const line of dockerTlsEnvironment(address, dir)) ctx.out(line);
  const who = signed.subject.kind === 'user' ? `${signed.subject.name}, role ${signed.subject.role}${signed.subject.namespace ? ` in namespace ${signed.subject.namespace}` : ''}` : '';
  ctx.note(`wrote ${dir}/{ca,cert,key}.pem: a client certificate for ${who}, valid until ${signed.notAfter} (eval "$(tsctl docker-host --tcp ${formatTcpAddress(address)})")`);
}

export const dockerServeCommand: Command = {
  name: 'docker-serve',
  usage: 'tsctl docker-serve [--socket PATH] [--group GROUP] [--tcp HOST:PORT] [-n NAMESPACE]',
  summary: 'serve the Docker Engine API (a subset of v1.41) on a unix socket, and with --tcp on TCP with mutual TLS: docker clients run containers as Tide services',
  options: [SOCKET_OPTION, { long: 'group', help: 'the socket\'s group (as dockerd\'s -G docker): its members may use it (default: this process\'s group)' }, TCP_OPTION, NAMESPACE_OPTION],
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`docker-serve takes no arguments, got "${ctx.args.join(' ')}"`);
    const socket = defaultSocket(ctx);
    const group = ctx.options.has('group') ? groupId(ctx.options.get('group')!) : undefined;
    const tcp = ctx.options.has('tcp') ? parseTcpAddress(ctx.options.get('tcp')!) : undefined;
    // The credential is checked now: a wrong one is this command's error, not every docker call's.
    const who = await ctx.api.get<{ name: string }>('/api/v1/whoami');
    await clearStaleSocket(socket);
    const dockerApiFor = (api: ApiClient) => new DockerApi(new ContainerVerbs(new TideContainers(api, namespaceOf(ctx))), new SystemInfo(api));
    const api = dockerApiFor(ctx.api);
    // TCP first: the socket appearing tells "tsctl up --docker" that both listen.
    const tcpServer = tcp ? await serveTcp(ctx, tcp, dockerApiFor) : undefined;
    const server = http.createServer(api.handle);
    server.on('upgrade', api.handleUpgrade);
    await listenPrivately(server, socket);
    if (group !== undefined) fs.chownSync(socket, -1, group);
    ctx.note(`serving the Docker API on unix://${socket}${tcp ? ` and tcp://${formatTcpAddress(tcp)} (mutual TLS)` : ''} for ${ctx.api.server} as ${who.name}, namespace ${namespaceOf(ctx)}`);
    const removed = await api.verbs.adoptAutoRemoved().catch((error: Error) => ctx.note(`warning: could not look for --rm containers left behind: ${error.message}`));
    if (removed) ctx.note(`removed ${removed} --rm container(s) that exited while no server ran`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    tcpServer?.close();
    server.close();
    server.closeAllConnections();
    fs.rmSync(socket, { force: true });
  },
};

async function serveTcp(ctx: CommandContext, address: TcpAddress, dockerApiFor: (api: ApiClient) => DockerApi): Promise<TcpDockerServer> {
  const names = servingNames(address.host, os.hostname(), machineAddresses());
  const server = new TcpDockerServer(await issueServingCertificate(ctx.api, names), ctx.api, dockerApiFor);
  await server.listen(address);
  server.keepRenewed(() => issueServingCertificate(ctx.api, names), (line) => ctx.note(line));
  return server;
}

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
