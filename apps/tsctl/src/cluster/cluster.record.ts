/** DIR/cluster.json: what `tsctl up` started, read again by `tsctl up` (to keep the size and ports), `down` and `host`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClusterLayout, HostsMode, ImageStores } from './cluster.layout';

export interface ClusterRecord {
  stateDir: string;
  server: string;
  ports: { http: number; grpc: number; etcdClient: number; etcdPeer: number; registry?: number };
  /** Absent in records from before simulated hosts: loopback. */
  hosts?: { mode: HostsMode; cidr?: string; address?: string };
  /** `tsctl up --image-stores`; absent in records from before it: shared. */
  imageStores?: ImageStores;
  controlPlane: { pid: number; log: string };
  /** `argv`: how the agent was started (without a join token), so that `tsctl host start` starts it the same way. */
  nodes: { name: string; pid: number; address: string; agentPort: number; stateDir: string; log: string; argv?: string[] }[];
}

export function readClusterRecord(stateDir: string): ClusterRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'cluster.json'), 'utf8')) as ClusterRecord;
  } catch {
    return undefined; // a new cluster
  }
}

export function writeClusterRecord(layout: ClusterLayout, controlPlanePid: number, agents: { pid: number; argv: string[] }[]): void {
  const record: ClusterRecord = {
    stateDir: layout.stateDir, server: layout.server,
    ports: { http: layout.basePort, grpc: layout.basePort + 1, etcdClient: layout.etcdPort, etcdPeer: layout.etcdPort + 1, registry: layout.registryPort },
    hosts: layout.lan ? { mode: 'netns', cidr: layout.lan.cidr } : { mode: 'loopback', ...(layout.address ? { address: layout.address } : {}) },
    imageStores: layout.imageStores,
    controlPlane: { pid: controlPlanePid, log: layout.controlPlaneLog },
    nodes: layout.nodes.map((n, i) => ({
      name: n.name, pid: agents[i].pid, address: n.address, agentPort: n.agentPort, stateDir: n.stateDir, log: n.log, argv: agents[i].argv,
    })),
  };
  fs.writeFileSync(path.join(layout.stateDir, 'cluster.json'), `${JSON.stringify(record, null, 2)}\n`);
}
