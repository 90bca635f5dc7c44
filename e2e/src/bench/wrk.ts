/** Runs wrk (Debian's wrk, installed by scripts/setup.sh) and reads its summary. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface LoadFigures {
  rps: number;
  p99_ms: number;
  /** Socket errors (connect, read, write, timeout) plus answers that were not 2xx/3xx. */
  errors: number;
}

export async function runWrk(url: string, connections: number, seconds: number): Promise<LoadFigures> {
  const { stdout } = await execFileAsync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url], { timeout: (seconds + 30) * 1000 });
  return parseWrk(stdout);
}

/** wrk's text: "Requests/sec: 12345.67", "99%  2.51ms", "Socket errors: connect 0, read 1, ...", "Non-2xx or 3xx responses: N". */
export function parseWrk(text: string): LoadFigures {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(text);
  if (!Number.isFinite(rps) || !p99) throw new Error(`cannot read wrk's output:\n${text}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'];
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return { rps: Math.round(rps), p99_ms: Math.round(Number(p99[1]) * scale * 1000) / 1000, errors: socketErrors + non2xx };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
