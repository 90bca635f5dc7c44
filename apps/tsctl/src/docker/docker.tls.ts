/**
 * The TLS of the Docker API on TCP (`tsctl docker-serve --tcp`, `tsctl docker-host --tcp`): the listen
 * address, the names docker-serve's serving certificate is for, the certificates the control plane
 * signs (the keys are made here and never leave this machine), and the files and variables the
 * docker client reads (DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DOCKER_SERVE_NAME, userIdentity, type Subject } from '@tide/auth';
import { createCertificateRequest } from '@tide/pki';
import type { ApiClient } from '../api/api.client';
import { UsageError } from '../cli/args';
import { CommandError } from '../commands/command';

export interface TcpAddress {
  host: string;
  port: number;
}

/** `HOST:PORT` or `[IPv6]:PORT`; the flag is named in every refusal. */
export function parseTcpAddress(text: string, flag = '--tcp'): TcpAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag}: "${text}" is not HOST:PORT (e.g. 127.0.0.1:2376, 0.0.0.0:2376, [::1]:2376)`);
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw new UsageError(`${flag}: port ${match[3]} is not between 1 and 65535`);
  const host = match[1] ?? match[2];
  if (match[1] !== undefined && net.isIPv6(host) === false) throw new UsageError(`${flag}: "${host}" is not an IPv6 address`);
  return { host, port };
}

/** DOCKER_HOST's form: IPv6 in brackets. */
export function formatTcpAddress(address: TcpAddress): string {
  return `${net.isIPv6(address.host) ? `[${address.host}]` : address.host}:${address.port}`;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * The names the serving certificate must hold for the clients to verify it: the host listened on, or
 * for a wildcard every name a client may dial (this machine's name, localhost, each address of it).
 */
export function servingNames(host: string, hostname: string, addresses: readonly string[]): string[] {
  if (!WILDCARDS.has(host)) return host === '127.0.0.1' || host === '::1' ? [host, 'localhost'] : [host];
  return [...new Set(['localhost', hostname, ...addresses])];
}

export function machineAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')));
}

export interface SignedCertificate {
  certificate: string;
  ca: string;
  notAfter: string;
  key: string;
}

/** docker-serve's serving certificate, signed by the cluster CA (the admin role may ask for one). */
export async function issueServingCertificate(api: ApiClient, names: string[]): Promise<SignedCertificate> {
  const request = await createCertificateRequest({ commonName: DOCKER_SERVE_NAME, organizations: [] }, {
    dnsNames: names.filter((n) => net.isIP(n) === 0), ipAddresses: names.filter((n) => net.isIP(n) !== 0),
  });
  const signed = await api.request<Omit<SignedCertificate, 'key'>>('POST', '/api/v1/certificates/serving', { csr: request.csrPem, names }).catch((error: Error & { status?: number }) => {
    if (error.status === 403) throw new CommandError(`--tcp: serving the Docker API on TCP needs a serving certificate of the cluster CA, which only the admin role may ask for (${error.message})`);
    throw error;
  });
  return { ...signed, key: request.key.toPem() };
}

/** A client certificate naming the caller exactly as its credential does (name, role, namespace). */
export async function issueUserCertificate(api: ApiClient): Promise<SignedCertificate & { subject: Subject }> {
  const { subject } = await api.get<{ subject: Subject }>('/api/v1/whoami');
  if (subject.kind !== 'user') throw new CommandError(`docker-host --tcp: a client certificate is for users; this credential is a ${subject.kind}'s`);
  const request = await createCertificateRequest(userIdentity(subject));
  const signed = await api.request<Omit<SignedCertificate, 'key'>>('POST', '/api/v1/certificates/user', { csr: request.csrPem });
  return { ...signed, key: request.key.toPem(), subject };
}

/**
 * The directory the docker client reads with DOCKER_CERT_PATH. One named with --cert-dir must exist
 * (a typo would otherwise scatter keys); the default is made, the owner's only.
 */
export function certificateDirectory(given: string | undefined, fallback: string): string {
  if (given === undefined) {
    fs.mkdirSync(fallback, { recursive: true, mode: 0o700 });
    return fallback;
  }
  const dir = path.resolve(given);
  if (!fs.existsSync(dir)) throw new UsageError(`--cert-dir: ${dir} does not exist: create it (mkdir -m 700 ${given}) or leave --cert-dir out for ${fallback}`);
  if (!fs.statSync(dir).isDirectory()) throw new UsageError(`--cert-dir: ${dir} is not a directory`);
  return dir;
}

/** ca.pem, cert.pem and key.pem (0600 from the first byte: created with the mode, never widened). */
export function writeClientFiles(dir: string, signed: SignedCertificate): void {
  fs.writeFileSync(path.join(dir, 'ca.pem'), signed.ca, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'cert.pem'), signed.certificate, { mode: 0o644 });
  const keyFile = path.join(dir, 'key.pem');
  fs.rmSync(keyFile, { force: true }); // an old file keeps its old mode: make a new one
  fs.writeFileSync(keyFile, signed.key, { mode: 0o600, flag: 'wx' });
  fs.chmodSync(keyFile, 0o600);
}

/** What the docker client reads, as lines a shell can eval. */
export function dockerTlsEnvironment(address: TcpAddress, dir: string): string[] {
  return [`export DOCKER_HOST=tcp://${formatTcpAddress(address)}`, 'export DOCKER_TLS_VERIFY=1', `export DOCKER_CERT_PATH=${dir}`];
}
