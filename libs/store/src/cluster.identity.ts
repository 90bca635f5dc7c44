/**
 * The cluster's identity: a random id written once, by the first control plane that starts on the
 * store, and read by every one after it. Agents learn it at their join and refuse a control plane
 * that answers with another one: a control plane started on an empty store (a wiped state dir, the
 * wrong --etcd) makes a new identity, so it cannot tell the cluster's agents to stop everything.
 */
import { Etcd3 } from 'etcd3';
import { ROOT } from './keys';

export const CLUSTER_IDENTITY_KEY = `${ROOT}cluster/identity`;

/** The stored identity, or `candidate` written as it when the store has none (create-if-absent). */
export async function ensureClusterIdentity(client: Etcd3, candidate: string): Promise<string> {
  const result = await client
    .if(CLUSTER_IDENTITY_KEY, 'Create', '==', 0)
    .then(client.put(CLUSTER_IDENTITY_KEY).value(candidate))
    .else(client.get(CLUSTER_IDENTITY_KEY))
    .commit();
  if (result.succeeded) return candidate;
  const stored = result.responses[0].response_range.kvs[0]?.value.toString();
  if (!stored) throw new Error(`${CLUSTER_IDENTITY_KEY} exists but is empty: restore it from a backup of the cluster's etcd`);
  return stored;
}
