#!/usr/bin/env node
import { ConfigError, parseArgs, parseFlags } from './config';
import { NodeAgent, cleanupNode } from './node-agent';

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'cleanup') {
    const flags = parseArgs(argv.slice(1));
    const stateDir = flags.get('state-dir');
    if (!stateDir) throw new ConfigError('cleanup needs --state-dir DIR');
    const removed = await cleanupNode(stateDir, flags.get('image-dir') ?? '/var/lib/tide/images');
    console.log(`removed ${removed} container(s) of ${stateDir}`);
    return;
  }
  const agent = new NodeAgent(parseFlags(argv));
  const shutdown = (signal: string) => {
    console.log(`node-agent: ${signal}, exiting; containers keep running`);
    void agent.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await agent.start();
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`node-agent: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
