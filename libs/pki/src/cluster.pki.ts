import { join } from 'node:path';
import { PkiError } from './errors';
import { controlPlaneIdentity } from './identity';
import { describeCertificate } from './certificate.info';
import { createCertificateAuthority } from './ca';
import { BACKDATE_MS, issueClientCertificate, issueServerCertificate, type CertificateAuthority, type IssuedCertificate } from './issue';
import {
  nodePkiFs, readCertificateAuthorityFiles, readCertificateFile, readKeyFile, writeCertificateAndKey, type PkiFs,
} from './pem.files';
import { renewalDecision, verifyIssuedBy } from './validity';

/**
 * Where a cluster keeps its certificates (`STATE/pki/`, docs/ARCHITECTURE.md): keys 0600,
 * certificates 0644. `tsctl up` makes them; the control plane reads them (and makes what is missing).
 */
export interface ClusterPkiLayout {
  dir: string;
  /** The cluster CA: it signs every other certificate, and every Tide process trusts it. */
  caCertificate: string;
  caKey: string;
  /** The control plane's serving certificate: the HTTPS API (and the agents' gRPC endpoint). */
  serverCertificate: string;
  serverKey: string;
  /** The control plane's client certificate (CN system:tide-control-plane, O system:masters): towards agents and etcd. */
  clientCertificate: string;
  clientKey: string;
}

export function clusterPkiLayout(dir: string): ClusterPkiLayout {
  return {
    dir,
    caCertificate: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCertificate: join(dir, 'control-plane.crt'),
    serverKey: join(dir, 'control-plane.key'),
    clientCertificate: join(dir, 'control-plane-client.crt'),
    clientKey: join(dir, 'control-plane-client.key'),
  };
}

export interface ServerNames {
  dnsNames: string[];
  ipAddresses: string[];
}

export interface EnsureClusterPkiOptions {
  dir: string;
  /** The names the API is reached by: the serving certificate must carry every one of them. */
  serverNames: ServerNames;
  /** `--ca-cert` / `--ca-key`: the CA to use instead of making one (copied into the layout). */
  externalCa?: { certificate: string; key: string };
  /** Lifetime of the leaves it issues (default libs/pki's, a year); a leaf that lives longer is issued again. */
  validityMs?: number;
  now?: Date;
  fs?: PkiFs;
}

/** What ensureClusterPki did, one word per file pair, for the caller to report (never a key). */
export interface ClusterPki {
  layout: ClusterPkiLayout;
  ca: CertificateAuthority;
  actions: { ca: 'created' | 'imported' | 'kept'; server: 'issued' | 'kept'; client: 'issued' | 'kept' };
}

/**
 * Makes the cluster's certificates, or keeps those that are still good: the CA (made, imported from
 * `externalCa`, or the one already there: a different external CA is refused, since every issued
 * certificate hangs on it), the serving certificate (issued again when it is missing, not from this
 * CA, due for renewal, or lacks one of `serverNames`; issued again with the names it had as well,
 * since control planes sharing the directory each add theirs) and the control plane's client certificate
 * (same, without names). Idempotent: running it on a finished layout writes nothing.
 */
export async function ensureClusterPki(options: EnsureClusterPkiOptions): Promise<ClusterPki> {
  const fs = options.fs ?? nodePkiFs;
  const now = options.now ?? new Date();
  const layout = clusterPkiLayout(options.dir);
  await fs.mkdir(layout.dir, 0o700);
  const { ca, action } = await ensureCa(layout, options.externalCa, fs, now);
  const { validityMs } = options;
  // Several control planes share this file: one that issues it again keeps the names of the others.
  const names = withNames(options.serverNames, await namesOfOwnLeaf(layout.serverCertificate, ca, fs, now));
  const server = await ensureLeaf(layout.serverCertificate, layout.serverKey, ca, fs, now, (pem) => coversNames(pem, options.serverNames) && livesAtMost(pem, validityMs),
    () => issueServerCertificate(ca, { commonName: 'tide-control-plane', ...names, validityMs, now }));
  const client = await ensureLeaf(layout.clientCertificate, layout.clientKey, ca, fs, now, (pem) => livesAtMost(pem, validityMs),
    () => issueClientCertificate(ca, controlPlaneIdentity(), { validityMs, now }));
  return { layout, ca, actions: { ca: action, server, client } };
}

