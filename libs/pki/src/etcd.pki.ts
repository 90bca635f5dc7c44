import { join } from 'node:path';
import { createCertificateAuthority } from './ca';
import { describeCertificate } from './certificate.info';
import { coversNames, ensureLeaf, exists, livesAtMost, type ServerNames } from './cluster.pki';
import { controlPlaneIdentity } from './identity';
import { issueClientCertificate, issueServerCertificate, type CertificateAuthority } from './issue';
import { nodePkiFs, readCertificateAuthorityFiles, writeCertificateAndKey, type PkiFs } from './pem.files';

/**
 * etcd's certificates (`PKI/etcd/`, as kubeadm's `etcd/`): a CA of its own, so that no certificate
 * of the cluster CA (a node's, an administrator's) is taken by etcd; the serving and peer
 * certificates of the members; and the one client certificate etcd accepts, the control plane's.
 */
export interface EtcdPkiLayout {
  dir: string;
  caCertificate: string;
  caKey: string;
  /**
   * Client URLs (`--cert-file`/`--key-file`): serverAuth and clientAuth, as kubeadm's, since etcd's
   * gRPC gateway dials its own client URL with it (without clientAuth etcd refuses itself, logging
   * "incompatible key usage", and its HTTP gateway stays down).
   */
  serverCertificate: string;
  serverKey: string;
  /** Peer URLs, both ends (`--peer-cert-file`/`--peer-key-file`): serverAuth and clientAuth. */
  peerCertificate: string;
  peerKey: string;
  /** The control plane's etcd client certificate (CN system:tide-control-plane), the only client etcd lets in. */
  clientCertificate: string;
  clientKey: string;
}

export function etcdPkiLayout(pkiDir: string): EtcdPkiLayout {
  const dir = join(pkiDir, 'etcd');
  return {
    dir,
    caCertificate: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCertificate: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    peerCertificate: join(dir, 'peer.crt'),
    peerKey: join(dir, 'peer.key'),
    clientCertificate: join(dir, 'control-plane-client.crt'),
    clientKey: join(dir, 'control-plane-client.key'),
  };
}

/** What a local etcd answers to: loopback by name and address. */
export const LOCAL_ETCD_NAMES: ServerNames = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };

export interface EnsureEtcdPkiOptions {
  /** The cluster's pki dir; etcd's go to its `etcd/` subdirectory. */
  pkiDir: string;
  /** The names and addresses the members are reached by (default loopback). */
  names?: ServerNames;
  /** Lifetime of the leaves (default a year); the etcd CA keeps libs/pki's ten years. */
  validityMs?: number;
  now?: Date;
  fs?: PkiFs;
}

/** Makes etcd's certificates, or keeps those still good (same rules as ensureClusterPki). Idempotent. */
export async function ensureEtcdPki(options: EnsureEtcdPkiOptions): Promise<{ layout: EtcdPkiLayout; issued: string[] }> {
  const fs = options.fs ?? nodePkiFs;
  const now = options.now ?? new Date();
  const names = options.names ?? LOCAL_ETCD_NAMES;
  const layout = etcdPkiLayout(options.pkiDir);
  await fs.mkdir(layout.dir, 0o700);
  const issued: string[] = [];
  let ca: CertificateAuthority;
  if (await exists(layout.caCertificate, fs)) {
    ca = await readCertificateAuthorityFiles(layout.caCertificate, layout.caKey, fs, now);
  } else {
    ca = await createCertificateAuthority({ commonName: 'tide-etcd-ca', now });
    await writeCertificateAndKey({ certificate: layout.caCertificate, key: layout.caKey }, ca, fs);
    issued.push('ca');
  }
  const { validityMs } = options;
  const lives = (pem: string) => livesAtMost(pem, validityMs);
  const fits = (pem: string) => coversNames(pem, names) && lives(pem);
  // One issued before the server certificate was also a client's is issued again.
  const fitsBoth = (pem: string) => fits(pem) && describeCertificate(pem).extendedKeyUsages.includes('clientAuth');
  const leaves: Array<[string, string, string, (pem: string) => boolean, () => ReturnType<typeof issueServerCertificate>]> = [
    ['server', layout.serverCertificate, layout.serverKey, fitsBoth, () => issueServerCertificate(ca, { commonName: 'tide-etcd', ...names, alsoClient: true, validityMs, now })],
    ['peer', layout.peerCertificate, layout.peerKey, fits, () => issueServerCertificate(ca, { commonName: 'tide-etcd-peer', ...names, alsoClient: true, validityMs, now })],
    ['client', layout.clientCertificate, layout.clientKey, lives, () => issueClientCertificate(ca, controlPlaneIdentity(), { validityMs, now })],
  ];
  for (const [what, certificate, key, check, issue] of leaves) {
    if (await ensureLeaf(certificate, key, ca, fs, now, check, issue) === 'issued') issued.push(what);
  }
  return { layout, issued };
}
