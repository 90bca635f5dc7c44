#!/usr/bin/env node
/**
 * node-agent: `node-agent [flags]` runs the agent of one node; `node-agent cleanup --state-dir DIR`
 * stops and removes that node's containers. Errors are one line on stderr.
 */
import { runCleanup } from './cleanup';
import { ConfigError, JOIN_TOKEN_ENV, parseAgentConfig } from './config/agent.config';
import { NodeAgent } from './node-agent';

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'cleanup') return runCleanup(argv.slice(1), (line) => console.log(`node-agent cleanup: ${line}`));
  const config = parseAgentConfig(argv);
  // Read: no child (the inits, exec helpers, iptables) inherits it.
  delete process.env[JOIN_TOKEN_ENV];
  if (config.join?.source === 'flag') {
    console.log('node-agent: warning: --join leaves the join token in the process list while the agent runs; prefer --join-token-file FILE (or - for stdin) or $TIDE_JOIN_TOKEN');
  }
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

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`node-agent: ${(error as Error).message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
