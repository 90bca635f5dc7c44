/**
 * Several supervised etcd members on this machine (`--etcd-members 3`): each its own process, data
 * dir and ports, peers speaking TLS with etcd's peer certificate (libs/pki: 127.0.0.1, server and
 * client use), clients reaching any member. A quorum survives one member lost; each member is
 * restarted by its supervisor and rejoins from its data dir.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EtcdSupervisor, EtcdSupervisorOptions } from './etcd.supervisor';

export interface EtcdMemberPorts {
  client: number;
  peer: number;
}

/**
 * Member 0 keeps the single member's ports (`etcdPort`, `etcdPort + 1`); member i ≥ 1 takes
 * `etcdPort + 1 + 2i` and the next (with `tsctl up`'s layout, base + 2/+3, then +5/+6, +7/+8: +4 is
 * the registry's).
 */
export function memberPorts(etcdPort: number, members: number): EtcdMemberPorts[] {
  return Array.from({ length: members }, (_, i) => (i === 0 ? { client: etcdPort, peer: etcdPort + 1 } : { client: etcdPort + 1 + 2 * i, peer: etcdPort + 2 + 2 * i }));
}

/** Member 0 is named and stored as the single member always was (`tide`, STATE/etcd). */
function memberName(index: number): string {
  return index === 0 ? 'tide' : `tide-${index}`;
}

export interface EtcdClusterOptions extends Omit<EtcdSupervisorOptions, 'dataDir' | 'clientPort' | 'peerPort' | 'member' | 'logFile'> {
  /** Member 0's data dir; member i's is `<dataDir>-<i>`. */
  dataDir: string;
  etcdPort: number;
  members: number;
  /** Member 0's log; member i's is `<name>-<i>.log` beside it. */
  logFile: string;
}

export class EtcdCluster {
  private readonly members: EtcdSupervisor[];

  constructor(options: EtcdClusterOptions) {
    if (!Number.isInteger(options.members) || options.members < 1 || options.members % 2 === 0) {
      throw new Error(`etcd members: ${options.members} is not a positive odd number (1, 3, 5): an even count adds no fault tolerance`);
    }
    const ports = memberPorts(options.etcdPort, options.members);
    const scheme = options.tls ? 'https' : 'http';
    const initialCluster = ports.map((p, i) => `${memberName(i)}=${scheme}://${options.host ?? '127.0.0.1'}:${p.peer}`).join(',');
    assertSameSize(options.dataDir, options.members);
    const { dataDir, logFile, etcdPort: _port, members: _count, ...shared } = options;
    this.members = ports.map((p, i) => new EtcdSupervisor({
      ...shared, dataDir: i === 0 ? dataDir : `${dataDir}-${i}`, clientPort: p.client, peerPort: p.peer,
      logFile: i === 0 ? logFile : logFile.replace(/(\.log)?$/, `-${i}.log`), member: { name: memberName(i), initialCluster },
    }));
  }

  /** Every member's client URL. */
  get urls(): string[] {
    return this.members.map((m) => m.url);
  }

  async start(timeoutMs = 30_000): Promise<void> {
    for (const member of this.members) member.launch();
    await Promise.all(this.members.map((m) => m.waitHealthy(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}

/**
 * A data dir made by a cluster of another size cannot join this one (etcd's cluster ID differs):
 * the size is recorded beside it and a different one refused, saying what to do.
 */
function assertSameSize(dataDir: string, members: number): void {
  const record = `${dataDir}.members`;
  const previous = fs.existsSync(record) ? Number(fs.readFileSync(record, 'utf8').trim()) : fs.existsSync(path.join(dataDir, 'member')) ? 1 : undefined;
  if (previous !== undefined && previous !== members) {
    throw new Error(`${dataDir} holds a ${previous}-member etcd: it cannot become ${members} members in place; keep --etcd-members ${previous}, or start on a new state dir`);
  }
  fs.mkdirSync(path.dirname(record), { recursive: true });
  fs.writeFileSync(record, `${members}\n`);
}
