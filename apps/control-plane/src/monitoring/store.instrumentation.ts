/**
 * Times every etcd request of the object store, without touching the store: a Proxy wraps the
 * methods that are one etcd request each. Composite methods (mutate: get, then update, retried)
 * are not timed themselves; they call the primitives through the proxy, so each of their requests is.
 */
import { Histogram } from 'prom-client';
import { ObjectStore } from '@tide/store';

/** Each one etcd request; the first argument (or the first object's kind) names the kind. */
const REQUESTS = new Set(['get', 'list', 'create', 'update', 'delete', 'updateAll']);

export function instrumentStore(store: ObjectStore, duration: Histogram<'operation' | 'kind'>): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !REQUESTS.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const stop = duration.startTimer({ operation: property, kind: kindOf(args[0]) });
        const result = (value as (...a: unknown[]) => Promise<unknown>).apply(receiver, args);
        return result.finally(() => stop());
      };
    },
  });
}

function kindOf(first: unknown): string {
  if (typeof first === 'string') return first;
  const object = Array.isArray(first) ? first[0] : first;
  return typeof object === 'object' && object !== null && 'kind' in object ? String(object.kind) : 'unknown';
}
