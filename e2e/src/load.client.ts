/**
 * A bounded keep-alive load generator for the e2e tests: `connections` loops, each on its own
 * keep-alive connection to one of the targets, sending GETs back to back until stopped, the time
 * limit or the request limit. Counts every answer by status, and every failure with its reason.
 */
import * as http from 'node:http';

export interface LoadResult {
  ok: number;
  failed: number;
  /** Failure reasons (status or error message) and how often. */
  failures: Record<string, number>;
  /** Answers by body (the replica's hostname in these tests). */
  byBody: Record<string, number>;
}

export interface LoadOptions {
  /** host:port targets; the loops take them in turn. */
  targets: string[];
  connections: number;
  maxSeconds: number;
  maxRequests: number;
  /**
   * Every other request a POST: a balancer may not send a POST twice, so a POST that reaches a
   * replica as it goes away fails; only a replica that left every balancer first keeps them whole.
   */
  posts?: boolean;
}

export class LoadGenerator {
  private stopped = false;
  private readonly result: LoadResult = { ok: 0, failed: 0, failures: {}, byBody: {} };
  private readonly agents: http.Agent[] = [];
  private done?: Promise<LoadResult>;

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    const deadline = Date.now() + this.options.maxSeconds * 1000;
    const loops = Array.from({ length: this.options.connections }, (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      return this.loop(this.options.targets[i % this.options.targets.length], agent, deadline);
    });
    this.done = Promise.all(loops).then(() => {
      for (const agent of this.agents) agent.destroy();
      return this.result;
    });
  }

  /** The counts so far, while the load runs. */
  progress(): LoadResult {
    return structuredClone(this.result);
  }

  /** Stops the loops (each finishes its request in flight) and returns the counts. */
  async stop(): Promise<LoadResult> {
    this.stopped = true;
    return this.done!;
  }

  private async loop(target: string, agent: http.Agent, deadline: number): Promise<void> {
    const [host, port] = target.split(':');
    let post = false;
    while (!this.stopped && Date.now() < deadline && this.result.ok + this.result.failed < this.options.maxRequests) {
      post = this.options.posts === true && !post;
      const answer = await get(host, Number(port), agent, '/', post ? 'POST' : 'GET');
      if (answer.status === 200) {
        this.result.ok++;
        this.result.byBody[answer.body] = (this.result.byBody[answer.body] ?? 0) + 1;
      } else {
        this.result.failed++;
        const reason = answer.error ?? `status ${answer.status}: ${answer.body.slice(0, 100)}`;
        this.result.failures[reason] = (this.result.failures[reason] ?? 0) + 1;
      }
    }
  }
}

export function get(host: string, port: number, agent: http.Agent | false = false, path = '/', method = 'GET'): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    // A request idle for 30 s has failed; a loaded machine may take seconds to answer one.
    const request = http.request({ host, port, path, agent, method, timeout: 30_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: body.trim() }));
      response.on('error', (error) => resolve({ status: 0, body, error: error.message }));
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 30 s')));
    request.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    request.end(method === 'POST' ? 'order=1' : undefined);
  });
}
