import { join } from 'node:path';
import { ensureLeaf, coversNames, livesAtMost, type ServerNames } from './cluster.pki';
import { issueClientCertificate, issueServerCertificate, type CertificateAuthority } from './issue';
import { nodePkiFs, type PkiFs } from './pem.files';

/**
 * The embedded registry's certificates, beside the cluster's in `STATE/pki/`: its serving certificate
 * (from the cluster CA, so every Tide client and skopeo with the CA file trust it) and the token
 * signer's, whose certificate alone is the registry's `rootcertbundle`: the key that signs registry
 * tokens is the control plane's, and no other certificate of the CA (a node's) can mint one.
 */
export interface RegistryPkiLayout {
  serverCertificate: string;
  serverKey: string;
  tokenCertificate: string;
  tokenKey: string;
}

export const REGISTRY_TOKEN_SIGNER_NAME = 'system:tide-registry-token-signer';

export function registryPkiLayout(dir: string): RegistryPkiLayout {
  return {
    serverCertificate: join(dir, 'registry.crt'), serverKey: join(dir, 'registry.key'),
    tokenCertificate: join(dir, 'registry-token.crt'), tokenKey: join(dir, 'registry-token.key'),
  };
}

/** Issues what is missing, not from this CA, due, or (the serving one) lacks a name; keeps the rest. */
export async function ensureRegistryPki(options: {
  dir: string; ca: CertificateAuthority; serverNames: ServerNames; validityMs?: number; now?: Date; fs?: PkiFs;
}): Promise<{ layout: RegistryPkiLayout; actions: { server: 'issued' | 'kept'; token: 'issued' | 'kept' } }> {
  const fs = options.fs ?? nodePkiFs;
  const now = options.now ?? new Date();
  const { validityMs } = options;
  const layout = registryPkiLayout(options.dir);
  const server = await ensureLeaf(layout.serverCertificate, layout.serverKey, options.ca, fs, now,
    (pem) => coversNames(pem, options.serverNames) && livesAtMost(pem, validityMs),
    () => issueServerCertificate(options.ca, { commonName: 'tide-registry', ...options.serverNames, validityMs, now }));
  const token = await ensureLeaf(layout.tokenCertificate, layout.tokenKey, options.ca, fs, now, (pem) => livesAtMost(pem, validityMs),
    () => issueClientCertificate(options.ca, { commonName: REGISTRY_TOKEN_SIGNER_NAME, organizations: [] }, { validityMs, now }));
  return { layout, actions: { server, token } };
}
