/**
 * Keeps the dashboard's ClusterState current from `GET /api/v1/watch` (a fetch stream of server-sent
 * events), reconnecting with a growing pause when the stream ends; a new snapshot replaces the state
 * on each connection, so nothing missed while away stays wrong.
 */
import type { DashboardChanges, DashboardSnapshot, DashboardUsage } from '@tide/api';
import { ClusterState, type Touched } from './cluster.state';
import { EventStreamParser } from './event.stream';
import { ApiError, type Session } from './session';
import { followAgain, isRefusal } from './stream.follow';

export interface WatchCallbacks {
  update(touched: Touched): void;
  status(connected: boolean, message: string): void;
  /** The credentials were refused (401): sign in again. */
  refused(error: ApiError): void;
}

export class WatchClient {
  readonly state = new ClusterState();
  private readonly abort = new AbortController();

  constructor(private readonly session: Session, private readonly callbacks: WatchCallbacks) {}

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.abort.abort();
  }

  private loop(): Promise<void> {
    return followAgain(this.abort.signal, () => this.follow(), {
      ended: () => this.callbacks.status(false, 'the stream ended: reconnecting'),
      failed: (error) => {
        if (isRefusal(error)) {
          this.callbacks.refused(error);
          return 'stop';
        }
        this.callbacks.status(false, `disconnected (${(error as Error).message}): reconnecting`);
      },
    });
  }

  private async follow(): Promise<void> {
    const path = `/api/v1/watch?namespace=${encodeURIComponent(this.session.watchedNamespace)}`;
    const response = await fetch(path, { headers: { ...this.session.headers(), accept: 'text/event-stream' }, signal: this.abort.signal, credentials: 'omit' });
    if (!response.ok || !response.body) {
      const error = await response.json().then((body: { error?: string }) => body.error, () => undefined);
      throw new ApiError(response.status, error ?? response.statusText);
    }
    // A new stream sends every node's usage it knows: what an older one said may be stale.
    this.state.usage.clear();
    const parser = new EventStreamParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const message of parser.push(value)) {
        if (message.event === 'snapshot') {
          // User Timing marks: how long the first view takes, part by part (npm run bench -- dashboard).
          performance.mark('tide:snapshot-received');
          const touched = this.state.load(JSON.parse(message.data) as DashboardSnapshot);
          performance.mark('tide:snapshot-loaded');
          this.callbacks.update(touched);
          performance.mark('tide:snapshot-drawn');
          this.callbacks.status(true, 'live');
        } else if (message.event === 'changes') {
          this.callbacks.update(this.state.apply(JSON.parse(message.data) as DashboardChanges));
        } else if (message.event === 'usage') {
          this.callbacks.update(this.state.applyUsage(JSON.parse(message.data) as DashboardUsage));
        }
      }
    }
  }
}
