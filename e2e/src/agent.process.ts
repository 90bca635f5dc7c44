/**
 * A node agent of a test cluster as a process: its command line, a SIGKILL, and a start again with
 * other flags or environment (the way `tsctl up` started it, logging into the cluster's state dir).
 */
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, TestCluster, cmdlineOf, isAlive, pidsMentioning, signalIfAlive, waitFor } from './harness';
import { removeFlags, replaceFlags } from './process.tools';

const AGENT_MAIN = path.join(REPO, 'apps/node-agent/dist/main.js');

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
    return pidsMentioning('node-agent/dist/main.js').filter((pid) => cmdlineOf(pid).includes(`${this.stateDir}\0`));
  }

  async kill(): Promise<void> {
    for (const pid of this.pids()) signalIfAlive(pid, 'SIGKILL');
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

/** The line `tsctl token create --join` prints last, `echo TOKEN | node-agent FLAGS…`: the token and the agent's flags. */
export function printedJoin(stdout: string): { token: string; flags: string[] } {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const printed = /^echo (\S+) \| node-agent (.*)$/.exec(line);
  assert.ok(printed, `the printed join command pipes the token to the agent's stdin: ${line}`);
  return { token: printed[1], flags: printed[2].split(' ') };
}

/** A node agent started as the printed join pipeline runs it (the token on its stdin, which then ends), in network namespace `netns` if given. */
export class JoinedAgent {
  readonly child: ChildProcess;

  constructor(private readonly options: { join: { token: string; flags: string[] }; flags: string[]; stateDir: string; imageDir: string; log: string; netns?: string }) {
    fs.mkdirSync(options.stateDir, { recursive: true });
    const log = fs.openSync(options.log, 'a');
    const argv = [AGENT_MAIN, ...options.join.flags, ...options.flags, '--state-dir', options.stateDir, '--image-dir', options.imageDir];
    this.child = options.netns
      ? spawn('ip', ['netns', 'exec', options.netns, process.execPath, ...argv], { stdio: ['pipe', log, log] })
      : spawn(process.execPath, argv, { stdio: ['pipe', log, log] });
    this.child.stdin!.end(`${options.join.token}\n`);
    fs.closeSync(log);
  }

  /**
   * Stops it and removes its containers: SIGTERM ends the agent (its containers keep running, in its
   * reaper's care), `node-agent cleanup` removes them, and the reaper, with nothing left in its care,
   * exits. A reaper still there after a minute is killed.
   */
  async stop(): Promise<void> {
    const exited = this.child.exitCode !== null || this.child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const cleanup = [AGENT_MAIN, 'cleanup', '--state-dir', this.options.stateDir, '--image-dir', this.options.imageDir];
    spawnSync(this.options.netns ? 'ip' : process.execPath, this.options.netns ? ['netns', 'exec', this.options.netns, process.execPath, ...cleanup] : cleanup, { stdio: 'pipe', timeout: 120_000 });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  }
}
