/**
 * Records Events about objects, for `tsctl describe` and `tsctl get events`. Each lives with a
 * shared etcd lease (LeaseWindows): etcd deletes it an hour or so after it was written.
 */
import { Kind, TideEvent } from '@tide/api';
import { LeaseWindows, ObjectStore, asCreated, packByBytes, storedForm } from '@tide/store';
import { inParallel } from '../parallel';

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
    /** Without it (tests of a controller alone) events never expire. */
    private readonly leases?: LeaseWindows,
  ) {}

  async record(object: EventRecord['object'], type: EventRecord['type'], reason: string, message: string): Promise<void> {
    const event = this.event({ object, type, reason, message });
    await this.lease().then((lease) => this.store.create(event, { lease })).catch(() => undefined);
  }

  /**
   * Many events in few transactions (a scheduling cycle's bindings), EVENT_TXNS_AT_ONCE at a time:
   * events are best effort, and must not hold up the writes that place replicas.
   */
  async recordAll(records: EventRecord[]): Promise<void> {
    const now = new Date().toISOString();
    const forms = records.map((record) => storedForm(asCreated(this.event(record), now)));
    const batches = packByBytes(forms, (form) => form.bytes);
    await inParallel(batches, EVENT_TXNS_AT_ONCE, async (batch) => {
      await this.lease().then((lease) => this.store.createForms(batch, { lease })).catch(() => undefined);
    });
  }

  private async lease(): Promise<string | undefined> {
    return this.leases?.current();
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
