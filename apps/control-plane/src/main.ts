#!/usr/bin/env node
import 'reflect-metadata';
import { ConfigError, parseFlags } from './config';
import { ControlPlane } from './control-plane';
import { KeyFileError, rotateKeyFile } from './secrets/encryption.keys';

/**
 * `control-plane rotate-encryption-key [--state-dir DIR | --encryption-key-file FILE]`: a new key
 * first in the file (it seals new writes once the control planes read the file again:
 * `tsctl secrets reencrypt`, which also rewrites what the older keys sealed).
 */
function rotateEncryptionKey(argv: string[]): void {
  const config = parseFlags(argv);
  const name = rotateKeyFile(config.encryptionKeyFile);
  console.log(`encryption key ${name} added to ${config.encryptionKeyFile} as the writer; run "tsctl secrets reencrypt" to use it and rewrite every Secret with it`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'rotate-encryption-key') {
    try {
      return rotateEncryptionKey(process.argv.slice(3));
    } catch (error) {
      console.error(`control-plane rotate-encryption-key: ${(error as Error).message}`);
      process.exit(error instanceof ConfigError || error instanceof KeyFileError ? 2 : 1);
    }
  }
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
