/**
 * A replica's main process, reached by clients (contract):
 * - `GET /v1/attach/NAMESPACE/NAME[?stdin=1][&replay=1]` with `Upgrade: tide-exec`: a session on the
 *   process's attachable stdio (a Service with `stdin` or `tty`), in exec's frames (libs/api
 *   exec.protocol.ts): STDOUT what its terminal shows from now on (`replay`: since it started; none
 *   without a terminal, whose output is the log's), STDIN and RESIZE from the client (STDIN only with
 *   `stdin=1`; STDIN_EOF ends a pipe's input for good, as dockerd's StdinOnce), EXIT when the process
 *   exits. A client that goes away detaches: the process runs on.
 * - `POST /v1/signal/NAMESPACE/NAME?signal=SIGHUP`: the signal to the main process (`docker kill -s`).
 * Both are exec's right (agent.auth.ts): either drives the process.
 */
import * as http from 'node:http';
import { Duplex, Writable } from 'node:stream';
import * as os from 'node:os';
import { EXEC_UPGRADE_PROTOCOL } from '@tide/api';
import { ExecSession } from '@tide/runtime';
import { bridgeExec } from './exec.upgrade';
import { isTrue, messageOf, refuseUpgrade, sendJson, statusOf } from './http.responses';

export interface MainProcess {
  attach(namespace: string, name: string, replay: boolean): ExecSession;
  signal(namespace: string, name: string, signal: NodeJS.Signals): void;
}

export const ATTACH_PATH = /^\/v1\/attach\/([^/]+)\/([^/]+)$/;
export const SIGNAL_PATH = /^\/v1\/signal\/([^/]+)\/([^/]+)$/;

export async function handleAttachUpgrade(main: MainProcess, req: http.IncomingMessage, socket: Duplex, head: Buffer, match: RegExpExecArray): Promise<void> {
  socket.on('error', () => socket.destroy());
  if (req.method !== 'GET') return refuseUpgrade(socket, 405, `attach is GET, not ${req.method}`);
  if (req.headers.upgrade?.toLowerCase() !== EXEC_UPGRADE_PROTOCOL) return refuseUpgrade(socket, 400, `attach needs "Upgrade: ${EXEC_UPGRADE_PROTOCOL}"`);
  const params = new URL(req.url ?? '/', 'http://agent').searchParams;
  let session: ExecSession;
  try {
    session = main.attach(decodeURIComponent(match[1]), decodeURIComponent(match[2]), isTrue(params.get('replay')));
  } catch (error) {
    return refuseUpgrade(socket, statusOf(error), messageOf(error));
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${EXEC_UPGRADE_PROTOCOL}\r\n\r\n`);
  // Without stdin=1 the client's input goes nowhere, and its end does not end the process's input.
  const stdin = isTrue(params.get('stdin')) ? session.stdin : new Writable({ write: (_chunk, _encoding, done) => done() });
  await bridgeExec({ ...session, stdin }, socket, head, true);
}

export function handleSignal(main: MainProcess, req: http.IncomingMessage, res: http.ServerResponse, match: RegExpExecArray, url: URL): void {
  if (req.method !== 'POST') return sendJson(res, 405, { error: `signal is POST, not ${req.method}` });
  const signal = url.searchParams.get('signal') ?? '';
  if (!(signal in os.constants.signals)) return sendJson(res, 400, { error: `signal: "${signal}" is not a signal name (SIGHUP, SIGTERM, SIGUSR1, ...)` });
  try {
    main.signal(decodeURIComponent(match[1]), decodeURIComponent(match[2]), signal as NodeJS.Signals);
  } catch (error) {
    return sendJson(res, statusOf(error), { error: messageOf(error) });
  }
  res.writeHead(204).end();
}
