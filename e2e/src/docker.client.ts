/**
 * The docker CLI (Debian's docker.io client; no dockerd runs) and docker-compose as the docker e2e
 * files run them against a test cluster's `tsctl docker-serve`: each call's exit code and output,
 * never a rejection, so that a test can assert on a refusal as on a success.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

export const DOCKER = '/usr/bin/docker';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A docker client's environment: DOCKER_HOST (none: `more` gives it, or not), and its HOME and config inside the cluster's state dir. */
export function dockerEnv(stateDir: string, dockerHost: string | undefined, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: stateDir, ...(dockerHost === undefined ? {} : { DOCKER_HOST: dockerHost }), DOCKER_CONFIG: path.join(stateDir, '.docker'), ...more };
}

/** Runs `program` to its end (or `timeoutMs`): the exit code (1 when it was killed), stdout, and stderr or why it failed. */
export function runProgram(program: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(program, args, { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error ? error.message : '') });
    });
  });
}
