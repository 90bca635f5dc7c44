/** Restart counts and last exits in STATE/replicas.json, so that they survive agent restarts. */
import * as fs from 'node:fs';
import { writeFileAtomic } from '@tide/runtime';
import { PersistedRecord, ReplicaRecord, pickPersisted } from './replica.record';

export interface ReplicaStateStore {
  load(): Map<string, PersistedRecord>;
  save(records: Iterable<ReplicaRecord>): void;
}

export class ReplicaStateFile implements ReplicaStateStore {
  private lastWritten = '';

  constructor(private readonly file: string) {}

  load(): Map<string, PersistedRecord> {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, PersistedRecord>;
      return new Map(Object.entries(parsed));
    } catch {
      return new Map(); // first start, or a torn file: counts start from zero
    }
  }

  /** Written atomically (rename), and only when something changed. */
  save(records: Iterable<ReplicaRecord>): void {
    const out: Record<string, PersistedRecord> = {};
    for (const record of records) out[record.key] = pickPersisted(record);
    const text = JSON.stringify(out);
    if (text === this.lastWritten) return;
    writeFileAtomic(this.file, text); // a full disk throws here and keeps the last good file (the caller logs it)
    this.lastWritten = text;
  }
}

/** For tests and for `cleanup`: remembers nothing. */
export const noReplicaState: ReplicaStateStore = { load: () => new Map(), save: () => undefined };
