/**
 * The node's balancer process as a child of the node's reaper (balancer/balancer.process.ts): the
 * reaper starts it beside the agent and starts it again, after a pause, if it dies other than by
 * request; the balancer ends by itself when the reaper does (their IPC channel closes).
 */
import { ChildProcess, spawn } from 'node:child_process';

/** Before a balancer that died is started again: a crash on start must not become a busy loop. */
const RESTART_DELAY_MS = 1000;

export interface BalancerChild {
  /** Whether the balancer process runs (or is about to be started again). */
  running(): boolean;
  /** Ends it for good (the reaper is exiting). */
  stop(): void;
  /**
   * Whether its last applied configuration listens on anything (a published port, a service IP):
   * false until an agent configured it. Kept across its restarts: the next agent configures it again.
   */
  serving(): boolean;
}

/**
 * `keep`: the reaper's set of children libuv reaps (not containers); the balancer's pid is kept there.
 * `exited`: called when the balancer has ended for good (so the reaper may check whether it can exit).
 */
export function superviseBalancer(stateDir: string, keep: Set<number>, log: (line: string) => void, exited: () => void): BalancerChild {
  let child: ChildProcess | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let serving = false;
  const start = () => {
    restartTimer = undefined;
    const started = spawn(process.execPath, [...process.execArgv, process.argv[1], 'balancer', '--state-dir', stateDir], {
      // The IPC channel is the balancer's tie to the reaper: it exits when the channel closes.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = started;
    if (started.pid !== undefined) keep.add(started.pid);
    started.on('error', (error) => log(`cannot start the node's balancer: ${error.message}`));
    started.on('message', (message: { serving?: unknown }) => {
      if (typeof message?.serving === 'boolean') serving = message.serving;
    });
    started.on('exit', (code, signal) => {
      if (started.pid !== undefined) keep.delete(started.pid);
      child = undefined;
      if (stopped || (code === 0 && !signal)) return exited();
      log(`the node's balancer ended (${signal ?? `exit code ${code}`}): starting it again in ${RESTART_DELAY_MS} ms`);
      restartTimer = setTimeout(start, RESTART_DELAY_MS);
    });
  };
  start();
  return {
    running: () => child !== undefined || restartTimer !== undefined,
    serving: () => serving,
    stop: () => {
      stopped = true;
      clearTimeout(restartTimer);
      child?.kill('SIGTERM');
    },
  };
}
