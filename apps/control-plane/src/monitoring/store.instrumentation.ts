/**
 * Times every etcd request of the object store, without touching the store: a Proxy wraps the
 * methods that are one etcd request each. Composite methods (mutate: get, then update, retried)
 * are not timed themselves; they call the primitives through the proxy, so each of their requests is.
 */
import { Histogram } from 'prom-client';
import { ObjectStore } from '@tide/store';

/**
 * Each one etcd request, by the operation label it is timed under; the first argument (or the first
 * object's kind) names the kind. updateAll and createAll encode their objects and call the `…Forms`
 * methods through the proxy, so they are timed there, once, under their own names.
 */
const REQUESTS = new Map([
  ['get', 'get'], ['list', 'list'], ['create', 'create'], ['update', 'update'], ['delete', 'delete'],
  ['updateForms', 'updateAll'], ['createForms', 'createAll'],
]);

export function instrumentStore(store: ObjectStore, duration: Histogram<'operation' | 'kind'>): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      const operation = typeof property === 'string' ? REQUESTS.get(property) : undefined;
      if (!operation || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const stop = duration.startTimer({ operation, kind: kindOf(args[0]) });
        const result = (value as (...a: unknown[]) => Promise<unknown>).apply(receiver, args);
        return result.finally(() => stop());
      };
    },
  });
}

function kindOf(first: unknown): string {
  if (typeof first === 'string') return first;
  const item: unknown = Array.isArray(first) ? first[0] : first;
  const object = typeof item === 'object' && item !== null && 'object' in item ? item.object : item; // a StoredForm
  return typeof object === 'object' && object !== null && 'kind' in object ? String(object.kind) : 'unknown';
}
