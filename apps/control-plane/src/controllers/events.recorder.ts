/** Records Events about objects, for `tsctl describe` and `tsctl get events`. */
import { Kind, TideEvent } from '@tide/api';
import { ObjectStore } from '@tide/store';
import { inParallel } from '../parallel';

/** Events written per transaction by recordAll (etcd allows 128 operations). */
const EVENTS_PER_TXN = 100;
/** Transactions of one recordAll in flight at once. */
const EVENT_TXNS_AT_ONCE = 4;

export interface EventRecord {
  object: { kind: Kind; namespace: string; name: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class EventRecorder {
  private sequence = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly source: string,
  ) {}

  async record(object: EventRecord['object'], type: EventRecord['type'], reason: string, message: string): Promise<void> {
    await this.store.create(this.event({ object, type, reason, message })).catch(() => undefined);
  }

  /**
   * Many events in few transactions (a scheduling cycle's bindings), EVENT_TXNS_AT_ONCE at a time:
   * events are best effort, and must not hold up the writes that place replicas.
   */
  async recordAll(records: EventRecord[]): Promise<void> {
    const events = records.map((record) => this.event(record));
    const batches: TideEvent[][] = [];
    for (let i = 0; i < events.length; i += EVENTS_PER_TXN) batches.push(events.slice(i, i + EVENTS_PER_TXN));
    await inParallel(batches, EVENT_TXNS_AT_ONCE, async (batch) => void (await this.store.createAll(batch).catch(() => undefined)));
  }

  private event({ object, type, reason, message }: EventRecord): TideEvent {
    const namespace = object.kind === 'Node' ? 'default' : object.namespace;
    const name = `${object.name}.${Date.now().toString(36)}${(this.sequence++ % 1296).toString(36).padStart(2, '0')}`;
    return {
      apiVersion: 'tide/v1', kind: 'Event', metadata: { name, namespace },
      spec: { involvedObject: { ...object, namespace }, type, reason, message, timestamp: new Date().toISOString(), source: this.source },
    };
  }
}
