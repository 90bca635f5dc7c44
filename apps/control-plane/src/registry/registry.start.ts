/** Starts the cluster's registry as the flags say (config.ts): embedded, existing, or none. */
import type { ClusterPki } from '@tide/pki';
import type { ControlPlaneConfig } from '../config';
import { ClusterRegistry } from './cluster.registry';

export async function startClusterRegistry(config: ControlPlaneConfig, pki: ClusterPki, log: (line: string) => void): Promise<ClusterRegistry | undefined> {
  const { listen, external } = config.registry;
  if (external) {
    log(`registry: using ${external.address}${external.caFile ? ` (CA ${external.caFile})` : ''}`);
    return ClusterRegistry.external(external.address, external.caFile);
  }
  if (!listen) return undefined;
  // Clients reach the token service where they reach the API; a wildcard listen is reached on loopback.
  const apiHost = ['0.0.0.0', '::', ''].includes(config.listen.host) ? '127.0.0.1' : config.listen.host;
  const realm = `https://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${config.listen.port}/v2/token`;
  const registry = await ClusterRegistry.startEmbedded({ listen, stateDir: config.stateDir, pki, realm, log, validityMs: config.certificateValidityMs });
  log(`registry on https://${registry.info.address} (storage ${config.stateDir}/registry/data, tokens from ${realm})`);
  return registry;
}
