/**
 * A node agent of a test cluster as a process: its command line, a SIGKILL, and a start again with
 * other flags or environment (the way `tsctl up` started it, logging into the cluster's state dir).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, isAlive, pidsMentioning, waitFor } from './harness';
import { removeFlags, replaceFlags } from './process.tools';

export class AgentProcess {
  readonly stateDir: string;
  /** The command line it was first found with, as it can be started again. */
  readonly argv: string[];

  constructor(private readonly cluster: TestCluster, readonly node: string) {
    this.stateDir = path.join(cluster.stateDir, 'nodes', node);
    const [pid] = this.pids();
    assert.ok(pid, `the agent of ${node}`);
    // Without `--ca-hash`: it goes with the join token, which the node's reaper handed this agent in
    // its environment (and dropped from its command line); an agent started again with its kept
    // certificate needs neither, and refuses a `--ca-hash` without a token.
    this.argv = removeFlags(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean), ['--ca-hash']);
  }

  pids(): number[] {
    return pidsMentioning('node-agent/dist/main.js').filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${this.stateDir}\0`));
  }

  async kill(): Promise<void> {
    for (const pid of this.pids()) process.kill(pid, 'SIGKILL');
    await waitFor(`the agent of ${this.node} gone`, async () => !this.pids().some(isAlive), 30_000);
  }

  /** Starts it again with its first command line, some flags' values replaced, more flags, and more environment. */
  start(options: { flags?: string[]; replace?: Record<string, string>; env?: Record<string, string>; logName: string }): void {
    const log = fs.openSync(path.join(this.cluster.stateDir, options.logName), 'a');
    const argv = [...replaceFlags(this.argv, options.replace ?? {}), ...(options.flags ?? [])];
    spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...options.env } }).unref();
    fs.closeSync(log);
  }
}
