#!/usr/bin/env node
import 'reflect-metadata';
import { ConfigError, parseFlags } from './config';
import { ControlPlane } from './control-plane';

async function main(): Promise<void> {
  let config;
  try {
    config = parseFlags(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`control-plane: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const controlPlane = new ControlPlane(config);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`control-plane: ${signal}, stopping`);
    const force = setTimeout(() => process.exit(1), 15_000);
    await controlPlane.stop().catch((error) => console.error(`control-plane: stop: ${(error as Error).message}`));
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  try {
    await controlPlane.start();
  } catch (error) {
    console.error(`control-plane: cannot start: ${(error as Error).message}`);
    await controlPlane.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
