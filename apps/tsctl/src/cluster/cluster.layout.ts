/**
 * Where the parts of a local cluster live (contract, docs/REFERENCE.md): HTTP on P, gRPC on P+1,
 * etcd client P+2 / peer P+3, the embedded registry P+4, node i (1-based) at 127.0.1.i with its agent on P+10+i, each node
 * with 1/N of the machine's CPU and memory. With simulated hosts (`--hosts netns`) the control plane
 * listens on the machine's LAN address (the host CIDR's first) and node i is the host at its (i+1)-th.
 */
import * as path from 'node:path';
import { SimulatedHost, SimulatedLan, simulatedLan } from './simulated.hosts';

export const HOSTS_MODES = ['loopback', 'netns'] as const;
export type HostsMode = (typeof HOSTS_MODES)[number];

export interface NodeLayout {
  name: string;
  address: string;
  agentPort: number;
  stateDir: string;
  /** The shared STATE/images, or STATE/images-NODE with `tsctl up --image-stores per-node`. */
  imageDir: string;
  cpuMillis: number;
  memoryBytes: number;
  log: string;
  /** Its simulated host (`--hosts netns`). */
  host?: SimulatedHost;
}

export interface ClusterLayout {
  stateDir: string;
  basePort: number;
  server: string;
  httpListen: string;
  grpcListen: string;
  etcdPort: number;
  /** The embedded registry (P+4), unless `tsctl up --registry` names another. */
  registryPort: number;
  registryListen: string;
  controlPlaneStateDir: string;
  controlPlaneLog: string;
  /** The cluster's certificates (libs/pki clusterPkiLayout: ca.crt, control-plane.crt, ...). */
  pkiDir: string;
  /** One JSON line per mutating API request. */
  auditLog: string;
  imageDir: string;
  imageStores: ImageStores;
  nodes: NodeLayout[];
  /** The test LAN of the simulated hosts (`--hosts netns`); none for loopback nodes. */
  lan?: SimulatedLan;
  /** `tsctl up --address IP`: this machine's routable address, where the control plane listens. */
  address?: string;
}

export const MAX_LOCAL_NODES = 50;

export type ImageStores = 'shared' | 'per-node';

/**
 * `hosts`: the simulated hosts' LAN (`--hosts netns --host-cidr CIDR`), or loopback nodes when absent.
 * `address` (`tsctl up --address IP`, loopback only): the control plane listens on this machine's
 * routable address, and its one node, if any, has that address, so that agents on other machines reach both.
 * `imageStores`: `shared` (one store for every local node: an image is on all of them at once) or
 * `per-node` (each node its own, as on separate machines: what peer-to-peer pulls are for).
 */
export function clusterLayout(
  stateDir: string, basePort: number, nodeCount: number, machine: { cpuMillis: number; memoryBytes: number },
  options: { hosts?: { cidr: string }; address?: string; imageStores?: ImageStores } = {},
): ClusterLayout {
  const { hosts, address, imageStores = 'shared' } = options;
  const names = Array.from({ length: nodeCount }, (_, i) => `node-${i + 1}`);
  const lan = hosts ? simulatedLan(stateDir, hosts.cidr, names) : undefined;
  const nodes: NodeLayout[] = names.map((name, i) => ({
    name, address: lan ? lan.hosts[i].address : address ?? `127.0.1.${i + 1}`, agentPort: basePort + 11 + i, stateDir: path.join(stateDir, 'nodes', name),
    imageDir: imageDirOf(stateDir, name, imageStores),
    cpuMillis: Math.floor(machine.cpuMillis / nodeCount), memoryBytes: Math.floor(machine.memoryBytes / nodeCount),
    log: path.join(stateDir, `${name}.log`), ...(lan ? { host: lan.hosts[i] } : {}),
  }));
  const host = lan?.gateway ?? address ?? '127.0.0.1';
  return {
    stateDir, basePort, server: `https://${host}:${basePort}`, ...(lan ? { lan } : {}), ...(address && !lan ? { address } : {}),
    httpListen: `${host}:${basePort}`, grpcListen: `${host}:${basePort + 1}`, etcdPort: basePort + 2,
    registryPort: basePort + 4, registryListen: `${host}:${basePort + 4}`,
    controlPlaneStateDir: path.join(stateDir, 'control-plane'), controlPlaneLog: path.join(stateDir, 'control-plane.log'),
    pkiDir: path.join(stateDir, 'pki'), auditLog: path.join(stateDir, 'audit.log'),
    imageDir: path.join(stateDir, 'images'), imageStores, nodes,
  };
}

/** `extra`: control-plane flags `tsctl up` passes through as given (`--consolidation off`, ...). */
export function controlPlaneArgs(layout: ClusterLayout, nodeGraceSeconds?: number, podCidr?: string, extra: string[] = []): string[] {
  return [
    '--listen', layout.httpListen, '--grpc-listen', layout.grpcListen, '--etcd-port', String(layout.etcdPort),
    '--state-dir', layout.controlPlaneStateDir, '--pki-dir', layout.pkiDir, '--audit-log', layout.auditLog,
    ...(nodeGraceSeconds !== undefined ? ['--node-grace-seconds', String(nodeGraceSeconds)] : []),
    ...(podCidr !== undefined ? ['--pod-cidr', podCidr] : []),
    ...extra,
  ];
}

export function imageDirOf(stateDir: string, node: string, imageStores: ImageStores): string {
  return path.join(stateDir, imageStores === 'shared' ? 'images' : `images-${node}`);
}

export function agentArgs(layout: ClusterLayout, node: NodeLayout): string[] {
  return [
    '--name', node.name, '--control-plane', layout.grpcListen, '--address', node.address, '--port', String(node.agentPort),
    '--state-dir', node.stateDir, '--image-dir', node.imageDir, '--cpu', String(node.cpuMillis), '--memory', String(node.memoryBytes),
  ];
}
