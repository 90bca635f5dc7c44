/**
 * The node reaper's control socket, `STATE/reaper.sock` (0600 in the root-only state dir): a
 * `node-agent` started while its node's reaper still lives (the agent was killed, its containers
 * are in the reaper's care) does not start a second reaper beside it; it asks this one to start
 * the agent again, with the new command line and environment. The agent so stays the child of
 * the reaper that holds its containers and its published ports' sockets (published.fallback.ts).
 * One JSON line each way.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const CONTROL_SOCKET = 'reaper.sock';

export interface RestartRequest {
  argv: string[];
  env: Record<string, string>;
}

export interface RestartAnswer {
  /** The agent started. */
  pid?: number;
  /** Why none was (an agent already runs, say). */
  error?: string;
}

export function controlSocketPath(stateDir: string): string {
  return path.join(stateDir, CONTROL_SOCKET);
}

/**
 * Serves restart requests; a stale socket file (a dead reaper's) is replaced. The state dir is made
 * if need be (a node the node autoscaler starts has none yet). A socket that cannot be served is
 * reported on `warn`: the reaper still keeps its agent's containers, only restarts start a new reaper.
 */
export function serveRestarts(stateDir: string, restart: (request: RestartRequest) => RestartAnswer, warn: (line: string) => void = console.error): net.Server {
  const file = controlSocketPath(stateDir);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.rmSync(file, { force: true });
  const server = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (!text.includes('\n')) return;
      let answer: RestartAnswer;
      try {
        answer = restart(JSON.parse(text) as RestartRequest);
      } catch (error) {
        answer = { error: (error as Error).message };
      }
      socket.end(`${JSON.stringify(answer)}\n`);
    });
  });
  server.on('error', (error: Error) => warn(`node-agent-reaper: cannot serve ${file}: ${error.message}`));
  listenOwnerOnly(server, file);
  server.unref(); // the reaper lives for its agent and containers, not for this socket
  return server;
}

/**
 * Listens on a unix socket file that only its owner (root) may connect to: the file is made 0600 by
 * bind itself (under a umask), so there is no moment at which it is open to others.
 */
export function listenOwnerOnly(server: net.Server, file: string): void {
  const mask = process.umask(0o177);
  try {
    server.listen(file);
  } finally {
    process.umask(mask);
  }
}

/** How long a start keeps asking a reaper that closed without an answer (it was exiting). */
const ASK_DEADLINE_MS = 10_000;
const ASK_RETRY_MS = 100;

/**
 * The running reaper's answer, or undefined when no reaper serves the state dir. A reaper whose agent
 * was killed exits once nothing is left in its care; a request that reaches it in that moment is
 * closed unanswered. It is asked again until it answers or is gone (its socket refuses or is removed).
 */
export async function askRunningReaper(stateDir: string, request: RestartRequest, deadlineMs = ASK_DEADLINE_MS): Promise<RestartAnswer | undefined> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await askOnce(stateDir, request);
    } catch (error) {
      if (!(error instanceof Unanswered) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, ASK_RETRY_MS));
    }
  }
}

/** A reaper that took the connection and closed it without an answer, or reset it. */
class Unanswered extends Error {}

function askOnce(stateDir: string, request: RestartRequest): Promise<RestartAnswer | undefined> {
  const file = controlSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    if (!fs.existsSync(file)) return resolve(undefined);
    const socket = net.connect(file);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => {
      socket.destroy();
      try {
        resolve(JSON.parse(text) as RestartAnswer);
      } catch {
        reject(new Unanswered(`the node's reaper (${file}) gave no answer`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reaper that died leaves its socket file: nobody listens.
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(undefined);
      else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') reject(new Unanswered(`the node's reaper (${file}) closed the connection: ${error.message}`));
      else reject(new Error(`cannot reach the node's reaper at ${file}: ${error.message}`));
    });
  });
}
