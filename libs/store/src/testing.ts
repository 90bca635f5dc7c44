/**
 * Test helper: a real etcd on a free port with a temporary data dir, removed on stop. It runs as the
 * control plane runs it: TLS with client certificates required (etcd's own CA, libs/pki), so every
 * client a test makes goes through `connect`, with the control plane's etcd client certificate.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3, IOptions } from 'etcd3';
import { ensureEtcdPki } from '@tide/pki';
import { waitFor } from '@tide/api/testing';
import { createEtcdClient, etcdClientCredentials } from './etcd.client';
import { EtcdSupervisor, EtcdSupervisorOptions, EtcdTlsFiles } from './etcd.supervisor';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface TestEtcd {
  url: string;
  client: Etcd3;
  /** etcd's CA, serving and peer certificates, and the client certificate `connect` uses. */
  tls: EtcdTlsFiles;
  /** Another client of this etcd (createEtcdClient with the client certificate); the caller closes it. */
  connect(options?: Partial<IOptions>): Etcd3;
  /** The etcd process (a test may pause it). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** `options`: supervisor settings of the test (a small quota, a compaction retention). */
export async function startTestEtcd(options: Pick<EtcdSupervisorOptions, 'quotaBackendBytes' | 'compactionRetention'> = {}): Promise<TestEtcd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const { layout: tls } = await ensureEtcdPki({ pkiDir: path.join(dir, 'pki') });
  const supervisor = new EtcdSupervisor({ dataDir: path.join(dir, 'data'), clientPort, peerPort, logFile: path.join(dir, 'etcd.log'), tls, ...options });
  await supervisor.start();
  const connect = (options: Partial<IOptions> = {}) => createEtcdClient(supervisor.url, { ...options, credentials: etcdClientCredentials(tls) });
  const client = connect();
  return {
    url: supervisor.url,
    client,
    tls,
    connect,
    pid: () => supervisor.pid,
    async stop() {
      client.close();
      await supervisor.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Pauses a process (SIGSTOP) and waits until every thread of it is stopped: kill returns once the
 * signal is queued, and each thread stops on its own way back to user mode, which on a machine whose
 * cores are busy may come later. Linux only (/proc).
 */
export async function pauseProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const stopped = () => fs.readdirSync(`/proc/${pid}/task`).every((task) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    return /^\S+ \(.*\) [Tt] /.test(stat);
  });
  await waitFor(() => stopped() || undefined, { what: `process ${pid} stopped` });
}