async function ensureCa(
  layout: ClusterPkiLayout, external: EnsureClusterPkiOptions['externalCa'], fs: PkiFs, now: Date,
): Promise<{ ca: CertificateAuthority; action: ClusterPki['actions']['ca'] }> {
  const present = await exists(layout.caCertificate, fs);
  if (external) {
    const given = await readCertificateAuthorityFiles(external.certificate, external.key, fs, now);
    if (present) {
      const kept = await readCertificateAuthorityFiles(layout.caCertificate, layout.caKey, fs, now);
      if (describeCertificate(kept.certificatePem).fingerprint !== describeCertificate(given.certificatePem).fingerprint) {
        throw new PkiError(`${external.certificate}: this cluster already has another CA in ${layout.caCertificate}; every certificate of the cluster hangs on it (remove ${layout.dir} to start over with this CA)`);
      }
      return { ca: kept, action: 'kept' };
    }
    await writeCertificateAndKey({ certificate: layout.caCertificate, key: layout.caKey }, given, fs);
    return { ca: given, action: 'imported' };
  }
  if (present) return { ca: await readCertificateAuthorityFiles(layout.caCertificate, layout.caKey, fs, now), action: 'kept' };
  const ca = await createCertificateAuthority({ now });
  await writeCertificateAndKey({ certificate: layout.caCertificate, key: layout.caKey }, ca, fs);
  return { ca, action: 'created' };
}

export async function ensureLeaf(
  certificatePath: string, keyPath: string, ca: CertificateAuthority, fs: PkiFs, now: Date,
  fits: (pem: string) => boolean, issue: () => Promise<IssuedCertificate>,
): Promise<'issued' | 'kept'> {
  if (await exists(certificatePath, fs) && await exists(keyPath, fs)) {
    const pem = await readCertificateFile(certificatePath, fs);
    await readKeyFile(keyPath, fs); // a key other users can read is refused here, not silently replaced
    if (verifyIssuedBy(pem, ca.certificatePem, { now }).ok && !renewalDecision(pem, now).renew && fits(pem)) return 'kept';
  }
  await writeCertificateAndKey({ certificate: certificatePath, key: keyPath }, await issue(), fs);
  return 'issued';
}

/**
 * Whether a leaf lives no longer than `validityMs` (with issueCertificate's backdating): a lifetime
 * shortened by the operator takes effect at the next check instead of after the old, longer one.
 */
export function livesAtMost(pem: string, validityMs: number | undefined): boolean {
  if (validityMs === undefined) return true;
  const { notBefore, notAfter } = describeCertificate(pem);
  return notAfter.getTime() - notBefore.getTime() <= validityMs + BACKDATE_MS;
}

/** The names of a certificate this CA issued at `path`, if there is one (a stranger's names are not carried over). */
async function namesOfOwnLeaf(path: string, ca: CertificateAuthority, fs: PkiFs, now: Date): Promise<ServerNames | undefined> {
  if (!(await exists(path, fs))) return undefined;
  const pem = await readCertificateFile(path, fs);
  if (!verifyIssuedBy(pem, ca.certificatePem, { now }).ok) return undefined;
  const { dnsNames, ipAddresses } = describeCertificate(pem);
  return { dnsNames, ipAddresses };
}

/** `wanted`, then those of `kept` it lacks. */
function withNames(wanted: ServerNames, kept: ServerNames | undefined): ServerNames {
  if (!kept) return wanted;
  const dns = new Set(wanted.dnsNames.map((name) => name.toLowerCase()));
  return {
    dnsNames: [...wanted.dnsNames, ...kept.dnsNames.filter((name) => !dns.has(name.toLowerCase()))],
    ipAddresses: [...new Set([...wanted.ipAddresses, ...kept.ipAddresses])],
  };
}

export function coversNames(pem: string, wanted: ServerNames): boolean {
  const info = describeCertificate(pem);
  const dns = new Set(info.dnsNames.map((name) => name.toLowerCase()));
  const ips = new Set(info.ipAddresses);
  return wanted.dnsNames.every((name) => dns.has(name.toLowerCase())) && wanted.ipAddresses.every((address) => ips.has(address));
}

export async function exists(path: string, fs: PkiFs): Promise<boolean> {
  try {
    await fs.mode(path);
    return true;
  } catch {
    return false;
  }
}

/** The names the serving certificate carries (for the API's Host check): DNS names, then addresses. */
export function certificateNames(certificatePem: string): string[] {
  const info = describeCertificate(certificatePem);
  return [...info.dnsNames, ...info.ipAddresses];
}

/**
 * The names a control plane on this machine is reached by: loopback, `localhost`, the host's name,
 * and the listen address (unless it is a wildcard, which is no name). IPv6 wildcard included.
 */
export function controlPlaneServerNames(hostname: string, listenHosts: readonly string[]): ServerNames {
  const dnsNames = new Set(['localhost']);
  const ipAddresses = new Set(['127.0.0.1']);
  const host = hostname.toLowerCase();
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host)) dnsNames.add(host);
  for (const listen of listenHosts) {
    const bare = listen.replace(/^\[(.*)\]$/, '$1');
    if (bare === '0.0.0.0' || bare === '::' || bare === '') continue;
    if (/^[0-9.]+$/.test(bare) || bare.includes(':')) ipAddresses.add(bare);
    else dnsNames.add(bare.toLowerCase());
  }
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}
