/** Runs the built tsctl as a user would (own HOME, no terminal), for CLI tests. */
import { execFile } from 'node:child_process';
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

/** The time limit only ends a hung run: a loaded machine may take seconds to start Node. */
export function tsctl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [TSCTL_MAIN, ...args], { env: { ...process.env, HOME: TEST_HOME }, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
    child.stdin?.end(input ?? '');
  });
}
