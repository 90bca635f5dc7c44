/** A minimal exec client for tests: the upgrade handshake, then frames in and out over a real socket. */
import * as https from 'node:https';
import { Duplex } from 'node:stream';
import { EXEC_UPGRADE_PROTOCOL, ExecExit, FrameDecoder, FrameType, parseExit } from '@tide/api';

export type ExecOpened = { upgraded: true; socket: Duplex; head: Buffer } | { upgraded: false; status: number; body: string };

/** `tls`: the CA to trust and the client certificate to present (makeTestAgentPki's connectOptions). */
export function openExec(port: number, pathAndQuery: string, tls: { ca: string; cert?: string; key?: string }): Promise<ExecOpened> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: pathAndQuery, headers: { Connection: 'Upgrade', Upgrade: EXEC_UPGRADE_PROTOCOL }, ...tls, agent: false,
    });
    req.on('upgrade', (_res, socket, head) => resolve({ upgraded: true, socket, head }));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ upgraded: false, status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ExecTranscript {
  stdout: string;
  stderr: string;
  exit?: ExecExit;
}

/** Reads frames until EXIT (or the socket closes); `onOutput` may send frames once output appears. */
export function readExec(socket: Duplex, head: Buffer, onOutput?: (transcript: ExecTranscript) => void): Promise<ExecTranscript> {
  const transcript: ExecTranscript = { stdout: '', stderr: '' };
  const decoder = new FrameDecoder();
  return new Promise((resolve, reject) => {
    const take = (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.type === FrameType.STDOUT) transcript.stdout += frame.payload.toString();
        else if (frame.type === FrameType.STDERR) transcript.stderr += frame.payload.toString();
        else if (frame.type === FrameType.EXIT) transcript.exit = parseExit(frame.payload);
        else reject(new Error(`unexpected frame type ${frame.type} from the agent`));
      }
      onOutput?.(transcript);
    };
    if (head.length) take(head);
    socket.on('data', take);
    socket.on('close', () => resolve(transcript));
    socket.on('error', reject);
  });
}
