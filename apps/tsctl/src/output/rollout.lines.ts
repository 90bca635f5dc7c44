/** What `tsctl rollout status` and `rollout history` print, from a Service and its revisions (kubectl's wording). */
import { Service, ServiceRevision, canonicalJson } from '@tide/api';
import { formatAge, formatTable } from './table';

export type RolloutState = { state: 'waiting' | 'done' | 'stuck'; text: string };

/** One line about where the Service's rollout stands. */
export function rolloutState(service: Service): RolloutState {
  const name = `service "${service.metadata.name}"`;
  const status = service.status;
  const desired = service.spec.replicas;
  const waiting = (text: string): RolloutState => ({ state: 'waiting', text: `Waiting for ${name} rollout to finish: ${text}...` });
  const condition = status?.conditions?.find((c) => c.type === 'Progressing');
  // The controller has not looked at this spec yet: its counts are about the previous one.
  if (!status || !condition || (status.observedGeneration ?? 0) < (service.metadata.generation ?? 0)) return waiting('the control plane has not seen the new spec yet');
  if (condition.reason === 'ProgressDeadlineExceeded') return { state: 'stuck', text: `${name} rollout (revision ${status.revision}) exceeded its progress deadline: ${condition.message}` };
  const updated = status.updatedReplicas ?? 0;
  const updatedReady = status.updatedReadyReplicas ?? 0;
  const old = status.oldReplicas ?? 0;
  if (updated < desired) return waiting(`${updated} out of ${desired} new replicas have been updated`);
  if (old > 0) return waiting(`${old} old replicas are pending termination`);
  if (updatedReady < desired) return waiting(`${updatedReady} of ${desired} updated replicas are available`);
  if (condition.reason !== 'NewReplicasAvailable') return waiting(`${status.replicas} replicas, ${desired} wanted`);
  return { state: 'done', text: `${name} successfully rolled out` };
}

/** `REVISION IMAGE CHANGED AGE`, oldest first; CHANGED names the template fields that differ from the revision before. */
export function historyTable(revisions: ServiceRevision[], nowMs = Date.now()): string {
  const rows = revisions.map((r, i) => [
    String(r.spec.revision),
    r.spec.template.image,
    i === 0 ? '<first kept>' : changedFields(revisions[i - 1], r).join(', ') || '<none>',
    formatAge(r.metadata.creationTimestamp, nowMs),
  ]);
  return formatTable(['REVISION', 'IMAGE', 'CHANGED', 'AGE'], rows);
}

function changedFields(before: ServiceRevision, after: ServiceRevision): string[] {
  const a = before.spec.template as Record<string, unknown>;
  const b = after.spec.template as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().filter((key) => canonicalJson(a[key]) !== canonicalJson(b[key]));
}
