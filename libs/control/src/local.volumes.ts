/**
 * Named local volumes (libs/api volume.types.ts) as the control plane sees them: which node holds
 * each, and the pending replicas bound to that node for the scheduler. A node holds a volume when
 * its agent reports it (Node status.localVolumes), or, until that report comes, when a replica using
 * it is bound there (the agent makes the volume at that replica's start). Nothing else frees a
 * volume: its data stays on the node until an operator removes it there.
 */
import { LocalVolumeView, Node, Replica, Volume } from '@tide/api';
import { PendingReplica } from '@tide/scheduler';
import { toPending } from './scheduler.input';

/** "namespace/name" of a named local volume. */
export function localVolumeKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The named local volumes a replica uses, as keys. */
export function localVolumesOf(replica: Replica): string[] {
  const volumes: Volume[] = replica.spec.template.volumes ?? [];
  return volumes.flatMap((v) => (v.localVolume ? [localVolumeKey(replica.metadata.namespace, v.localVolume.name)] : []));
}

/** Volume key → the node holding it: the nodes' reports first (sorted by name), then bound replicas. */
export function localVolumeHolders(nodes: Iterable<Node>, replicas: Iterable<Replica>): Map<string, string> {
  const holders = new Map<string, string>();
  const sorted = [...nodes].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const node of sorted) {
    for (const v of node.status?.localVolumes ?? []) {
      const key = localVolumeKey(v.namespace, v.name);
      if (!holders.has(key)) holders.set(key, node.metadata.name);
    }
  }
  for (const replica of replicas) {
    if (!replica.spec.nodeName) continue;
    for (const key of localVolumesOf(replica)) if (!holders.has(key)) holders.set(key, replica.spec.nodeName);
  }
  return holders;
}

/**
 * The batch the scheduler places: each replica with the nodes of the local volumes it uses. Of the
 * replicas using a volume no node holds yet, only the first goes in this batch (two placed at once
 * could land on two nodes); the others wait for a later cycle, when its node holds the volume.
 * `holders` is asked only when some replica uses a local volume.
 */
export function pendingBatch(replicas: readonly Replica[], holders: () => ReadonlyMap<string, string>): PendingReplica[] {
  let known: ReadonlyMap<string, string> | undefined;
  const claimed = new Set<string>();
  const batch: PendingReplica[] = [];
  for (const replica of replicas) {
    const volumes = localVolumesOf(replica);
    if (volumes.length === 0) {
      batch.push(toPending(replica));
      continue;
    }
    known ??= holders();
    const unheld = volumes.filter((v) => !known!.has(v));
    if (unheld.some((v) => claimed.has(v))) continue;
    unheld.forEach((v) => claimed.add(v));
    const held = volumes.filter((v) => known!.has(v)).map((volume) => ({ volume, node: known!.get(volume)! }));
    batch.push({ ...toPending(replica), ...(held.length ? { localVolumes: held } : {}) });
  }
  return batch;
}

/** The replica as the scheduler sees it while its named local volumes stay on `node` (a what-if moving it elsewhere). */
export function pendingKeepingVolumes(replica: Replica, node: string): PendingReplica {
  const volumes = localVolumesOf(replica);
  return volumes.length ? { ...toPending(replica), localVolumes: volumes.map((volume) => ({ volume, node })) } : toPending(replica);
}

/** For `tsctl get volumes`: every named local volume a node holds, with its size and the replicas using it. */
export function localVolumeViews(nodes: Iterable<Node>, replicas: Iterable<Replica>): LocalVolumeView[] {
  const nodeList = [...nodes];
  const replicaList = [...replicas];
  const holders = localVolumeHolders(nodeList, replicaList);
  const sizes = new Map<string, number>();
  for (const node of nodeList) {
    for (const v of node.status?.localVolumes ?? []) if (holders.get(localVolumeKey(v.namespace, v.name)) === node.metadata.name) sizes.set(localVolumeKey(v.namespace, v.name), v.sizeBytes);
  }
  const users = new Map<string, string[]>();
  for (const replica of replicaList) {
    for (const key of localVolumesOf(replica)) users.set(key, [...(users.get(key) ?? []), replica.metadata.name]);
  }
  return [...holders].sort(([a], [b]) => a.localeCompare(b)).map(([key, node]) => {
    const [namespace, name] = key.split('/');
    const size = sizes.get(key);
    return { namespace, name, node, ...(size !== undefined ? { sizeBytes: size } : {}), users: (users.get(key) ?? []).sort() };
  });
}
