/**
 * Which node certificates the cluster still honours: `/tide/v1/nodecerts/<node>` holds the serial
 * numbers of the node's live certificates (written when the control plane signs one at join or
 * renewal; the last two are kept, so the old certificate works until the agent has switched to the
 * new one). `tsctl node delete` removes the record: every certificate of that node is revoked at
 * once, on every control plane (they read it through the ClusterCache's watch). A certificate the
 * CA signed but the cluster does not record is refused, so revocation needs no list of the revoked.
 */
import { Etcd3 } from 'etcd3';
import { ROOT } from './keys';

export const NODE_CERTIFICATES_PREFIX = `${ROOT}nodecerts/`;
/** The current certificate and the one before it (a rotation under way). */
export const KEPT_SERIALS = 2;

export interface NodeCertificateRecord {
  /** Lower-case hex serial numbers, the newest last. */
  serials: string[];
  updatedAt: string;
}

export function nodeCertificatesKey(node: string): string {
  return `${NODE_CERTIFICATES_PREFIX}${node}`;
}

export class NodeCertificates {
  constructor(private readonly client: Etcd3) {}

  async get(node: string): Promise<NodeCertificateRecord | undefined> {
    const text = await this.client.get(nodeCertificatesKey(node)).string();
    return text === null ? undefined : (JSON.parse(text) as NodeCertificateRecord);
  }

  /** Adds a newly signed serial (compare-and-swap, so two signings at once keep both); older ones beyond KEPT_SERIALS go. */
  async record(node: string, serial: string, now: Date = new Date()): Promise<NodeCertificateRecord> {
    const key = nodeCertificatesKey(node);
    for (;;) {
      const current = await this.client.get(key).exec();
      const kv = current.kvs[0];
      const previous = kv ? (JSON.parse(kv.value.toString()) as NodeCertificateRecord).serials : [];
      const serials = [...previous.filter((s) => s !== serial.toLowerCase()), serial.toLowerCase()].slice(-KEPT_SERIALS);
      const record: NodeCertificateRecord = { serials, updatedAt: now.toISOString() };
      const guard = kv ? this.client.if(key, 'Mod', '==', String(kv.mod_revision)) : this.client.if(key, 'Create', '==', 0);
      const result = await guard.then(this.client.put(key).value(JSON.stringify(record))).commit();
      if (result.succeeded) return record;
    }
  }

  /** Revokes every certificate of the node; false when it had none recorded. */
  async revoke(node: string): Promise<boolean> {
    const response = await this.client.delete().key(nodeCertificatesKey(node)).exec();
    return Number(response.deleted) > 0;
  }
}

/** The record's serials from a watched key's value. */
export function decodeNodeCertificates(value: string): string[] {
  try {
    const record = JSON.parse(value) as Partial<NodeCertificateRecord>;
    return Array.isArray(record.serials) ? record.serials.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}
