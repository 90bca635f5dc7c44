/**
 * Where the parts of a local cluster live (contract, docs/REFERENCE.md): HTTP on P, gRPC on P+1,
 * etcd client P+2 / peer P+3, the embedded registry P+4, node i (1-based) at 127.0.1.i with its agent on P+10+i, each node
 * with 1/N of the machine's CPU and memory.
 */
import * as path from 'node:path';

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
  nodes: NodeLayout[];
}

export const MAX_LOCAL_NODES = 50;

/**
 * `imageStores`: `shared` (one store for every local node: an image is on all of them at once) or
 * `per-node` (each node its own, as on separate machines: what peer-to-peer pulls are for).
 */
export function clusterLayout(
  stateDir: string, basePort: number, nodeCount: number, machine: { cpuMillis: number; memoryBytes: number }, imageStores: 'shared' | 'per-node' = 'shared',
): ClusterLayout {
  const nodes: NodeLayout[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    const name = `node-${i}`;
    nodes.push({
      name, address: `127.0.1.${i}`, agentPort: basePort + 10 + i, stateDir: path.join(stateDir, 'nodes', name),
      imageDir: imageDirOf(stateDir, name, imageStores),
      cpuMillis: Math.floor(machine.cpuMillis / nodeCount), memoryBytes: Math.floor(machine.memoryBytes / nodeCount),
      log: path.join(stateDir, `${name}.log`),
    });
  }
  return {
    stateDir, basePort, server: `https://127.0.0.1:${basePort}`,
    httpListen: `127.0.0.1:${basePort}`, grpcListen: `127.0.0.1:${basePort + 1}`, etcdPort: basePort + 2,
    registryPort: basePort + 4, registryListen: `127.0.0.1:${basePort + 4}`,
    controlPlaneStateDir: path.join(stateDir, 'control-plane'), controlPlaneLog: path.join(stateDir, 'control-plane.log'),
    pkiDir: path.join(stateDir, 'pki'), auditLog: path.join(stateDir, 'audit.log'),
    imageDir: path.join(stateDir, 'images'), nodes,
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

export function imageDirOf(stateDir: string, node: string, imageStores: 'shared' | 'per-node'): string {
  return path.join(stateDir, imageStores === 'shared' ? 'images' : `images-${node}`);
}

export function agentArgs(layout: ClusterLayout, node: NodeLayout): string[] {
  return [
    '--name', node.name, '--control-plane', layout.grpcListen, '--address', node.address, '--port', String(node.agentPort),
    '--state-dir', node.stateDir, '--image-dir', node.imageDir, '--cpu', String(node.cpuMillis), '--memory', String(node.memoryBytes),
  ];
}
