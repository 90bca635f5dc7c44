/** ~/.tide/config.json: where tsctl finds the API when --server is not given (written by `tsctl up`). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

export interface CliConfig {
  server?: string;
  /** State dir of the cluster `tsctl up` started, for `tsctl down` without --state-dir. */
  stateDir?: string;
}

export function configPath(home = os.homedir()): string {
  return path.join(home, '.tide', 'config.json');
}

export function readCliConfig(file = configPath()): CliConfig {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CliConfig;
  } catch {
    return {}; // no config yet (or unreadable): defaults apply
  }
}

export function writeCliConfig(config: CliConfig, file = configPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** --server, else the config file, else the default; without a trailing slash. */
export function resolveServer(flag: string | undefined, config: CliConfig): string {
  const server = flag ?? config.server ?? DEFAULT_SERVER;
  return server.replace(/\/+$/, '');
}
