/**
 * `node-agent` runs as two processes: this small one, the node's reaper, started as `node-agent`,
 * and the agent itself, its child with the same command line. The reaper is a child subreaper: when
 * the agent dies (kill -9, a crash), the containers it started pass to the reaper instead of the
 * host's init, and when one of them exits the reaper reaps it and writes its exit record, which the
 * next agent reads when it adopts the container (libs/runtime exit.record.ts). It keeps no state,
 * holds nothing per container, and costs no CPU while nothing exits.
 *
 * It forwards SIGTERM, SIGINT and SIGHUP to the agent, and exits with the agent's status once the
 * agent has exited and no container is left in its care. Its command line is renamed to
 * `node-agent-reaper STATE_DIR`, so that whoever looks for the agent by its command line (tsctl,
 * the tests) finds the agent.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { OrphanReaper } from '@tide/runtime';

/** Set in the agent's environment by its reaper: the agent runs, no second reaper is started. */
export const REAPER_ENV = 'TIDE_NODE_REAPER_PID';

export function underReaper(): boolean {
  return process.env[REAPER_ENV] !== undefined;
}

/** `env`: added to the agent's environment only (the join token the reaper read from a file or stdin). */
export function runReaper(argv: string[], stateDir: string, env: Record<string, string> = {}): void {
  const reaper = new OrphanReaper(path.join(stateDir, 'containers'));
  reaper.becomeSubreaper(); // before the agent exists: everything it leaves orphaned comes here
  const agent = spawn(process.execPath, [...process.execArgv, process.argv[1], ...argv], {
    stdio: 'inherit',
    env: { ...process.env, ...env, [REAPER_ENV]: String(process.pid) },
  });
  process.title = `node-agent-reaper ${stateDir}`;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => agent.kill(signal));
  // The agent is reaped by libuv (its 'exit' below), every other child here.
  const keep = new Set(agent.pid === undefined ? [] : [agent.pid]);
  let agentStatus: number | undefined;
  const reap = () => {
    let inCare: number;
    try {
      inCare = reaper.reap(keep);
    } catch (error) {
      // The reaper must outlive whatever went wrong (its containers would pass to the host's init).
      return console.error(`node-agent-reaper: ${(error as Error).message} (trying again at the next exit)`);
    }
    if (agentStatus !== undefined && inCare === 0) process.exit(agentStatus);
  };
  process.on('SIGCHLD', reap);
  // Signal listeners keep no event loop alive: this does, while the agent or a container is in our
  // care (and reaps on its own should a SIGCHLD ever be missed).
  setInterval(reap, 60_000);
  agent.on('error', (error) => {
    console.error(`node-agent: cannot start the agent: ${error.message}`);
    process.exit(1);
  });
  agent.on('exit', (code, signal) => {
    agentStatus = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
    if (agentStatus !== 0 && signal) console.error(`node-agent: the agent was killed by ${signal}; its containers are in the reaper's care`);
    reap();
  });
}
