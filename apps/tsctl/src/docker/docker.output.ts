/**
 * A container's output for `docker logs [-f]` and `docker attach` (and `docker run` without -d).
 * The agent's followed log never ends by itself (it ends when the log file goes), while Docker's
 * follow ends when the container exits; so a follower reads from the start of the log counting
 * bytes, and once the replica has finished it stops following and reads the finished log once more,
 * writing only what lies past the count: nothing is lost or doubled, whatever the timing.
 */
import { TideContainers } from './docker.backend';
import { hasOutput, isFinished } from './docker.containers';
import { DockerError } from './docker.errors';
import { Container } from './docker.model';

export interface OutputOptions {
  follow: boolean;
  /** Docker's `tail`: the last N lines (undefined: all). */
  tailLines?: number;
  /** Docker's `since`, as an RFC 3339 time (not with follow). */
  sinceTime?: string;
  /** Waits for the container to start (attach comes before start); otherwise a container never started has no output. */
  waitForStart: boolean;
  /** With waitForStart: a finished run that does not count (attach to a stopped container waits for its next run). */
  pastReplica?: string;
}

export type Sink = (chunk: Uint8Array) => Promise<void>;

const FOREVER_MS = 7 * 24 * 3_600_000;

export async function streamOutput(containers: TideContainers, container: Container, options: OutputOptions, write: Sink, signal: AbortSignal): Promise<void> {
  if (options.follow && options.sinceTime !== undefined) throw new DockerError(501, "Tide's Docker API does not support --since with --follow yet");
  let now: Container | undefined = container;
  if (options.waitForStart || (options.follow && !isFinished(container.replica))) {
    const started = (c: Container) => hasOutput(c.replica) && c.replica!.metadata.name !== options.pastReplica;
    now = await containers.waitFor(container, (c) => !c || started(c) || (!options.waitForStart && !c.replica), FOREVER_MS, 'waiting for the container to start', signal);
  }
  const replica = now?.replica;
  if (!replica || !hasOutput(replica)) return;
  if (!options.follow || isFinished(replica)) {
    await copy(await containers.openLog(replica, { tailLines: options.tailLines?.toString(), sinceTime: options.sinceTime }, signal), write);
    return;
  }
  // What is there now, the tail taken here; then the followed log past it.
  const before = await readAll(await containers.openLog(replica, {}, signal));
  await write(options.tailLines === undefined ? before : lastLines(before, options.tailLines));
  await followFrom(containers, now!, before.length, write, signal);
}

/** Follows the replica's log from byte `skip` until the replica finishes (or goes), then writes the rest. */
async function followFrom(containers: TideContainers, container: Container, skip: number, write: Sink, signal: AbortSignal): Promise<void> {
  const replica = container.replica!;
  const name = replica.metadata.name;
  const following = new AbortController();
  const stop = () => following.abort();
  signal.addEventListener('abort', stop, { once: true });
  let seen = 0;
  const reading = (async () => {
    for await (const chunk of await containers.openLog(replica, { follow: '1' }, following.signal)) {
      const start = Math.max(0, skip - seen);
      seen += chunk.length;
      if (start < chunk.length) await write(chunk.subarray(start));
    }
  })().catch((error: unknown) => {
    if (!following.signal.aborted) throw error;
  });
  try {
    // Each settles whichever way it ends, so that the one that loses the race rejects nobody.
    const ended = await Promise.race([
      reading.then(() => 'stream' as const, () => 'stream' as const),
      containers.waitFor(container, (c) => !c || c.replica?.metadata.name !== name || isFinished(c.replica), FOREVER_MS, 'following', following.signal)
        .then(() => 'finished' as const, () => 'stream' as const),
    ]);
    following.abort();
    await reading;
    if (ended === 'stream' || signal.aborted) return;
    // Finished: the log is complete now; what the follower had not got yet is past `seen`.
    const rest = await readAll(await containers.openLog(replica, {}, signal).catch(() => [] as Uint8Array[]));
    const from = Math.max(skip, seen);
    if (rest.length > from) await write(rest.subarray(from));
  } finally {
    signal.removeEventListener('abort', stop);
    following.abort();
  }
}

async function copy(body: AsyncIterable<Uint8Array>, write: Sink): Promise<void> {
  for await (const chunk of body) await write(chunk);
}

async function readAll(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The last `count` lines of a text (a last line without its newline counts as one). */
export function lastLines(text: Buffer, count: number): Buffer {
  if (count <= 0) return Buffer.alloc(0);
  let at = text.length;
  if (at > 0 && text[at - 1] === 0x0a) at -= 1;
  for (let lines = 0; at > 0; at -= 1) {
    if (text[at - 1] === 0x0a && ++lines === count) break;
  }
  return text.subarray(at);
}
