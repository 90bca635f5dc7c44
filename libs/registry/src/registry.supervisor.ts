/**
 * Starts and supervises Debian's `docker-registry` (the CNCF distribution registry, 2.8) for a
 * cluster, as the control plane does etcd: storage and config under the state dir, TLS with a
 * certificate of the cluster CA, the registry's token auth pointing at the control plane's token
 * endpoint and trusting only the token signer's certificate; restarted when it dies, stopped with its owner.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RegistryError } from './errors';
import { Transport, discard } from './http';

export interface RegistrySupervisorOptions {
  /** Config, storage (`data/`) and the log live here. */
  dir: string;
  /** `host:port` to listen on. */
  listen: string;
  tls: { certificate: string; key: string; ca: string };
  auth: {
    /** The token endpoint (`https://host:port/v2/token`). */
    realm: string;
    service: string;
    issuer: string;
    /** PEM file of the certificate(s) whose keys may sign tokens. */
    rootCertBundle: string;
  };
  binary?: string;
  logFile?: string;
  log?: (line: string) => void;
}

export const REGISTRY_BINARY = 'docker-registry';

/** The registry's configuration (JSON is YAML, so the registry reads it as it is). */
export function registryConfig(options: RegistrySupervisorOptions): object {
  return {
    version: 0.1,
    log: { level: 'info', formatter: 'text', fields: { service: 'registry' } },
    storage: { filesystem: { rootdirectory: path.join(options.dir, 'data') }, delete: { enabled: true }, cache: { blobdescriptor: 'inmemory' } },
    http: {
      addr: options.listen,
      // Only used to sign upload state between instances; one instance, so a fresh one per start does.
      secret: randomBytes(24).toString('hex'),
      tls: { certificate: options.tls.certificate, key: options.tls.key },
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    },
    auth: { token: { realm: options.auth.realm, service: options.auth.service, issuer: options.auth.issuer, rootcertbundle: options.auth.rootCertBundle } },
  };
}

export class RegistrySupervisor {
  private child?: ChildProcess;
  private stopping = false;
  readonly configFile: string;

  constructor(private readonly options: RegistrySupervisorOptions) {
    this.configFile = path.join(options.dir, 'config.yml');
  }

  get address(): string {
    return this.options.listen;
  }

  /** The registry process running now, if any. */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    fs.mkdirSync(path.join(this.options.dir, 'data'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.configFile, `${JSON.stringify(registryConfig(this.options), null, 2)}\n`, { mode: 0o600 });
    this.spawn();
    await waitRegistryUp(this.options.listen, fs.readFileSync(this.options.tls.ca, 'utf8'), timeoutMs, () => this.exitedEarly());
  }

  private lastExit?: string;

  private exitedEarly(): string | undefined {
    return this.lastExit;
  }

  private spawn(): void {
    const log = fs.openSync(this.options.logFile ?? path.join(this.options.dir, 'registry.log'), 'a');
    const child = spawn(this.options.binary ?? REGISTRY_BINARY, ['serve', this.configFile], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child = child;
    child.on('error', (error) => {
      this.lastExit = `${this.options.binary ?? REGISTRY_BINARY}: ${error.message} (install Debian's docker-registry: bash scripts/setup.sh)`;
    });
    child.on('exit', (code, signal) => {
      this.lastExit = `the registry exited (${code ?? signal}); see ${this.options.logFile ?? path.join(this.options.dir, 'registry.log')}`;
      if (this.stopping) return;
      this.options.log?.(`${this.lastExit}; restarting in 1 s`);
      setTimeout(() => !this.stopping && this.spawn(), 1000);
    });
  }

  /** Stops the registry and starts it again (its files were renewed: it reads them at start only). */
  async restart(timeoutMs = 20_000): Promise<void> {
    await this.stop();
    this.stopping = false;
    this.lastExit = undefined;
    await this.start(timeoutMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Waits until the registry answers `/v2/` over TLS with the CA (200, or the 401 asking for a token: it is up). */
export async function waitRegistryUp(address: string, ca: string, timeoutMs: number, failed: () => string | undefined = () => undefined): Promise<void> {
  const transport = new Transport({ ca, connectTimeoutMs: 1000, idleTimeoutMs: 2000 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      let reason: string;
      try {
        const response = await transport.send({ method: 'GET', url: `https://${address}/v2/`, what: `checking the registry at ${address}`, deadlineMs: 2000 });
        await discard(response);
        if (response.statusCode === 200 || response.statusCode === 401) return;
        reason = `it answered ${response.statusCode}`;
      } catch (error) {
        reason = (error as Error).message;
      }
      const dead = failed();
      if (dead) throw new RegistryError('Unreachable', dead);
      if (Date.now() > deadline) throw new RegistryError('Timeout', `the registry at ${address} did not answer within ${timeoutMs} ms: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await transport.close();
  }
}
