/**
 * The network is configured with iproute2 and iptables, the tools an operator would use to inspect
 * it (a container's own wiring, on every start, is made by rtnetlink instead: rtnetlink.ts).
 * `ip -batch -` takes several commands per process. Tools are spawned without forking the agent
 * (container/tool.run.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTool } from '../container/tool.run';

export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

/** The agent may be started with a PATH without the sbin directories, where ip and iptables live. */
const SEARCH_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

function toolPath(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_DIRS]) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function hasTool(name: string): boolean {
  return toolPath(name) !== undefined;
}

export function findTool(name: string): string {
  const found = toolPath(name);
  if (found) return found;
  const hint = name === 'iptables' ? 'iptables' : name === 'nsenter' ? 'util-linux' : 'iproute2';
  throw new NetworkError(`${name} not found (install Debian's ${hint}: scripts/setup.sh does)`);
}

/** Runs a tool; resolves with its stdout, rejects with a NetworkError carrying its stderr (and `what`, which says what ran). */
export async function run(tool: string, args: string[], input?: string, what = `${tool} ${args.join(' ')}`): Promise<string> {
  const result = await runTool(findTool(tool), args, input).catch((error: Error) => {
    throw new NetworkError(`${tool}: ${error.message}`);
  });
  if (result.code === 0) return result.stdout;
  const status = result.code === null ? `signal ${result.signal}` : `exit ${result.code}`;
  throw new NetworkError(`${what} failed (${status}): ${result.stderr.trim() || result.stdout.trim()}${input ? `\ninput:\n${input}` : ''}`);
}

/** Several `ip` commands in one process, in the agent's network namespace or in that of a process. */
export function ipBatch(commands: string[], inNetnsOf?: number): Promise<string> {
  const input = `${commands.join('\n')}\n`;
  if (inNetnsOf === undefined) return run('ip', ['-batch', '-'], input);
  return run('nsenter', [`--net=/proc/${inNetnsOf}/ns/net`, '--', findTool('ip'), '-batch', '-'], input);
}

export function ipJson<T>(args: string[]): Promise<T> {
  return run('ip', ['-j', ...args]).then((text) => JSON.parse(text || '[]') as T);
}

export function linkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}
