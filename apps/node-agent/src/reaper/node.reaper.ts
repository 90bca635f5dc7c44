/**
 * `node-agent` runs as three processes: this small one, the node's reaper, started as `node-agent`;
 * the agent itself, its child with the same command line; and the node's balancer, its other child
 * (reaper/balancer.child.ts). The reaper is a child subreaper: when the agent dies (kill -9, a crash),
 * the containers it started pass to the reaper instead of the host's init, and when one of them
 * exits the reaper reaps it and writes its exit record, which the next agent reads when it adopts
 * the container (libs/runtime exit.record.ts). It writes no state of its own, holds nothing per
 * container, and costs no CPU while nothing exits and the agent runs.
 *
 * It forwards SIGTERM, SIGINT and SIGHUP to the agent. It exits with the agent's status once the agent
 * has exited and no container is left in its care, and, after an agent that was killed or crashed
 * while its balancer served ports, only once the balancer has ended too (asked by `node-agent
 * cleanup`): the published ports keep serving until an agent returns or the node is cleaned up. An agent that stopped cleanly (SIGTERM)
 * leaves nothing but its containers to look after. It starts the agent again when asked
 * (reaper.control.ts). Its command line is renamed to `node-agent-reaper STATE_DIR`, so that whoever
 * looks for the agent by its command line (tsctl, the tests) finds the agent.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { OrphanReaper } from '@tide/runtime';
import { superviseBalancer } from './balancer.child';
import { serveRestarts } from './reaper.control';

/** Set in the agent's environment by its reaper: the agent runs, no second reaper is started. */
export const REAPER_ENV = 'TIDE_NODE_REAPER_PID';

export function underReaper(): boolean {
  return process.env[REAPER_ENV] !== undefined;
}

/**
 * `env`: added to the agent's environment only (the join token the reaper read from a file or stdin).
 * A `node-agent` started later for the same state dir while this reaper lives asks it (reaper.control.ts)
 * to start the agent again, with that command line and environment.
 */
export function runReaper(argv: string[], stateDir: string, env: Record<string, string> = {}): void {
  const reaper = new OrphanReaper(path.join(stateDir, 'containers'));
  reaper.becomeSubreaper(); // before the agent exists: everything it leaves orphaned comes here
  const log = (line: string) => console.error(`node-agent-reaper: ${line}`);
  // The agent and the balancer are reaped by libuv (their 'exit'), every other child here.
  const keep = new Set<number>();
  let agent: ChildProcess | undefined;
  let agentStatus: number | undefined;
  const reap = () => {
    let inCare: number;
    try {
      inCare = reaper.reap(keep);
    } catch (error) {
      // The reaper must outlive whatever went wrong (its containers would pass to the host's init).
      return log(`${(error as Error).message} (trying again at the next exit)`);
    }
    if (agentStatus === undefined || inCare > 0) return;
    // A killed agent is expected back: its ports keep serving until then, or until the node is cleaned
    // up. An agent that failed before it published anything (a refused join, a bad flag) leaves
    // nothing to serve: the reaper and the balancer end with it.
    if (agentStatus !== 0 && balancer.running() && balancer.serving()) return;
    balancer.stop();
    process.exit(agentStatus);
  };
  const balancer = superviseBalancer(stateDir, keep, log, reap);
  const startAgent = (agentArgv: string[], agentEnv: NodeJS.ProcessEnv): ChildProcess => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...agentArgv], {
      stdio: 'inherit',
      env: { ...agentEnv, [REAPER_ENV]: String(process.pid) },
    });
    agent = child;
    agentStatus = undefined;
    if (child.pid !== undefined) keep.add(child.pid);
    child.on('error', (error) => {
      log(`cannot start the agent: ${error.message}`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      agent = undefined;
      if (child.pid !== undefined) keep.delete(child.pid);
      agentStatus = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
      if (agentStatus !== 0 && signal) log(`the agent was killed by ${signal}; its containers are in the reaper's care, its published ports in the balancer's`);
      reap();
    });
    return child;
  };
  startAgent(argv, { ...process.env, ...env });
  process.title = `node-agent-reaper ${stateDir}`;
  serveRestarts(stateDir, (request) => {
    if (agent?.pid !== undefined) return { error: `the agent of ${stateDir} runs (pid ${agent.pid})` };
    // The token this reaper was given stays the agent's unless the new start brought one.
    const started = startAgent(request.argv, { ...env, ...request.env });
    log(`agent started again (pid ${started.pid}) on request`);
    return { pid: started.pid };
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => agent?.kill(signal));
  process.on('SIGCHLD', reap);
  // Signal listeners keep no event loop alive: this does, while the agent or a container is in our
  // care (and reaps on its own should a SIGCHLD ever be missed).
  setInterval(reap, 60_000);
}
