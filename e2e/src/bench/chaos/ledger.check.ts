/**
 * The write check of the chaos suite, a pure function over the ledger (write.stream.ts) and what etcd
 * holds afterwards. For every acknowledged write and every field it set (exists, mark, replicas):
 * the stored value is that one, or one a later write of the same Service set that was not refused
 * (acknowledged, or of unknown outcome). Otherwise the write was lost. A stored value that only a
 * refused write set is a phantom: a write the client was told failed, applied anyway.
 */
import type { WriteRecord, WrittenFields } from './write.stream';

export interface StoredService {
  exists: boolean;
  mark?: string;
  replicas?: number;
}

export interface WriteCheck {
  lost: number;
  phantom: number;
  /** One line per lost or phantom write, for the report. */
  details: string[];
}

const FIELDS = ['exists', 'mark', 'replicas'] as const;

export function checkWrites(ledger: WriteRecord[], stored: Map<string, StoredService>): WriteCheck {
  const check: WriteCheck = { lost: 0, phantom: 0, details: [] };
  const byService = new Map<string, WriteRecord[]>();
  for (const record of ledger) byService.set(record.service, [...(byService.get(record.service) ?? []), record]);
  for (const [service, records] of byService) {
    const now = stored.get(service) ?? { exists: false };
    records.forEach((record, index) => {
      if (record.outcome !== 'acknowledged') return;
      // Of a Service etcd no longer holds, only `exists` can be checked (a later delete must account for it).
      const fields = now.exists ? FIELDS : (['exists'] as const);
      const missing = fields.filter((field) => setsField(record.fields, field) && !holds(now, field, record.fields[field])
        && !records.slice(index + 1).some((later) => later.outcome !== 'refused' && setsField(later.fields, field) && holds(now, field, later.fields[field])));
      if (missing.length === 0) return;
      check.lost++;
      check.details.push(`lost: ${service} ${JSON.stringify(record.fields)} (${record.status}), etcd holds ${JSON.stringify(now)}`);
    });
    if (now.mark !== undefined && isPhantom(records, now.mark)) {
      check.phantom++;
      check.details.push(`phantom: ${service} holds mark ${now.mark}, which only a refused write set`);
    }
  }
  return check;
}

function setsField(fields: WrittenFields, field: keyof WrittenFields): boolean {
  // A delete sets only `exists`; what an absent Service "holds" otherwise means nothing.
  return fields[field] !== undefined && (field === 'exists' || fields.exists);
}

function holds(now: StoredService, field: keyof WrittenFields, value: WrittenFields[keyof WrittenFields]): boolean {
  return now[field] === value;
}

function isPhantom(records: WriteRecord[], mark: string): boolean {
  const setting = records.filter((record) => record.fields.mark === mark);
  return setting.length > 0 && setting.every((record) => record.outcome === 'refused');
}
