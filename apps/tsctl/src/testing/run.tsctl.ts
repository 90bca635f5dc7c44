/** Runs the built tsctl as a user would (own HOME, no terminal), for CLI tests. */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const TSCTL_MAIN = path.join(__dirname, '..', 'main.js');
export const TEST_HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-home-'));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function tsctl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [TSCTL_MAIN, ...args], { env: { ...process.env, HOME: TEST_HOME }, timeout: 15_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
    child.stdin?.end(input ?? '');
  });
}

/**
 * For one describe block: starts `server` (a stand-in API) on a free loopback port before its tests
 * and, after them, closes it and removes a scratch directory and the test HOME.
 */
export function useStandInApi(server: Server, prefix: string): { url: () => string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(TEST_HOME, { recursive: true, force: true });
  });
  return { url: () => url, dir };
}
