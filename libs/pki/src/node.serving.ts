import { join } from 'node:path';
import { describeCertificate } from './certificate.info';
import { coversNames, ensureLeaf, exists, livesAtMost } from './cluster.pki';
import { NODE_NAME_PREFIX } from './identity';
import { issueServerCertificate, type CertificateAuthority } from './issue';
import { nodePkiFs, readCertificateFile, writeCertificateFile, type PkiFs } from './pem.files';

/**
 * A node agent's HTTPS files (`NODE_STATE/pki/`, the agent's defaults for --tls-cert-file,
 * --tls-private-key-file and --client-ca-file): its serving certificate and the cluster CA.
 */
export interface NodeServingLayout {
  dir: string;
  certificate: string;
  key: string;
  caCertificate: string;
}

export function nodeServingLayout(nodeStateDir: string): NodeServingLayout {
  const dir = join(nodeStateDir, 'pki');
  return { dir, certificate: join(dir, 'serving.crt'), key: join(dir, 'serving.key'), caCertificate: join(dir, 'ca.crt') };
}

/**
 * Issues a node's serving certificate (CN `system:node:<name>`, as the kubelet's, serverAuth for
 * its addresses) from the CA where `tsctl up` runs the node, or keeps a good one, and puts the CA
 * next to it. The control plane checks both the address and the name when it calls the agent.
 */
export async function ensureNodeServingCertificate(options: {
  nodeStateDir: string; nodeName: string; addresses: string[]; ca: CertificateAuthority; validityMs?: number; now?: Date; fs?: PkiFs;
}): Promise<{ layout: NodeServingLayout; action: 'issued' | 'kept' }> {
  const fs = options.fs ?? nodePkiFs;
  const now = options.now ?? new Date();
  const layout = nodeServingLayout(options.nodeStateDir);
  await fs.mkdir(layout.dir, 0o700);
  const commonName = `${NODE_NAME_PREFIX}${options.nodeName}`;
  const names = { dnsNames: [], ipAddresses: options.addresses };
  const caPresent = await exists(layout.caCertificate, fs) && await readCertificateFile(layout.caCertificate, fs) === options.ca.certificatePem;
  if (!caPresent) await writeCertificateFile(layout.caCertificate, options.ca.certificatePem, fs);
  const action = await ensureLeaf(layout.certificate, layout.key, options.ca, fs, now,
    (pem) => coversNames(pem, names) && describeCertificate(pem).identity.commonName === commonName && livesAtMost(pem, options.validityMs),
    () => issueServerCertificate(options.ca, { commonName, ipAddresses: options.addresses, validityMs: options.validityMs, now }));
  return { layout, action };
}
