#!/usr/bin/env node
/**
 * node-agent: `node-agent [flags]` runs the agent of one node (under the node's reaper: reaper/);
 * `node-agent cleanup --state-dir DIR` stops and removes that node's containers and ends its balancer;
 * `node-agent balancer --state-dir DIR` is the node's balancer process, which the reaper starts.
 * Errors are one line on stderr. The agent's modules are loaded only in the agent's process, not in
 * the reaper's or the balancer's.
 */
import { AgentConfig, ConfigError, JOIN_CA_HASH_ENV, JOIN_TOKEN_ENV, parseAgentConfig, stateDirOf } from './config/agent.config';
import { runReaper, underReaper } from './reaper/node.reaper';
import { askRunningReaper } from './reaper/reaper.control';

/**
 * Flags of a join: the reaper hands the token it read, and its CA pin, to the agent in its environment
 * instead, so that the agent's command line (what tests and tools restart it with, the certificate
 * kept by then) carries neither.
 */
const JOIN_FLAGS = ['join', 'join-token-file', 'ca-hash'];

async function runAgent(config: AgentConfig): Promise<void> {
  const { NodeAgent } = await import('./node-agent');
  const agent = new NodeAgent(config);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`node-agent: ${signal}: exiting, containers keep running`);
    void agent.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await agent.start();
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'balancer') {
    // Renamed first: until then its command line names the agent's script and state dir (tsctl finds agents so).
    process.title = `node-agent-balancer ${stateDirOf(argv.slice(1))}`;
    const { runBalancer } = await import('./balancer/balancer.process');
    return runBalancer(stateDirOf(argv.slice(1)));
  }
  if (argv[0] === 'cleanup') {
    const { runCleanup } = await import('./cleanup');
    return runCleanup(argv.slice(1), (line) => console.log(`node-agent cleanup: ${line}`));
  }
  // The node's reaper may still live (its agent was killed): it starts the agent again, keeping its
  // containers and ports, with the join token it was given (this command line may name --ca-hash alone).
  if (!underReaper()) {
    const answer = await askRunningReaper(stateDirOf(argv), { argv: withoutFlags(argv, JOIN_FLAGS), env: stringEnv(process.env) });
    if (answer?.error) throw new Error(`the node's reaper runs and refused to start the agent: ${answer.error}`);
    if (answer?.pid !== undefined) return standIn(answer.pid, stateDirOf(argv));
  }
  // A bad flag is reported here, before any process is started; the join token is read here, once (stdin cannot be read twice).
  const config = parseAgentConfig(argv);
  // Read: no child (the agent's inits, exec helpers, iptables) inherits it; the reaper passes it to the agent alone.
  delete process.env[JOIN_TOKEN_ENV];
  delete process.env[JOIN_CA_HASH_ENV];
  if (underReaper()) return runAgent(config);
  if (config.join?.source === 'flag') {
    console.log('node-agent: warning: --join leaves the join token in the process list while the agent runs; prefer --join-token-file FILE (or - for stdin) or $TIDE_JOIN_TOKEN');
  }
  const join: Record<string, string> = config.join ? { [JOIN_TOKEN_ENV]: config.join.token, [JOIN_CA_HASH_ENV]: config.join.caHash } : {};
  runReaper(config.join ? withoutFlags(argv, JOIN_FLAGS) : argv, config.stateDir, join);
}

/**
 * This process stays while the agent the reaper started runs, so that whoever started it (tsctl up,
 * systemd) sees the agent run and stop as if it were its own child; signals to it go to the agent.
 * Renamed, as the reaper is, so that whoever looks for the agent by its command line finds the agent.
 */
function standIn(pid: number, stateDir: string): void {
  console.log(`node-agent: the node's reaper (${stateDir}) started the agent again: pid ${pid}`);
  process.title = `node-agent-standin ${stateDir}`;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => process.kill(pid, signal));
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      clearInterval(timer);
      console.log(`node-agent: the agent (pid ${pid}) exited`);
      process.exit(1);
    }
  }, 500);
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** argv without the named flags (`--name value` or `--name=value`), as parseFlagValues reads them. */
function withoutFlags(argv: string[], names: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].indexOf('=');
    const name = argv[i].slice(2, eq < 0 ? undefined : eq);
    if (!names.includes(name)) kept.push(argv[i], ...(eq < 0 ? [argv[i + 1]] : []));
    if (eq < 0) i++;
  }
  return kept;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`node-agent: ${(error as Error).message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
