/**
 * The cluster's registry as the control plane holds it: either the embedded one (Debian's
 * docker-registry, supervised like etcd, storage in STATE/registry, TLS and token signer from
 * STATE/pki, its token realm this control plane's `/v2/token`), or an existing one given with
 * `--registry`. It also issues the registry tokens: for clients through `/v2/token`, and for agents
 * when the control plane has them pull or push on a user's behalf.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Subject } from '@tide/auth';
import { subjectName } from '@tide/auth';
import { ClusterPki, controlPlaneServerNames, ensureRegistryPki } from '@tide/pki';
import { AccessEntry, RegistrySupervisor, RegistryTokenSigner, grantAccess } from '@tide/registry';

export const REGISTRY_SERVICE = 'tide-registry';
export const REGISTRY_ISSUER = 'tide-control-plane';
/** Registry tokens are short: long enough for a big layer's push, as Docker Hub's (300 s). */
export const REGISTRY_TOKEN_TTL_SECONDS = 300;

export interface RegistrySettings {
  /** Embedded: the registry's listen address. */
  listen?: { host: string; port: number };
  /** Existing: `host:port` of a registry the cluster uses instead. */
  external?: { address: string; caFile?: string };
}

export interface RegistryInfo {
  address: string;
  /** The CA file that verifies the registry (the cluster CA's for the embedded one); absent: the system's roots. */
  caFile?: string;
  embedded: boolean;
}

export class ClusterRegistry {
  private readonly supervisor?: RegistrySupervisor;
  private readonly signer?: RegistryTokenSigner;
  private readonly ca?: string;

  /** `signer`: this control plane issues the registry's tokens; `ca`: PEM verifying the registry; `supervisor`: the embedded process. */
  constructor(readonly info: RegistryInfo, parts: { signer?: RegistryTokenSigner; ca?: string; supervisor?: RegistrySupervisor } = {}) {
    this.signer = parts.signer;
    this.ca = parts.ca;
    this.supervisor = parts.supervisor;
  }

  /** The embedded registry: certificates, then the supervised process (returns once it answers). */
  static async startEmbedded(options: {
    listen: { host: string; port: number }; stateDir: string; pki: ClusterPki; realm: string; log: (line: string) => void;
  }): Promise<ClusterRegistry> {
    const { listen, pki } = options;
    const names = controlPlaneServerNames(os.hostname(), [listen.host]);
    const issued = await ensureRegistryPki({ dir: pki.layout.dir, ca: pki.ca, serverNames: names });
    const made = Object.entries(issued.actions).filter(([, action]) => action !== 'kept');
    if (made.length > 0) options.log(`registry certificates in ${pki.layout.dir}: ${made.map(([what, action]) => `${what} ${action}`).join(', ')}`);
    const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
    const supervisor = new RegistrySupervisor({
      dir: path.join(options.stateDir, 'registry'), listen: `${listen.host}:${listen.port}`,
      logFile: path.join(options.stateDir, 'registry.log'), log: options.log,
      tls: { certificate: issued.layout.serverCertificate, key: issued.layout.serverKey, ca: pki.layout.caCertificate },
      auth: { realm: options.realm, service: REGISTRY_SERVICE, issuer: REGISTRY_ISSUER, rootCertBundle: issued.layout.tokenCertificate },
    });
    await supervisor.start();
    const signer = new RegistryTokenSigner({ keyPem: fs.readFileSync(issued.layout.tokenKey, 'utf8'), certificatePem: fs.readFileSync(issued.layout.tokenCertificate, 'utf8') });
    return new ClusterRegistry({ address: `${host}:${listen.port}`, caFile: pki.layout.caCertificate, embedded: true }, { signer, ca: pki.ca.certificatePem, supervisor });
  }

  static external(address: string, caFile: string | undefined): ClusterRegistry {
    return new ClusterRegistry({ address, ...(caFile ? { caFile } : {}), embedded: false }, caFile ? { ca: fs.readFileSync(caFile, 'utf8') } : {});
  }

  /** PEM of the CA that verifies the registry, when it is not the system's. */
  caPem(): string | undefined {
    return this.ca;
  }

  /** Whether this control plane issues the registry's tokens (the embedded registry). */
  issuesTokens(): boolean {
    return this.signer !== undefined;
  }

  /** A token granting `subject` what it may of `requested` (possibly nothing: the registry then refuses). */
  issueToken(subject: Subject, requested: AccessEntry[]): { token: string; expiresIn: number; issuedAt: string; access: AccessEntry[] } {
    if (!this.signer) throw new Error('this cluster uses an external registry: its tokens come from that registry');
    const access = grantAccess(subject, requested);
    const issued = this.signer.issue({ issuer: REGISTRY_ISSUER, audience: REGISTRY_SERVICE, subject: subjectName(subject), access, ttlSeconds: REGISTRY_TOKEN_TTL_SECONDS });
    return { ...issued, access };
  }

  async stop(): Promise<void> {
    await this.supervisor?.stop();
  }
}
