/** The reconciler's running replicas in the shape the publish plan takes. */
import { ReplicaView } from '../reconcile/reconciler';
import { PublishedReplica } from './publish.plan';

export function publishedReplicas(views: ReplicaView[]): PublishedReplica[] {
  const out: PublishedReplica[] = [];
  for (const { record, phase } of views) {
    const container = record.assignment?.container;
    if (phase !== 'Running' || !container || !record.container) continue;
    out.push({
      namespace: record.namespace, service: record.assignment!.service, name: record.name,
      network: record.container.spec.network ?? 'host', ip: record.container.ip,
      ports: container.ports.map((p) => ({ containerPort: p.containerPort, publish: p.publish })),
    });
  }
  return out;
}
