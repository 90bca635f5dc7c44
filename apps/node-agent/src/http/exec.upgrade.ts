/**
 * The agent's exec endpoint (contract): `GET /v1/exec/NAMESPACE/NAME?command=ARG&command=ARG...
 * [&tty=1][&stdin=1][&rows=R&cols=C][&env=K=V...][&workingDir=DIR][&user=U]` with `Connection: Upgrade`, `Upgrade: tide-exec`. The process
 * is started first, so a replica not on this node (404) or a bad request (400) is an ordinary HTTP
 * answer; then 101 Switching Protocols and the frames of libs/api's exec.protocol.ts both ways.
 * A client that goes away (or half-closes) before the process exits takes the process with it (SIGKILL): an exec
 * nobody can see or end must not linger inside a replica.
 */
import * as http from 'node:http';
import { Duplex } from 'node:stream';
import {
  EXEC_UPGRADE_PROTOCOL, ExecExit, FrameDecoder, FrameType, encodeFrame, exitFrame, parseResize,
} from '@tide/api';
import { ExecOptions, ExecSession } from '@tide/runtime';
import { isTrue, messageOf, refuseUpgrade, statusOf } from './http.responses';

/** Runs argv in the replica's container; rejects with RuntimeError NotFound when it is not on this node. */
export type ExecStarter = (namespace: string, name: string, options: ExecOptions) => Promise<ExecSession>;

const EXEC_PATH = /^\/v1\/exec\/([^/]+)\/([^/]+)$/;
/** Output is sent in frames of at most this many bytes. */
const OUTPUT_FRAME_BYTES = 64 * 1024;

export async function handleExecUpgrade(start: ExecStarter, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy()); // a reset by the client is not the agent's failure
  const url = new URL(req.url ?? '/', 'http://agent');
  const match = EXEC_PATH.exec(url.pathname);
  if (!match || req.method !== 'GET') return refuseUpgrade(socket, 404, `no upgrade endpoint at ${req.method} ${url.pathname}`);
  if (req.headers.upgrade?.toLowerCase() !== EXEC_UPGRADE_PROTOCOL) {
    return refuseUpgrade(socket, 400, `exec needs "Upgrade: ${EXEC_UPGRADE_PROTOCOL}"`);
  }
  const parsed = execOptionsOf(url.searchParams);
  if (typeof parsed === 'string') return refuseUpgrade(socket, 400, parsed);
  let session: ExecSession;
  try {
    session = await start(decodeURIComponent(match[1]), decodeURIComponent(match[2]), parsed.options);
  } catch (error) {
    return refuseUpgrade(socket, statusOf(error), messageOf(error));
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${EXEC_UPGRADE_PROTOCOL}\r\n\r\n`);
  await bridgeExec(session, socket, head, parsed.stdin);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A user as the container's /etc/passwd or numbers name it, with an optional group. */
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/;

/** Query parameters → ExecOptions, or the message of a 400. */
export function execOptionsOf(params: URLSearchParams): { options: ExecOptions; stdin: boolean } | string {
  const argv = params.getAll('command');
  if (argv.length === 0 || argv[0] === '') return 'command: give the command to run, one "command" parameter per argument';
  const tty = isTrue(params.get('tty'));
  const rows = Number(params.get('rows') ?? 0);
  const cols = Number(params.get('cols') ?? 0);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || rows > 0xffff || cols > 0xffff) {
    return 'rows, cols: must be integers from 0 to 65535';
  }
  const size = tty && rows > 0 && cols > 0 ? { size: { rows, cols } } : {};
  const env: Record<string, string> = {};
  for (const pair of params.getAll('env')) {
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    if (!ENV_NAME.test(name)) return `env: "${pair}" is not NAME=VALUE with NAME of letters, digits and _ (not first a digit)`;
    env[name] = equals === -1 ? '' : pair.slice(equals + 1);
  }
  const workingDir = params.get('workingDir') ?? undefined;
  if (workingDir !== undefined && !workingDir.startsWith('/')) return `workingDir: "${workingDir}" must be an absolute path in the container`;
  const user = params.get('user') ?? undefined;
  if (user !== undefined && !USER.test(user)) return `user: "${user}" must be NAME, UID, NAME:GROUP or UID:GID`;
  return {
    options: { argv, tty, ...size, ...(Object.keys(env).length ? { env } : {}), ...(workingDir ? { workingDir } : {}), ...(user ? { user } : {}) },
    stdin: isTrue(params.get('stdin')),
  };
}

/** Pumps frames between the socket and the session until the process exits; ends with the EXIT frame. */
export async function bridgeExec(session: ExecSession, socket: Duplex, head: Buffer, interactive: boolean): Promise<void> {
  let stdinOpen = interactive;
  session.stdin.on('error', () => undefined); // EPIPE once the process has exited: input nobody reads
  if (!interactive) session.stdin.end();
  const decoder = new FrameDecoder();
  let finished = false;
  const onData = (chunk: Buffer) => {
    try {
      for (const frame of decoder.push(chunk)) {
        if (frame.type === FrameType.STDIN && stdinOpen) {
          if (!session.stdin.write(frame.payload)) {
            socket.pause(); // backpressure: the process reads slower than the client types
            session.stdin.once('drain', () => socket.resume());
          }
        } else if (frame.type === FrameType.STDIN_EOF && stdinOpen) {
          stdinOpen = false;
          session.stdin.end();
        } else if (frame.type === FrameType.RESIZE) {
          session.resize(parseResize(frame.payload));
        } else if (frame.type !== FrameType.STDIN && frame.type !== FrameType.STDIN_EOF) {
          throw new Error(`a client may not send frames of type ${frame.type}`);
        }
      }
    } catch (error) {
      session.kill('SIGKILL');
      socket.end(exitFrame({ code: null, signal: null, error: messageOf(error) }));
    }
  };
  socket.on('data', onData);
  // The protocol ends stdin with a frame, so the client's end of the connection means it is gone
  // (the HTTP server's sockets are half-open capable: 'end' may come long before 'close').
  const gone = () => { if (!finished) session.kill('SIGKILL'); };
  socket.on('end', gone);
  socket.on('close', gone);
  if (head.length) onData(head);
  const outputs = [forward(session.stdout, FrameType.STDOUT, socket)];
  if (session.stderr) outputs.push(forward(session.stderr, FrameType.STDERR, socket));
  const exit: ExecExit = await session.exited.then(
    (status) => ({ code: status.code, signal: status.signal }),
    (error: unknown) => ({ code: null, signal: null, error: messageOf(error) }),
  );
  await Promise.all(outputs);
  finished = true;
  if (!socket.destroyed) socket.end(exitFrame(exit));
}

/** Copies a stream into frames of one type, pausing it while the socket's buffer is full. */
function forward(stream: NodeJS.ReadableStream, type: FrameType, socket: Duplex): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer | string) => {
      const bytes = Buffer.from(chunk);
      let writable = true;
      for (let offset = 0; offset < bytes.length; offset += OUTPUT_FRAME_BYTES) {
        writable = socket.write(encodeFrame(type, bytes.subarray(offset, offset + OUTPUT_FRAME_BYTES)));
      }
      if (!writable && !socket.destroyed) {
        stream.pause();
        socket.once('drain', () => stream.resume());
      }
    });
    socket.once('close', () => stream.resume()); // the client is gone: drain the rest into the void
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
}
