/**
 * The client side of `tsctl exec`: the HTTP/1.1 upgrade to the control plane, then frames both ways
 * (libs/api exec.protocol.ts) until the EXIT frame. Remote stdout and stderr go to their own local
 * streams; local stdin is forwarded with -i; with -it on a terminal the terminal is raw for the
 * session and restored after it, and size changes are sent as RESIZE frames.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Duplex } from 'node:stream';
import {
  EXEC_UPGRADE_PROTOCOL, ExecExit, FrameDecoder, FrameType, encodeFrame, parseExit, resizeFrame,
} from '@tide/api';
import { ApiError, authHeadersOf, connectionError } from '../api/api.client';
import type { Credentials } from '../api/cli.config';
import { ExecRequest } from './exec.types';
import { Terminal } from './terminal';

export interface ExecIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Present when stdin is a terminal and -it asked for raw mode. */
  terminal?: Terminal;
}

export function execPath(request: ExecRequest): string {
  const params = new URLSearchParams({ namespace: request.namespace });
  for (const arg of request.argv) params.append('command', arg);
  if (request.tty) params.set('tty', '1');
  if (request.stdin) params.set('stdin', '1');
  if (request.tty && request.size) {
    params.set('rows', String(request.size.rows));
    params.set('cols', String(request.size.cols));
  }
  for (const pair of request.env ?? []) params.append('env', pair);
  if (request.workingDir) params.set('workingDir', request.workingDir);
  if (request.user) params.set('user', request.user);
  return `/api/v1/replicas/${encodeURIComponent(request.replica)}/exec?${params}`;
}

/** Opens the upgraded connection; an HTTP answer instead (404, 400, 502) becomes an ApiError with its message. */
export function openExec(credentials: Credentials | string, pathAndQuery: string): Promise<{ socket: Duplex; head: Buffer }> {
  const given = typeof credentials === 'string' ? { server: credentials } : credentials;
  const server = given.server;
  const url = new URL(pathAndQuery, server);
  const transport = url.protocol === 'https:' ? https : http;
  const headers = { Connection: 'Upgrade', Upgrade: EXEC_UPGRADE_PROTOCOL, ...authHeadersOf(credentials) };
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { headers, ...(given.ca ? { ca: given.ca } : {}), ...(given.clientCertificate ?? {}) });
    req.on('upgrade', (_res, socket: Duplex, head: Buffer) => resolve({ socket, head }));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => reject(new ApiError(errorText(text, res.statusCode ?? 0), res.statusCode ?? 0)));
    });
    req.on('error', (error) => reject(connectionError(server, { cause: error })));
    req.end();
  });
}

function errorText(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof body.error === 'string') return body.error;
    if (typeof body.message === 'string') return body.message;
  } catch {
    /* not JSON */
  }
  return text.trim() || `HTTP ${status}`;
}

/** Pumps one session; resolves with the remote exit (or rejects when the connection ends without one). */
export async function runExecSession(socket: Duplex, head: Buffer, request: ExecRequest, io: ExecIo): Promise<ExecExit> {
  const cleanups: (() => void)[] = [];
  try {
    if (io.terminal && request.tty && request.stdin) {
      io.terminal.setRawMode(true);
      cleanups.push(() => io.terminal?.setRawMode(false));
      cleanups.push(io.terminal.onResize((size) => socket.write(resizeFrame(size.rows, size.cols))));
    }
    if (request.stdin) cleanups.push(forwardStdin(io.stdin, socket));
    return await readFrames(socket, head, io);
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
  }
}

function forwardStdin(stdin: NodeJS.ReadableStream, socket: Duplex): () => void {
  const onData = (chunk: Buffer | string) => {
    if (!socket.write(encodeFrame(FrameType.STDIN, Buffer.from(chunk)))) {
      stdin.pause(); // the remote process reads slower than we send
      socket.once('drain', () => stdin.resume());
    }
  };
  const onEnd = () => socket.writable && socket.write(encodeFrame(FrameType.STDIN_EOF));
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause(); // a flowing stdin would keep tsctl alive after the session
  };
}

function readFrames(socket: Duplex, head: Buffer, io: ExecIo): Promise<ExecExit> {
  const decoder = new FrameDecoder();
  return new Promise((resolve, reject) => {
    let exit: ExecExit | undefined;
    const take = (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          if (frame.type === FrameType.EXIT) exit = parseExit(frame.payload);
          const out = frame.type === FrameType.STDOUT ? io.stdout : frame.type === FrameType.STDERR ? io.stderr : undefined;
          if (out && !out.write(frame.payload)) {
            socket.pause(); // a slow local terminal or pipe holds the remote output back
            out.once('drain', () => socket.resume());
          }
        }
      } catch (error) {
        socket.destroy();
        reject(new ApiError((error as Error).message, 0));
      }
    };
    if (head.length) take(head);
    socket.on('data', take);
    socket.on('error', () => undefined); // 'close' follows and says what happened
    socket.on('close', () => {
      if (exit) resolve(exit);
      else reject(new ApiError('the exec connection closed before the process exited (the node or the control plane went away?)', 0));
    });
    socket.on('end', () => socket.end()); // the server is done: close our half too
  });
}
