/**
 * `node-agent cleanup --state-dir DIR`: stops and removes every container of a node's state dir, and
 * ends its balancer process (whose published ports would otherwise keep serving for the next agent).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LinuxRuntime } from '@tide/runtime';
import { shutDownBalancer } from './balancer/balancer.client';
import { ConfigError, DEFAULT_IMAGE_DIR, parseFlagValues } from './config/agent.config';
import { tearDownAgentNetwork } from './network/agent.network';
import { gracePeriodFromLabels } from './reconcile/container-spec.builder';
import { tearDownServiceIps } from './service-ip/service-ip.rules';
import { ConfigVolumes } from './volumes/config.volumes';
import { NodeVolumes } from './volumes/node.volumes';

/** `tsctl down` waits for this: a replica's grace period is honoured up to this many seconds. */
const MAX_CLEANUP_GRACE_SECONDS = 10;

export async function runCleanup(argv: string[], log: (line: string) => void): Promise<void> {
  const flags = parseFlagValues(argv);
  for (const name of flags.keys()) if (name !== 'state-dir' && name !== 'image-dir') throw new ConfigError(`cleanup: unknown flag --${name} (known: --state-dir --image-dir)`);
  const stateDir = flags.get('state-dir');
  if (!stateDir) throw new ConfigError('cleanup needs --state-dir DIR');
  if (!fs.existsSync(stateDir)) return log(`nothing to clean: ${stateDir} does not exist`);
  const runtime = new LinuxRuntime({ stateDir, imageDir: flags.get('image-dir') ?? DEFAULT_IMAGE_DIR, warmPool: 0 });
  const failures: string[] = [];
  // First: its ports would send traffic to containers about to go.
  await shutDownBalancer(stateDir).then((ended) => ended && log('ended the node\'s balancer (its published ports are closed)'),
    (error: Error) => failures.push(`balancer: ${error.message}`));
  const containers = await runtime.list();
  await Promise.all(containers.map(async (container) => {
    try {
      await runtime.stop(container.id, Math.min(MAX_CLEANUP_GRACE_SECONDS, gracePeriodFromLabels(container.spec.labels)));
      await runtime.remove(container.id);
    } catch (error) {
      failures.push(`${container.id}: ${(error as Error).message}`);
    }
  }));
  // What a start or removal cut short left (directories, cgroups, addresses, veths), and dead agents' warm groups.
  await runtime.sweepLeftovers().then((swept) => swept.length > 0 && log(`swept ${swept.join('; ')}`),
    (error: Error) => failures.push(`leftovers: ${error.message}`));
  // The containers' volumes (the secret and memory ones' tmpfs unmounted); named local volumes are data and stay.
  for (const [what, tearDown] of [['config volumes', ConfigVolumes.tearDown], ['emptyDir volumes', NodeVolumes.tearDown]] as const) {
    try {
      tearDown(stateDir);
    } catch (error) {
      failures.push(`${what}: ${(error as Error).message}`);
    }
  }
  // Restart counts of containers that no longer exist would only mislead a later agent.
  fs.rmSync(path.join(stateDir, 'replicas.json'), { force: true });
  log(`removed ${containers.length - failures.length} container(s) of ${stateDir}`);
  await tearDownServiceIps(stateDir).then(() => log('removed the service IP rules and route'),
    (error: Error) => failures.push(`service IPs: ${error.message}`));
  // After the containers: their veths are on the bridge.
  await tearDownAgentNetwork(stateDir).then((bridge) => log(`removed bridge ${bridge} and its rules`),
    (error: Error) => failures.push(`network: ${error.message}`));
  if (failures.length > 0) throw new Error(`could not clean up ${failures.length} thing(s): ${failures.join('; ')}`);
}
