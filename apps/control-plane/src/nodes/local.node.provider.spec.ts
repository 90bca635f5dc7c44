/**
 * The local NodeProvider against the contract every provider keeps (@tide/control/testing), with a
 * stand-in agent (a process that waits for SIGTERM; `cleanup` exits at once), and what only it does:
 * the loopback layout of its nodes, the join token (in the agent's environment) and flags, the record a restarted control plane reads.
 */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONTRACT_POOL, nodeProviderContract } from '@tide/control/testing';
import { LocalNodeProvider, capacityFor } from './local.node.provider';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-local-nodes-'));
const agent = path.join(root, 'agent.js');
fs.writeFileSync(agent, `if (process.argv[2] === 'cleanup') process.exit(0);
const seen = [...process.argv.slice(2), '--env-join-token', process.env.TIDE_JOIN_TOKEN ?? ''];
require('fs').writeFileSync(process.argv[process.argv.indexOf('--state-dir') + 1] + '.args', JSON.stringify(seen));
process.on('SIGTERM', () => process.exit(0));
setInterval(() => undefined, 60_000);
`);
const made: LocalNodeProvider[] = [];
const joined: string[] = [];

function provider(stateDir = fs.mkdtempSync(path.join(root, 'cluster-'))): LocalNodeProvider {
  fs.mkdirSync(path.join(stateDir, 'nodes', 'node-1'), { recursive: true }); // what tsctl up made
  const p = new LocalNodeProvider({
    stateDir, basePort: 30000, grpcListen: '127.0.0.1:30001', agentScript: agent, log: () => undefined,
    joinToken: async (node) => (joined.push(node), { token: `join-${node}`, caHash: 'sha256:abc' }),
  });
  made.push(p);
  return p;
}

after(async () => {
  for (const p of made) for (const node of await p.list()) await p.delete(node.name);
  fs.rmSync(root, { recursive: true, force: true });
});

describe('NodeProvider contract: LocalNodeProvider', () => {
  for (const { name, run } of nodeProviderContract(() => provider())) it(name, run);
});

describe('LocalNodeProvider', () => {
  it('starts each node in the loopback layout after the nodes tsctl up made, joining by its own name', async () => {
    const stateDir = fs.mkdtempSync(path.join(root, 'cluster-'));
    const local = provider(stateDir);
    const node = await local.create(CONTRACT_POOL);
    assert.equal(node.name, 'web-2');
    const argsFile = path.join(stateDir, 'nodes', 'web-2.args');
    const args = await waitForFile(argsFile);
    const flag = (name: string) => args[args.indexOf(`--${name}`) + 1];
    assert.equal(flag('address'), '127.0.1.2');
    assert.equal(flag('port'), '30012'); // P + 10 + i
    assert.equal(flag('control-plane'), '127.0.0.1:30001');
    assert.equal(flag('env-join-token'), 'join-web-2'); // in the environment, not the command line
    assert.equal(args.includes('--join'), false);
    assert.equal(flag('ca-hash'), 'sha256:abc');
    assert.equal(flag('labels'), 'pool=web,tide.io/pool=web');
    assert.equal(flag('cpu'), '2100'); // 2000m allocatable once the agent keeps its 100m
    assert.ok(joined.includes('web-2'));
    // A control plane restarted on the same state dir knows the node.
    assert.deepEqual((await provider(stateDir).list()).map((n) => n.name), ['web-2']);
  });

  it('gives an agent the capacity whose allocatable is the template', () => {
    // The agent keeps min(100m, a tenth) of CPU and min(128 MiB, a tenth) of memory.
    assert.deepEqual(capacityFor({ cpu: 1000, memory: 2 * 2 ** 30 }), { cpu: 1100, memory: 2 * 2 ** 30 + 128 * 2 ** 20 });
    assert.equal(capacityFor({ cpu: 1000, memory: 2 ** 30 }).memory, Math.ceil(2 ** 30 / 0.9)); // under 1280 MiB the tenth is kept
    assert.deepEqual(capacityFor({ cpu: 450, memory: 900 * 2 ** 20 }), { cpu: 500, memory: 1000 * 2 ** 20 }); // 450 / 0.9, 900 MiB / 0.9
  });
});

async function waitForFile(file: string): Promise<string[]> {
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the stand-in agent did not start: no ${file}`);
}
