/**
 * `POST /containers/{id}/attach` (and `docker run` without -d, `docker attach`, `docker start -a`):
 * the container's output, and with `stdin=1` or a terminal the Tide attach session to its main
 * process (the control plane's `attach` upgrade, in exec's frames: docs/ARCHITECTURE.md "Docker
 * clients"). With a terminal, what it shows comes raw from the session (`docker run -it` sees it
 * from the start: the session replays it); without, the output is read off the log as in `docker
 * logs`, multiplexed, and the session carries stdin only (its end is the process's EOF, as
 * StdinOnce). `POST /containers/{id}/resize` sizes the terminal; the last size is kept for a session
 * that opens later (the docker CLI resizes right after its start).
 */
import { Duplex, Writable } from 'node:stream';
import { resizeFrame } from '@tide/api';
import { openExec, runExecSession } from '../exec/exec.client';
import { TerminalSize } from '../exec/exec.types';
import { Terminal } from '../exec/terminal';
import { ContainerVerbs, isFinished } from './docker.containers';
import { DockerError } from './docker.errors';
import { Container, containerState } from './docker.model';
import { streamOutput } from './docker.output';
import { STDOUT, frames } from './docker.stream';
import { isTrue } from './docker.filters';

const FOREVER_MS = 7 * 24 * 3_600_000;

export interface AttachClient {
  /** The client's bytes (the process's stdin) one way, the output the other. */
  connection: Duplex;
  /** Output without a terminal in Docker's multiplexed frames (a Docker client), or raw (tsctl run). */
  framed: boolean;
  /** tsctl run -it's own terminal: raw while attached, its size sent at once and on each change. */
  terminal?: Terminal;
}

export class DockerAttaches {
  /** Open Tide sessions per container id, for resize. */
  private readonly sessions = new Map<string, Set<Duplex>>();
  /** The last size asked per container id. */
  private readonly sizes = new Map<string, TerminalSize>();

  constructor(private readonly verbs: ContainerVerbs) {}

  /** Output (and input) until the run ends, on a Docker client's hijacked connection or tsctl run's own stdio. */
  async attach(container: Container, params: URLSearchParams, client: AttachClient, signal: AbortSignal): Promise<void> {
    const stream = isTrue(params.get('stream'));
    const spec = container.service.spec;
    const interactive = stream && (Boolean(spec.tty) || (isTrue(params.get('stdin')) && Boolean(spec.stdin)));
    const running = containerState(container).Running;
    const reading = interactive ? this.session(container, running, params, client, signal) : this.output(container, running, params, client, signal);
    await this.verbs.track(container, reading.catch(() => undefined));
  }

  resize(ref: string, container: Container | undefined, rows: number, cols: number): void {
    if (!container?.service.spec.tty) throw new DockerError(400, `container ${ref} has no terminal to resize`);
    this.sizes.set(container.id, { rows, cols });
    for (const session of this.sessions.get(container.id) ?? []) session.write(resizeFrame(rows, cols));
  }

  /** Output off the log, as logs --follow: a running container's from now on (`logs=1`: from its start), a stopped one's next run whole. */
  private async output(container: Container, running: boolean, params: URLSearchParams, client: AttachClient, signal: AbortSignal): Promise<void> {
    const stream = isTrue(params.get('stream'));
    if (!stream && !isTrue(params.get('logs'))) return;
    const options = running ? { ...(isTrue(params.get('logs')) ? {} : { tailLines: 0 }) } : { pastReplica: container.replica?.metadata.name };
    await streamOutput(this.verbs.containers, container, { follow: stream, waitForStart: true, ...options }, (chunk) => writeAll(client.connection, client.framed ? frames(STDOUT, chunk) : [Buffer.from(chunk)]), signal);
  }

  /** The Tide attach session once the run has started; a run over before that leaves its log to read. */
  private async session(container: Container, running: boolean, params: URLSearchParams, client: AttachClient, signal: AbortSignal): Promise<void> {
    const tty = Boolean(container.service.spec.tty);
    const past = running ? undefined : container.replica?.metadata.name;
    const run = await this.verbs.containers.waitFor(container, (c) => !c || (c.replica !== undefined && c.replica.metadata.name !== past && (c.replica.status?.phase === 'Running' || isFinished(c.replica))), FOREVER_MS, 'waiting for the container to start', signal);
    const replica = run?.replica;
    if (!run || !replica) return;
    // A new run is replayed from its start: its first output (a shell's prompt) came before this attach.
    const replay = !running || isTrue(params.get('logs'));
    const stdin = isTrue(params.get('stdin')) && Boolean(container.service.spec.stdin);
    const opened = isFinished(replica) ? undefined : await openExec(this.verbs.containers.api.credentials, attachPath(replica.metadata.name, this.verbs.containers.namespace, stdin, replay)).catch(() => undefined);
    if (!opened) {
      // Finished before the attach (or gone meanwhile): what it wrote is in its log.
      await this.output(run, true, new URLSearchParams({ logs: '1' }), tty ? { ...client, framed: false } : client, signal);
      return;
    }
    const sessions = this.sessions.get(container.id) ?? new Set<Duplex>();
    this.sessions.set(container.id, sessions);
    sessions.add(opened.socket);
    const size = client.terminal?.size() ?? this.sizes.get(container.id);
    if (size) opened.socket.write(resizeFrame(size.rows, size.cols));
    client.connection.on('close', () => opened.socket.destroy());
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const stdout = tty ? writerTo(client.connection) : sink;
    try {
      const request = { replica: replica.metadata.name, namespace: this.verbs.containers.namespace, argv: [], stdin, tty };
      const session = runExecSession(opened.socket, opened.head, request, { stdin: client.connection, stdout, stderr: sink, ...(client.terminal ? { terminal: client.terminal } : {}) });
      // Without a terminal the output is the log's, read alongside the session.
      await Promise.all([session.catch(() => undefined), tty ? undefined : this.output(run, true, new URLSearchParams({ stream: '1', logs: replay ? '1' : '0' }), client, signal)]);
    } finally {
      sessions.delete(opened.socket);
      if (sessions.size === 0) this.sessions.delete(container.id);
    }
  }
}

export function attachPath(replica: string, namespace: string, stdin: boolean, replay: boolean): string {
  const params = new URLSearchParams({ namespace, ...(stdin ? { stdin: '1' } : {}), ...(replay ? { replay: '1' } : {}) });
  return `/api/v1/replicas/${encodeURIComponent(replica)}/attach?${params}`;
}

function writerTo(client: Duplex): Writable {
  return new Writable({ write: (chunk: Buffer, _encoding, done) => void writeAll(client, [chunk]).then(() => done()) });
}

export async function writeAll(out: NodeJS.WritableStream, buffers: Buffer[]): Promise<void> {
  for (const buffer of buffers) {
    // A client gone away never drains: its close ends the wait (and the stream's abort ends the reading).
    if (!out.write(buffer)) await new Promise((resolve) => { out.once('drain', resolve); out.once('close', resolve); });
  }
}
