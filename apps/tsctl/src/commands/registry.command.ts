/**
 * `tsctl registry [-o json|yaml]`: where the cluster's registry is and the CA that verifies it;
 * `tsctl registry login [--authfile FILE]`: the credential file skopeo, podman and docker read
 * (containers-auth.json: `{"auths": {"HOST:PORT": {"auth": base64("tide:<token>")}}}`), merged into
 * what the file already holds. The password is the caller's Tide token: the registry's token service
 * (the control plane) takes it, so the registry grants what the token's role allows.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../cli/args';
import { formatStructured, parseOutputFormat } from '../output/table';
import { Command, CommandContext, CommandError } from './command';

const USAGE = 'tsctl registry [-o json|yaml]\n       tsctl registry login [--authfile FILE]';

interface RegistryAnswer {
  address: string;
  caFile?: string;
  ca?: string;
  embedded: boolean;
}

export const registryCommand: Command = {
  name: 'registry',
  usage: USAGE,
  summary: "the cluster registry's address and CA; login writes credentials for skopeo, podman and docker",
  options: [
    { long: 'output', short: 'o', help: 'json or yaml: {"address": "host:port", "caFile": "path"}' },
    { long: 'authfile', help: 'login: the containers-auth.json to write (default $REGISTRY_AUTH_FILE, else ~/.config/containers/auth.json)' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const [sub, ...rest] = ctx.args;
    if (rest.length > 0 || (sub !== undefined && sub !== 'login')) throw new UsageError(`registry takes "login" or nothing${sub ? `, got "${ctx.args.join(' ')}"` : ''}\nusage: ${USAGE}`);
    if (sub === undefined && ctx.options.has('authfile')) throw new UsageError(`--authfile goes with "registry login"\nusage: ${USAGE}`);
    if (sub === 'login' && ctx.options.has('output')) throw new UsageError(`-o goes with "registry" alone\nusage: ${USAGE}`);
    const answer = await ctx.api.get<RegistryAnswer>('/api/v1/registry');
    const caFile = localCaFile(answer);
    if (sub === 'login') return login(ctx, answer.address);
    const format = parseOutputFormat(ctx.options.get('output'));
    const shown = { address: answer.address, ...(caFile ? { caFile } : {}) };
    if (format === 'json' || format === 'yaml') return ctx.out(formatStructured(shown, format));
    ctx.out(`registry ${answer.address}${answer.embedded ? ' (embedded)' : ''}${caFile ? `, CA ${caFile}` : ''}`);
  },
};

/** The CA file as this machine can read it: the server's path when it is here, else a copy of the PEM under ~/.tide. */
function localCaFile(answer: RegistryAnswer): string | undefined {
  if (answer.caFile && fs.existsSync(answer.caFile)) return answer.caFile;
  if (!answer.ca) return undefined;
  const file = path.join(os.homedir(), '.tide', `registry-${answer.address.replace(/[^A-Za-z0-9.-]/g, '_')}-ca.crt`);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, answer.ca, { mode: 0o644 });
  return file;
}

export function defaultAuthFile(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  return env.REGISTRY_AUTH_FILE || path.join(home, '.config', 'containers', 'auth.json');
}

function login(ctx: CommandContext, address: string): void {
  const token = ctx.api.authHeaders().authorization?.replace(/^Bearer /, '');
  if (!token) throw new CommandError('no Tide token to log in with: give --token, or use the credential file "tsctl up" wrote');
  const file = path.resolve(ctx.options.get('authfile') ?? defaultAuthFile());
  writeAuthFile(file, address, token);
  ctx.out(`logged in to ${address}: credentials in ${file}`);
}

/** Adds (or replaces) one registry's entry, keeping every other one; written 0600 and atomically. */
export function writeAuthFile(file: string, address: string, token: string): void {
  let current: { auths?: Record<string, unknown> } & Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    try {
      current = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof current;
    } catch (error) {
      throw new CommandError(`${file}: not a containers-auth.json file (${(error as Error).message}); fix or remove it`);
    }
    if (typeof current !== 'object' || current === null || Array.isArray(current)) throw new CommandError(`${file}: not a JSON object`);
  }
  const auths = { ...(current.auths ?? {}), [address]: { auth: Buffer.from(`tide:${token}`).toString('base64') } };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify({ ...current, auths }, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}
