/** Command-line flags of the node agent (docs/ARCHITECTURE.md). */
import * as os from 'node:os';

export interface AgentConfig {
  name: string;
  controlPlane: string;
  address: string;
  port: number;
  stateDir: string;
  imageDir: string;
  cpuMillis: number;
  memoryBytes: number;
  labels: Record<string, string>;
}

export class ConfigError extends Error {}

export function parseArgs(argv: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new ConfigError(`unexpected argument "${argv[i]}"`);
    const [name, inline] = argv[i].slice(2).split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    values.set(name, value);
  }
  return values;
}

const KNOWN = ['name', 'control-plane', 'address', 'port', 'state-dir', 'image-dir', 'cpu', 'memory', 'labels'];

export function parseFlags(argv: string[]): AgentConfig {
  const values = parseArgs(argv);
  for (const name of values.keys()) if (!KNOWN.includes(name)) throw new ConfigError(`unknown flag --${name} (known: ${KNOWN.map((k) => `--${k}`).join(' ')})`);
  const name = values.get('name') ?? os.hostname();
  const number = (flag: string, fallback: number) => {
    const value = Number(values.get(flag) ?? fallback);
    if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`--${flag}: expected a positive integer, got "${values.get(flag)}"`);
    return value;
  };
  const labels: Record<string, string> = {};
  for (const pair of (values.get('labels') ?? '').split(',').filter(Boolean)) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined) throw new ConfigError(`--labels: expected k=v,k2=v2, got "${pair}"`);
    labels[key] = value;
  }
  return {
    name,
    controlPlane: values.get('control-plane') ?? '127.0.0.1:7071',
    address: values.get('address') ?? '127.0.0.1',
    port: number('port', 7080),
    stateDir: values.get('state-dir') ?? `/var/lib/tide/nodes/${name}`,
    imageDir: values.get('image-dir') ?? '/var/lib/tide/images',
    cpuMillis: number('cpu', os.cpus().length * 1000),
    memoryBytes: number('memory', os.totalmem()),
    labels,
  };
}
