/**
 * The control plane's exec upgrade as tsctl sees it, for tests: answers `Upgrade: tide-exec` on
 * /api/v1/replicas/NAME/exec with a scripted process chosen by its command:
 *   exit N   exits with N            talk   "out" on stdout, "err" on stderr, exits 3
 *   cat      echoes stdin until EOF  killed ends by SIGKILL
 *   term     reports the tty and size it got, echoes stdin, reports resizes, exits 7 on Ctrl-D
 *   drop     the connection breaks after the first stdin frame, without an exit status
 * and 404 for the replica "nope". Every request's query is recorded.
 */
import * as http from 'node:http';
import { Duplex } from 'node:stream';
import { FrameDecoder, FrameType, encodeFrame, exitFrame, parseResize } from '@tide/api';

export interface ExecCall {
  replica: string;
  query: URLSearchParams;
  stdin: string;
  resizes: string[];
}

export function attachStandInExec(server: http.Server, calls: ExecCall[]): void {
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    const url = new URL(req.url ?? '/', 'http://api');
    const replica = decodeURIComponent(/^\/api\/v1\/replicas\/([^/]+)\/exec$/.exec(url.pathname)?.[1] ?? '');
    if (replica === 'nope') {
      const body = JSON.stringify({ error: 'replica "nope" not found in namespace "default"' });
      return socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tide-exec\r\n\r\n');
    const call: ExecCall = { replica, query: url.searchParams, stdin: '', resizes: [] };
    calls.push(call);
    runScript(call, socket);
  });
}

function runScript(call: ExecCall, socket: Duplex): void {
  const argv = call.query.getAll('command');
  const out = (text: string, type: FrameType = FrameType.STDOUT) => socket.write(encodeFrame(type, text));
  const exit = (code: number | null, signal: string | null = null) => socket.end(exitFrame({ code, signal }));
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type === FrameType.STDIN) {
        call.stdin += frame.payload.toString();
        if (argv[0] === 'cat' || argv[0] === 'term') out(frame.payload.toString());
        if (argv[0] === 'term' && frame.payload.includes(0x04)) exit(7);
        if (argv[0] === 'drop') socket.destroy();
      } else if (frame.type === FrameType.STDIN_EOF && argv[0] === 'cat') {
        exit(0);
      } else if (frame.type === FrameType.RESIZE) {
        const { rows, cols } = parseResize(frame.payload);
        call.resizes.push(`${rows}x${cols}`);
        out(`[resized ${rows}x${cols}]`);
      }
    }
  });
  if (argv[0] === 'exit') exit(Number(argv[1]));
  if (argv[0] === 'talk') {
    out('out\n');
    out('err\n', FrameType.STDERR);
    exit(3);
  }
  if (argv[0] === 'killed') exit(null, 'SIGKILL');
  if (argv[0] === 'term') out(`[tty=${call.query.get('tty')} size=${call.query.get('rows')}x${call.query.get('cols')}]`);
}
