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
import {
  CertificateAuthority, ClusterPki, checkValidity, controlPlaneServerNames, ensureRegistryPki, registryPkiLayout, writeCertificateFile, type ServerNames,
} from '@tide/pki';
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

/** What the embedded registry needs to renew its certificates in place. */
interface EmbeddedPki {
  dir: string;
  names: ServerNames;
  /** The file given as the registry's `rootcertbundle`: the token signer's certificate, and the previous one after a renewal. */
  bundle: string;
  validityMs?: number;
}

export class ClusterRegistry {
  private readonly supervisor?: RegistrySupervisor;
  private signer?: RegistryTokenSigner;
  private readonly ca?: string;
  private embeddedPki?: EmbeddedPki;

  /** `signer`: this control plane issues the registry's tokens; `ca`: PEM verifying the registry; `supervisor`: the embedded process. */
  constructor(readonly info: RegistryInfo, parts: { signer?: RegistryTokenSigner; ca?: string; supervisor?: RegistrySupervisor } = {}) {
    this.signer = parts.signer;
    this.ca = parts.ca;
    this.supervisor = parts.supervisor;
  }

  /** The embedded registry: certificates, then the supervised process (returns once it answers). */
  static async startEmbedded(options: {
    listen: { host: string; port: number }; stateDir: string; pki: ClusterPki; realm: string; log: (line: string) => void; validityMs?: number;
  }): Promise<ClusterRegistry> {
    const { listen, pki } = options;
    const names = controlPlaneServerNames(os.hostname(), [listen.host]);
    const issued = await ensureRegistryPki({ dir: pki.layout.dir, ca: pki.ca, serverNames: names, validityMs: options.validityMs });
    const made = Object.entries(issued.actions).filter(([, action]) => action !== 'kept');
    if (made.length > 0) options.log(`registry certificates in ${pki.layout.dir}: ${made.map(([what, action]) => `${what} ${action}`).join(', ')}`);
    const bundle = path.join(pki.layout.dir, 'registry-token-bundle.crt');
    await writeCertificateFile(bundle, fs.readFileSync(issued.layout.tokenCertificate, 'utf8'));
    const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
    const supervisor = new RegistrySupervisor({
      dir: path.join(options.stateDir, 'registry'), listen: `${listen.host}:${listen.port}`,
      logFile: path.join(options.stateDir, 'registry.log'), log: options.log,
      tls: { certificate: issued.layout.serverCertificate, key: issued.layout.serverKey, ca: pki.layout.caCertificate },
      auth: { realm: options.realm, service: REGISTRY_SERVICE, issuer: REGISTRY_ISSUER, rootCertBundle: bundle },
    });
    await supervisor.start();
    const registry = new ClusterRegistry({ address: `${host}:${listen.port}`, caFile: pki.layout.caCertificate, embedded: true }, { ca: pki.ca.certificatePem, supervisor });
    registry.embeddedPki = { dir: pki.layout.dir, names, bundle, ...(options.validityMs !== undefined ? { validityMs: options.validityMs } : {}) };
    registry.loadSigner();
    return registry;
  }

  /** The embedded registry's certificate files, for the rotation loop to watch (none for an external registry). */
  certificateFiles(): Array<{ what: string; file: string }> {
    if (!this.embeddedPki) return [];
    const layout = registryPkiLayout(this.embeddedPki.dir);
    return [{ what: 'registry serving certificate', file: layout.serverCertificate }, { what: 'registry token signer certificate', file: layout.tokenCertificate }];
  }

  /**
   * Issues the embedded registry's certificates again when due. distribution 2.8 reads its TLS
   * files and its token bundle once, at start (checked: a connection after the files changed still
   * got the old serial), so after a renewal its supervisor restarts it: the control plane keeps
   * running, and a request in flight at that moment fails and is retried by its client. Tokens
   * signed with the previous key stay good until they expire: the bundle keeps its certificate.
   */
  async renewCertificates(ca: CertificateAuthority): Promise<void> {
    const pki = this.embeddedPki;
    if (!pki || !this.supervisor) return;
    const layout = registryPkiLayout(pki.dir);
    const previousToken = fs.readFileSync(layout.tokenCertificate, 'utf8');
    const issued = await ensureRegistryPki({ dir: pki.dir, ca, serverNames: pki.names, validityMs: pki.validityMs });
    if (issued.actions.server === 'kept' && issued.actions.token === 'kept') return;
    const token = fs.readFileSync(layout.tokenCertificate, 'utf8');
    const keepPrevious = issued.actions.token === 'issued' && checkValidity(previousToken).ok;
    await writeCertificateFile(pki.bundle, keepPrevious ? `${token.trimEnd()}\n${previousToken}` : token);
    this.loadSigner();
    await this.supervisor.restart();
  }

  private loadSigner(): void {
    const layout = registryPkiLayout(this.embeddedPki!.dir);
    this.signer = new RegistryTokenSigner({ keyPem: fs.readFileSync(layout.tokenKey, 'utf8'), certificatePem: fs.readFileSync(layout.tokenCertificate, 'utf8') });
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
