#!/usr/bin/env node
/**
 * node-agent: `node-agent [flags]` runs the agent of one node (under the node's reaper: reaper/);
 * `node-agent cleanup --state-dir DIR` stops and removes that node's containers. Errors are one line
 * on stderr. The agent's modules are loaded only in the agent's process, not in the reaper's.
 */
import { ConfigError, parseAgentConfig } from './config/agent.config';
import { runReaper, underReaper } from './reaper/node.reaper';

async function runAgent(argv: string[]): Promise<void> {
  const { NodeAgent } = await import('./node-agent');
  const agent = new NodeAgent(parseAgentConfig(argv));
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
  if (argv[0] === 'cleanup') {
    const { runCleanup } = await import('./cleanup');
    return runCleanup(argv.slice(1), (line) => console.log(`node-agent cleanup: ${line}`));
  }
  const config = parseAgentConfig(argv); // a bad flag is reported here, before any process is started
  if (underReaper()) return runAgent(argv);
  runReaper(argv, config.stateDir);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`node-agent: ${(error as Error).message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
