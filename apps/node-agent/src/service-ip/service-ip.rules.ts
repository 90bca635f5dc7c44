/**
 * The kernel's side of service IPs on a node (why this shape: docs/ARCHITECTURE.md, "Service
 * addresses and names"):
 * - the service range is a `local` route of the node (table local, dev lo): a virtual IP is an
 *   address of the host, so a connection to a port nobody serves is refused here and nothing for
 *   the range ever leaves the machine. Agents on one machine share its routing table: each adds
 *   its own route, told apart by its metric.
 * - an iptables nat chain of the node, TIDE-SVC-<id>: per (virtual IP, port), DNAT to the
 *   balancer's listener on the bridge address. PREROUTING jumps to it for traffic from the node's
 *   bridge (its containers), OUTPUT for the host's own connections.
 * Everything carries the node's id (from its state dir, as the bridge's name) so that `node-agent
 * cleanup` finds it, also without the record file.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@tide/runtime';
import type { VirtualRoute } from './service-ip.balancer';

const RECORD_FILE = 'service-ips.json';

export interface ServiceIpNode {
  chain: string;
  /** iptables comment on the jump rules. */
  tag: string;
  /** Of this node's local route for the range. */
  metric: number;
}

export function serviceIpNode(stateDir: string): ServiceIpNode {
  const hash = createHash('sha256').update(path.resolve(stateDir)).digest('hex');
  return { chain: `TIDE-SVC-${hash.slice(0, 10)}`, tag: `tide-svc:${hash.slice(0, 10)}`, metric: 1024 + (parseInt(hash.slice(10, 14), 16) % 30000) };
}

/** The chain's rules in iptables-restore form (`--noflush`: only this chain is replaced). */
export function chainRestoreText(chain: string, gateway: string, routes: VirtualRoute[]): string {
  const rules = [...routes].sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port)
    .map((r) => `-A ${chain} -d ${r.ip}/32 -p tcp -m tcp --dport ${r.port} -j DNAT --to-destination ${gateway}:${r.localPort}`);
  return ['*nat', `:${chain} - [0:0]`, `-F ${chain}`, ...rules, 'COMMIT', ''].join('\n');
}

/** The jump rules into the chain, as `iptables -S` prints them. */
export function jumpRules(node: ServiceIpNode, bridge: string, serviceCidr: string): string[] {
  return [
    `-A PREROUTING -d ${serviceCidr} -i ${bridge} -m comment --comment ${node.tag} -j ${node.chain}`,
    `-A OUTPUT -d ${serviceCidr} -m comment --comment ${node.tag} -j ${node.chain}`,
  ];
}

export class ServiceIpRules {
  readonly node: ServiceIpNode;
  private installed = '';
  /** The range whose route this agent made (a control plane restarted with another range moves it). */
  private routed?: string;

  constructor(private readonly stateDir: string) {
    this.node = serviceIpNode(stateDir);
  }

  /** The next sync writes everything again (after a registration: someone may have flushed the tables). */
  forget(): void {
    this.installed = '';
  }

  /** Makes the node's route, chain and jumps those of `routes` (idempotent; a no-op when nothing changed). */
  async sync(bridge: string, gateway: string, serviceCidr: string, routes: VirtualRoute[]): Promise<void> {
    const restore = chainRestoreText(this.node.chain, gateway, routes);
    const key = `${bridge} ${serviceCidr} ${restore}`;
    if (key === this.installed) return;
    try {
      writeFileAtomic(path.join(this.stateDir, RECORD_FILE), JSON.stringify({ ...this.node, serviceCidr, bridge }));
    } catch {
      // A full disk: the rules go in all the same; cleanup finds them by the node's id without the record.
    }
    await run('ip', ['route', 'replace', 'local', serviceCidr, 'dev', 'lo', 'table', 'local', 'metric', String(this.node.metric)]);
    if (this.routed && this.routed !== serviceCidr) {
      await run('ip', ['route', 'del', 'local', this.routed, 'dev', 'lo', 'table', 'local', 'metric', String(this.node.metric)]).catch(() => undefined);
    }
    this.routed = serviceCidr;
    await run('iptables-restore', ['-w', '--noflush'], restore);
    const present = await listNat();
    const wanted = jumpRules(this.node, bridge, serviceCidr);
    for (const line of present.filter((l) => l.includes(`--comment ${this.node.tag} `) && !wanted.includes(l))) {
      await run('iptables', ['-w', '-t', 'nat', ...line.replace(/^-A /, '-D ').split(' ')]);
    }
    // First in their chains: another rule (Docker's, say) must not take the range's traffic first.
    for (const line of wanted.filter((l) => !present.includes(l))) {
      await run('iptables', ['-w', '-t', 'nat', ...line.replace(/^-A (\S+)/, '-I $1 1').split(' ')]);
    }
    this.installed = key;
  }
}

/** For `node-agent cleanup` (and a test's teardown): the node's jumps, chain and route, whatever is left of them. */
export async function tearDownServiceIps(stateDir: string): Promise<void> {
  const node = serviceIpNode(stateDir);
  const present = await listNat().catch(() => []);
  for (const line of present.filter((l) => l.includes(`--comment ${node.tag} `))) {
    await run('iptables', ['-w', '-t', 'nat', ...line.replace(/^-A /, '-D ').split(' ')]);
  }
  if (present.some((l) => l === `-N ${node.chain}`)) {
    await run('iptables', ['-w', '-t', 'nat', '-F', node.chain]);
    await run('iptables', ['-w', '-t', 'nat', '-X', node.chain]);
  }
  const routes = await run('ip', ['-4', 'route', 'show', 'table', 'local', 'type', 'local', 'dev', 'lo']).catch(() => '');
  for (const line of routes.split('\n')) {
    const match = /^local (\S+) .*\bmetric (\d+)\b/.exec(line.trim());
    if (match && Number(match[2]) === node.metric) await run('ip', ['route', 'del', 'local', match[1], 'dev', 'lo', 'table', 'local', 'metric', match[2]]);
  }
  fs.rmSync(path.join(stateDir, RECORD_FILE), { force: true });
}

/** `iptables -S` of the nat table, with comments unquoted (our tags contain no spaces). */
async function listNat(): Promise<string[]> {
  return (await run('iptables', ['-w', '-t', 'nat', '-S'])).split('\n').map((l) => l.replace(/--comment "([^"]*)"/, '--comment $1')).filter(Boolean);
}

function run(tool: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
