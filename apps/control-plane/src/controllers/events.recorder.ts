/** Records Events about objects, for `tsctl describe` and `tsctl get events`. */
import { Kind, TideEvent } from '@tide/api';
import { ObjectStore } from '@tide/store';

export class EventRecorder {
  private sequence = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly source: string,
  ) {}

  async record(
    object: { kind: Kind; namespace: string; name: string },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = object.kind === 'Node' ? 'default' : object.namespace;
    const name = `${object.name}.${Date.now().toString(36)}${(this.sequence++ % 1296).toString(36).padStart(2, '0')}`;
    const event: TideEvent = {
      apiVersion: 'tide/v1', kind: 'Event', metadata: { name, namespace },
      spec: { involvedObject: { ...object, namespace }, type, reason, message, timestamp: new Date().toISOString(), source: this.source },
    };
    await this.store.create(event).catch(() => undefined);
  }
}
