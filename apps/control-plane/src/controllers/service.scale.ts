/** The one way spec.replicas changes outside apply: `tsctl scale` (PUT .../scale) and the autoscaler. */
import { Service } from '@tide/api';
import { ObjectStore } from '@tide/store';

/**
 * Sets a Service's replica count; the service controller then creates or drains replicas. With
 * `onlyIf`, the write happens only while the stored Service still passes it (the autoscaler checks
 * that the count it decided from is still the count, so a user's scale in between wins). Returns
 * the stored Service, or undefined when `onlyIf` refused.
 */
export async function scaleService(
  store: ObjectStore, namespace: string, name: string, replicas: number, onlyIf: (s: Service) => boolean = () => true,
): Promise<Service | undefined> {
  let refused = false;
  const stored = await store.mutate<Service>('Service', namespace, name, (s) => {
    refused = !onlyIf(s);
    if (refused || s.spec.replicas === replicas) return undefined;
    return { ...s, spec: { ...s.spec, replicas } };
  });
  return refused ? undefined : stored;
}
