/** The control plane's registry flags (docs/REFERENCE.md): `--registry-listen HOST:PORT` | `--registry HOST:PORT [--registry-ca FILE]`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config.error';
import type { RegistrySettings } from './cluster.registry';

export type { RegistrySettings } from './cluster.registry';

export function registrySettings(values: Map<string, string>, hostPort: (value: string, flag: string) => { host: string; port: number }): RegistrySettings {
  const listen = values.get('registry-listen');
  const external = values.get('registry');
  const ca = values.get('registry-ca');
  if (listen !== undefined && external !== undefined) throw new ConfigError('--registry-listen starts a registry, --registry uses an existing one: give one of them');
  if (ca !== undefined && external === undefined) throw new ConfigError('--registry-ca goes with --registry (the embedded registry uses the cluster CA)');
  if (listen !== undefined) return { listen: hostPort(listen, '--registry-listen') };
  if (external === undefined) return {};
  const address = external.replace(/^https:\/\//, '').replace(/\/+$/, '');
  if (/^[a-z]+:\/\//i.test(address) || !/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:]+\](:\d+)?$/.test(address)) {
    throw new ConfigError(`--registry: expected HOST:PORT or https://HOST:PORT, got "${external}"`);
  }
  if (ca !== undefined && !fs.existsSync(ca)) throw new ConfigError(`--registry-ca: ${ca} does not exist`);
  return { external: { address, ...(ca ? { caFile: path.resolve(ca) } : {}) } };
}
