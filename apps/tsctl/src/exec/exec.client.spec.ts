/** The exec client's terminal handling with an injected terminal: raw mode on and off, resizes, cleanup on failure. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import { waitFor } from '@tide/api/testing';
import { ExecCall, attachStandInExec } from '../testing/stand-in.exec';
import { execPath, openExec, runExecSession } from './exec.client';
import { ExecRequest, TerminalSize } from './exec.types';
import { Terminal } from './terminal';

class FakeTerminal implements Terminal {
  readonly isTTY = true;
  readonly modes: boolean[] = [];
  listeners: ((size: TerminalSize) => void)[] = [];
  setRawMode(raw: boolean): void {
    this.modes.push(raw);
  }
  size(): TerminalSize {
    return { rows: 30, cols: 90 };
  }
  onResize(listener: (size: TerminalSize) => void): () => void {
    this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }
}

describe('exec client', () => {
  const calls: ExecCall[] = [];
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  attachStandInExec(server, calls);
  let url: string;

  before(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => {
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    resolve();
  })));
  after(() => server.close());

  const start = async (command: string, terminal: FakeTerminal) => {
    const request: ExecRequest = { replica: 'web-1', namespace: 'default', argv: [command], stdin: true, tty: true, size: terminal.size() };
    const { socket, head } = await openExec(url, execPath(request));
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let shown = '';
    stdout.on('data', (chunk) => (shown += chunk));
    const session = runExecSession(socket, head, request, { stdin, stdout, stderr: new PassThrough(), terminal });
    return { session, stdin, shown: () => shown };
  };

  it('holds the terminal raw for the session, sends resizes, and restores it at the exit', async () => {
    const terminal = new FakeTerminal();
    const { session, stdin, shown } = await start('term', terminal);
    await until(() => shown().includes('[tty=1 size=30x90]'), 'the terminal size on the screen');
    assert.deepEqual(terminal.modes, [true]);
    terminal.listeners.forEach((listener) => listener({ rows: 50, cols: 120 }));
    await until(() => shown().includes('[resized 50x120]'), 'the resize on the screen');
    stdin.write('ls\r\x04');
    assert.deepEqual(await session, { code: 7, signal: null });
    assert.deepEqual(terminal.modes, [true, false]);
    assert.equal(terminal.listeners.length, 0, 'no resize listener left behind');
    assert.equal(calls.at(-1)?.stdin, 'ls\r\x04');
  });

  it('restores the terminal when the connection breaks without an exit status', async () => {
    const terminal = new FakeTerminal();
    const { session, stdin } = await start('drop', terminal);
    stdin.write('x');
    await assert.rejects(session, /the exec connection closed before the process exited/);
    assert.deepEqual(terminal.modes, [true, false]);
    assert.equal(terminal.listeners.length, 0);
  });
});

async function until(condition: () => boolean, what: string): Promise<void> {
  await waitFor(condition, { what });
}
