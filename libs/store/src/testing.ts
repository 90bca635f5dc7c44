/** Test helper: a real etcd on a free port with a temporary data dir, removed on stop. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { createEtcdClient } from './etcd.client';
import { EtcdSupervisor } from './etcd.supervisor';

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
  stop(): Promise<void>;
}

export async function startTestEtcd(): Promise<TestEtcd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const supervisor = new EtcdSupervisor({ dataDir: path.join(dir, 'data'), clientPort, peerPort, logFile: path.join(dir, 'etcd.log') });
  await supervisor.start();
  const client = createEtcdClient(supervisor.url);
  return {
    url: supervisor.url,
    client,
    async stop() {
      client.close();
      await supervisor.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
