/**
 * The credential file (`$TIDE_CONFIG`, else `~/.tide/config`, mode 0600): where tsctl finds the API
 * and how it proves who it is. `tsctl up` writes it; `--server`, `--token` and `--ca-file` override it.
 * JSON: `{ "server", "ca"?: PEM, "caFile"?: path, "token"?, "stateDir"? }`. An older
 * `~/.tide/config.json` (server and stateDir only) is still read when the new file is absent.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const DEFAULT_SERVER = 'https://127.0.0.1:7070';

export interface CliConfig {
  server?: string;
  /** The cluster CA, PEM: the only issuer whose server certificate tsctl accepts. */
  ca?: string;
  /** Or the CA as a file. */
  caFile?: string;
  /** A bearer token (`tide_<id>_<secret>`). */
  token?: string;
  /** State dir of the cluster `tsctl up` started, for `tsctl down` without --state-dir. */
  stateDir?: string;
}

/** What tsctl talks to and with: the result of the file and the flags together. */
export interface Credentials {
  server: string;
  ca?: string;
  token?: string;
  /** A client certificate (tsctl up uses the control plane's, to make the first admin token). */
  clientCertificate?: { cert: string; key: string };
  /**
   * The certificate (base64 DER) of a caller this client acts for (`tsctl docker-serve --tcp`): the
   * control plane narrows the credential to the rights the caller holds too (libs/auth forwarded.ts).
   */
  forwardedCertificate?: string;
}

export class ConfigError extends Error {}

export function configPath(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return env.TIDE_CONFIG || path.join(home, '.tide', 'config');
}

function legacyPath(home = os.homedir()): string {
  return path.join(home, '.tide', 'config.json');
}

export function readCliConfig(file = configPath()): CliConfig {
  const legacy = file === path.join(os.homedir(), '.tide', 'config') ? legacyPath() : undefined;
  for (const candidate of [file, legacy]) {
    if (candidate === undefined || !fs.existsSync(candidate)) continue;
    try {
      return JSON.parse(fs.readFileSync(candidate, 'utf8')) as CliConfig;
    } catch (error) {
      throw new ConfigError(`${candidate}: not a Tide config (${(error as Error).message}); fix it or remove it and run "tsctl up"`);
    }
  }
  return {}; // no config yet: defaults apply
}

/** Written 0600 whatever the umask: it holds a credential. */
export function writeCliConfig(config: CliConfig, file = configPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}

/** --server, else the config file, else the default; without a trailing slash. */
export function resolveServer(flag: string | undefined, config: CliConfig): string {
  const server = flag ?? config.server ?? DEFAULT_SERVER;
  return server.replace(/\/+$/, '');
}

/** The flags over the file: --server, --token, --ca-file. A CA file that cannot be read is named. */
export function resolveCredentials(options: Map<string, string>, config: CliConfig): Credentials {
  const caFile = options.get('ca-file') ?? (config.ca === undefined ? config.caFile : undefined);
  let ca = options.has('ca-file') ? undefined : config.ca;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`${options.has('ca-file') ? '--ca-file' : `caFile in ${configPath()}`}: cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  const token = options.get('token') ?? config.token;
  return { server: resolveServer(options.get('server'), config), ...(ca ? { ca } : {}), ...(token ? { token } : {}) };
}
