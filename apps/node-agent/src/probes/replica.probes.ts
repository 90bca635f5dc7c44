/** Between the reconciler's replicas and the prober: which containers to probe, and their verdict. */
import { ReplicaRecord } from '../reconcile/replica.record';
import { ProbeVerdictView } from '../reconcile/reconciler';
import { ProbedContainer, Prober } from './prober';

/** The running, unpaused containers whose replica declares probes; http and tcp checks go to `host`. */
export function probedContainers(records: Iterable<ReplicaRecord>, nodeAddress: string): ProbedContainer[] {
  const out: ProbedContainer[] = [];
  for (const record of records) {
    const probes = record.assignment?.template.probes;
    const container = record.container;
    // A paused container answers no probe: its probes start over once it is thawed.
    if (!probes || !container || record.exit || container.paused) continue;
    // A bridge container has its own address; a host-network one listens on the node's.
    out.push({ key: record.key, containerId: container.id, startedAt: container.startedAt.getTime(), host: container.ip ?? nodeAddress, probes });
  }
  return out;
}

const NOT_PROBED_YET: ProbeVerdictView = { ready: false, message: 'waiting for the first probe' };

/** The verdict about the record's current container; a replica with probes is never ready before they ran. */
export function verdictFor(prober: Prober, record: ReplicaRecord): ProbeVerdictView | undefined {
  if (!record.assignment?.template.probes || !record.container) return undefined;
  return prober.verdict(record.key, { containerId: record.container.id, startedAt: record.container.startedAt.getTime() }) ?? NOT_PROBED_YET;
}
