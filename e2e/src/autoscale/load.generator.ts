/**
 * An open-loop HTTP load generator on loopback: requests are sent at the rate a trace asks for,
 * whatever the answers' speed (a closed loop would slow down with the service and hide the spike).
 * One connection per request (`Connection: close`), so every request is balanced anew by the node.
 * Bounded: the trace's duration, a cap on requests in flight (those not sent count as failed) and a
 * time limit per request.
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';

export interface TracePhase {
  seconds: number;
  ratePerSecond: number;
}

export interface RequestResult {
  /** ms since the trace started */
  sentAtMs: number;
  latencyMs: number;
  ok: boolean;
  /** The replica that answered (the service answers its hostname). */
  replica?: string;
  error?: string;
}

export interface LoadOptions {
  host: string;
  port: number;
  maxInFlight?: number;
  timeoutMs?: number;
}

const TICK_MS = 5;

/** Runs the trace; resolves once every request has an answer (or failed). */
export async function runTrace(phases: TracePhase[], options: LoadOptions, onStart: (startMs: number) => void = () => undefined): Promise<RequestResult[]> {
  const results: RequestResult[] = [];
  const pending = new Set<Promise<void>>();
  const maxInFlight = options.maxInFlight ?? 500;
  const start = performance.now();
  onStart(Date.now());
  let sent = 0;
  let phaseStartMs = 0;
  let sentBefore = 0;
  for (const phase of phases) {
    const phaseEnd = phaseStartMs + phase.seconds * 1000;
    for (;;) {
      const now = performance.now() - start;
      const due = sentBefore + Math.floor(((Math.min(now, phaseEnd) - phaseStartMs) / 1000) * phase.ratePerSecond);
      for (; sent < due; sent++) {
        if (pending.size >= maxInFlight) {
          results.push({ sentAtMs: now, latencyMs: 0, ok: false, error: 'not sent: too many requests in flight' });
          continue;
        }
        const request = send(options, now, start).then((r) => void results.push(r));
        pending.add(request);
        void request.finally(() => pending.delete(request));
      }
      if (now >= phaseEnd) break;
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    sentBefore = sent;
    phaseStartMs = phaseEnd;
  }
  await Promise.all(pending);
  return results.sort((a, b) => a.sentAtMs - b.sentAtMs);
}

/**
 * `runTrace` in a process of its own (load.process.ts): the caller's event loop (polling the API
 * beside the trace) cannot delay sends or answers, and the results are the same shape. The caller
 * waits for it; a generator that fails rejects with its exit code.
 */
export function runTraceApart(phases: TracePhase[], options: LoadOptions, onStart: (startMs: number) => void = () => undefined): Promise<RequestResult[]> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'load.process.js'), [JSON.stringify({ phases, options })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let results: RequestResult[] | undefined;
    child.on('message', (message: { start?: number; results?: RequestResult[] }) => {
      if (message.start !== undefined) onStart(message.start);
      if (message.results) results = message.results;
    });
    child.on('error', reject);
    child.on('exit', (code) => (results ? resolve(results) : reject(new Error(`the load generator exited with ${code} before its results`))));
  });
}

function send(options: LoadOptions, sentAtMs: number, start: number): Promise<RequestResult> {
  return new Promise((resolve) => {
    const done = (ok: boolean, extra: Partial<RequestResult>) => resolve({ sentAtMs, latencyMs: performance.now() - start - sentAtMs, ok, ...extra });
    const request = http.get({ host: options.host, port: options.port, path: '/', agent: false, headers: { connection: 'close' }, timeout: options.timeoutMs ?? 10_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => done(response.statusCode === 200, { replica: body.trim(), ...(response.statusCode === 200 ? {} : { error: `HTTP ${response.statusCode}` }) }));
      response.on('error', (error) => done(false, { error: error.message }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => done(false, { error: error.message }));
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
