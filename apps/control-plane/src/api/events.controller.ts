/**
 * GET /api/v1/events[?namespace=NS|all&kind=K&name=N]: the recorded events, oldest first.
 * With `watch=1` the answer is a stream (application/x-ndjson, chunked): one line per event,
 * `{"type":"ADDED","object":EVENT}`, first those recorded so far, then each new one as etcd's watch
 * delivers it (from the revision the list was read at, so none falls between), until the client goes.
 */
import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { TideEvent } from '@tide/api';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';

interface EventFilter {
  namespace?: string;
  kind?: string;
  name?: string;
}

function matches(event: TideEvent, filter: EventFilter): boolean {
  const object = event.spec.involvedObject;
  return (!filter.namespace || event.metadata.namespace === filter.namespace)
    && (!filter.kind || object.kind === filter.kind) && (!filter.name || object.name === filter.name);
}

@Controller('api/v1')
export class EventsController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Get('events')
  @Access('list', 'events')
  async events(
    @Res() res: Response, @Query('namespace') namespace?: string, @Query('kind') kind?: string, @Query('name') name?: string,
    @Query('watch') watch?: string,
  ): Promise<void> {
    const filter: EventFilter = { namespace: namespace === 'all' ? undefined : namespace || 'default', kind, name };
    const { recorded, revision } = await this.recorded(filter);
    if (watch !== '1' && watch !== 'true') return void res.json({ items: recorded });
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' });
    const send = (event: TideEvent) => res.write(`${JSON.stringify({ type: 'ADDED', object: event })}\n`);
    recorded.forEach(send);
    const watcher = await this.cluster.store.watch<TideEvent>('Event', (change) => {
      if (change.type === 'put' && matches(change.object, filter)) send(change.object);
    }, revision + 1);
    const stop = () => void watcher.cancel().catch(() => undefined);
    if (res.destroyed) stop(); // the client left while the watch was being set up
    else res.on('close', stop);
  }

  /**
   * The matching events, oldest first, and the revision they were read at. Events are not cached
   * and grow without bound, so they are read in pages and only the matches are kept; an event's
   * name starts with its object's name (events.recorder.ts), so a name narrows the etcd range too.
   */
  private async recorded(filter: EventFilter): Promise<{ recorded: TideEvent[]; revision: number }> {
    const recorded: TideEvent[] = [];
    let revision = 0;
    const scope = filter.name && filter.namespace ? { namePrefix: `${filter.name}.` } : {};
    for await (const page of this.cluster.store.pages<TideEvent>('Event', filter.namespace, scope)) {
      for (const event of page.items) if (matches(event, filter)) recorded.push(event);
      revision = page.revision;
    }
    return { recorded: recorded.sort((a, b) => a.spec.timestamp.localeCompare(b.spec.timestamp)), revision };
  }
}
