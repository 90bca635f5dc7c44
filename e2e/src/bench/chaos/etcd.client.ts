/**
 * etcdctl (Debian's etcd-client) against a test cluster's supervised etcd, with the control plane's
 * etcd client certificate (STATE/pki/etcd): the chaos suite reads what etcd itself holds, not what the
 * API says, and finds the members' processes and the leader.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pidsMentioning } from '../../harness';
import type { StoredService } from './ledger.check';

export interface EtcdMember {
  pid: number;
  name: string;
  clientUrl: string;
}

export class EtcdClient {
  constructor(private readonly stateDir: string, private readonly endpoints: string[]) {}

  /** etcdctl's output; throws naming the command and its error. */
  run(args: string[], timeoutMs = 30_000): string {
    const pki = path.join(this.stateDir, 'pki', 'etcd');
    const result = spawnSync('etcdctl', [
      `--endpoints=${this.endpoints.join(',')}`, `--cacert=${path.join(pki, 'ca.crt')}`,
      `--cert=${path.join(pki, 'control-plane-client.crt')}`, `--key=${path.join(pki, 'control-plane-client.key')}`, ...args,
    ], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs });
    if (result.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${result.stderr || result.error?.message}`);
    return result.stdout;
  }

  /** The Services under /tide/v1/services/default/ whose name starts with `prefix`, as the ledger check reads them. */
  services(prefixes: string[]): Map<string, StoredService> {
    const answer = JSON.parse(this.run(['get', '--prefix', '/tide/v1/services/default/', '-w', 'json'])) as { kvs?: { key: string; value: string }[] };
    const stored = new Map<string, StoredService>();
    for (const kv of answer.kvs ?? []) {
      const name = Buffer.from(kv.key, 'base64').toString().split('/').at(-1)!;
      if (!prefixes.some((prefix) => name.startsWith(prefix))) continue;
      const service = JSON.parse(Buffer.from(kv.value, 'base64').toString()) as { spec: { replicas?: number; env?: Record<string, string> } };
      stored.set(name, { exists: true, mark: service.spec.env?.MARK, replicas: service.spec.replicas });
    }
    return stored;
  }

  /** The client URL of the member that leads now. */
  leaderUrl(): string {
    const statuses = JSON.parse(this.run(['endpoint', 'status', '-w', 'json'], 10_000)) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
    const leader = statuses.find((s) => String(s.Status.header.member_id) === String(s.Status.leader));
    if (!leader) throw new Error(`no etcd member says it leads: ${JSON.stringify(statuses)}`);
    return leader.Endpoint;
  }
}

/** The etcd processes a cluster's control plane supervises (their command lines mention the state dir). */
export function etcdMembers(stateDir: string): EtcdMember[] {
  return pidsMentioning(stateDir).flatMap((pid) => {
    let args: string[];
    try {
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return [];
    }
    if (!args[0].endsWith('etcd')) return [];
    const flag = (name: string) => args[args.indexOf(name) + 1];
    return [{ pid, name: flag('--name'), clientUrl: flag('--advertise-client-urls') }];
  });
}
