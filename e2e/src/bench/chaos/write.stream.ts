/**
 * The steady stream of writes of the chaos suite, and its ledger: every apply, scale and delete
 * sent, with what the API answered. An answer is one of
 *   acknowledged  2xx: the write must be in etcd afterwards (or be overwritten by a later write);
 *   refused       400-499, 503 and 507: the API said nothing was written, so it must never appear;
 *   unknown       504, another 5xx, no answer: it may or may not have been applied.
 * Each Service is written by one loop at a time, so the ledger's order per Service is the order sent.
 */
import type { Agent } from 'undici';

export type Outcome = 'acknowledged' | 'refused' | 'unknown';

/** The fields of a stored Service one write sets: `exists` (false for a delete), `mark` (a unique
 *  value in `spec.env.MARK`) and `replicas`. */
export interface WrittenFields {
  exists: boolean;
  mark?: string;
  replicas?: number;
}

export interface WriteRecord {
  service: string;
  fields: WrittenFields;
  outcome: Outcome;
  status: number;
  at: number;
}

export interface ApiClient {
  servers: string[];
  token: string;
  dispatcher: Agent;
}

/** Sleeping Services written by the stream, named so that the suite's leak checks find their containers. */
export const CHURN_PREFIX = 'chx-churn-';

export function churnService(name: string, replicas: number, mark: string): unknown {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: {
      replicas, image: 'busybox', command: ['sleep', '3600'], env: { MARK: mark },
      resources: { requests: { cpu: '10m', memory: '8Mi' } }, terminationGracePeriodSeconds: 0,
    },
  };
}

export class WriteStream {
  readonly ledger: WriteRecord[] = [];
  private stopped = true;
  private loop?: Promise<void>;
  private sequence = 0;
  private server = 0;

  constructor(private readonly api: ApiClient, readonly services: string[], private readonly intervalMs: number) {}

  /** Starts the stream: round robin over the Services, an apply (new mark, 0-3 replicas) then a scale, and so on. */
  start(): void {
    this.stopped = false;
    this.loop = (async () => {
      for (let turn = 0; !this.stopped; turn++) {
        const service = this.services[turn % this.services.length];
        const replicas = Math.floor(Math.random() * 4);
        if (Math.floor(turn / this.services.length) % 2 === 0) await this.apply(service, churnService(service, replicas, this.nextMark()), replicas);
        else await this.scale(service, replicas);
        await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  nextMark(): string {
    return `m${++this.sequence}`;
  }

  /** Applies one Service document whose env MARK and replicas are `mark`/`replicas`, and records the answer. */
  async apply(service: string, document: unknown, replicas: number): Promise<WriteRecord> {
    const mark = (document as { spec: { env: { MARK: string } } }).spec.env.MARK;
    return this.send(service, { exists: true, mark, replicas }, '/api/v1/apply', { method: 'POST', body: JSON.stringify({ documents: [document] }) });
  }

  async scale(service: string, replicas: number): Promise<WriteRecord> {
    return this.send(service, { exists: true, replicas }, `/api/v1/services/${service}/scale?namespace=default`, { method: 'PUT', body: JSON.stringify({ replicas }) });
  }

  async delete(service: string): Promise<WriteRecord> {
    return this.send(service, { exists: false }, `/api/v1/services/${service}?namespace=default`, { method: 'DELETE' });
  }

  /** Whether a write was acknowledged since `at` (performance.now()). */
  acknowledgedSince(at: number): boolean {
    return this.ledger.some((record) => record.at >= at && record.outcome === 'acknowledged');
  }

  counts(): Record<Outcome, number> {
    const counts: Record<Outcome, number> = { acknowledged: 0, refused: 0, unknown: 0 };
    for (const record of this.ledger) counts[record.outcome]++;
    return counts;
  }

  private async send(service: string, fields: WrittenFields, route: string, init: RequestInit): Promise<WriteRecord> {
    const at = performance.now();
    const { status, outcome } = await this.answer(route, init);
    const record: WriteRecord = { service, fields, outcome, status, at };
    this.ledger.push(record);
    return record;
  }

  /** One try on the current server; a connection refused moves to the next server for the next write. */
  private async answer(route: string, init: RequestInit): Promise<{ status: number; outcome: Outcome }> {
    const server = this.api.servers[this.server % this.api.servers.length];
    try {
      const response = await fetch(server + route, {
        ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${this.api.token}` },
        dispatcher: this.api.dispatcher, signal: AbortSignal.timeout(15_000),
      } as RequestInit);
      await response.arrayBuffer();
      return { status: response.status, outcome: outcomeOf(response.status) };
    } catch {
      this.server++;
      return { status: 0, outcome: 'unknown' };
    }
  }
}

export function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return 'acknowledged';
  if ((status >= 400 && status < 500) || status === 503 || status === 507) return 'refused';
  return 'unknown';
}
