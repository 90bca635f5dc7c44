/**
 * `GET /events` (docker events; compose's attached `up` and its `logs -f` follow containers with
 * it). Tide keeps no Docker event log, so the server tells what it sees of its containers: it reads
 * them every POLL_MS and says each change as dockerd's events for it would (create, start, pause,
 * unpause, die with the exit code, destroy), from the moment of the call. A change that comes and
 * goes between two reads is told by its outcome (a restart between reads: die, then start), and no
 * past events are kept for `since`. Container events only: a filter on another type passes none.
 * A container's die waits while a client of this server still reads its output or waits for its
 * exit (heldBack): compose stops following a container at its die, so its exit comes first.
 */
import type * as http from 'node:http';
import { DockerError } from './docker.errors';
import { Filters, labelMatches, parseFilters } from './docker.filters';
import { psEntry } from './docker.entries';
import { Container, ContainerStatus, containerState } from './docker.model';

/** How often the containers are read while a client follows events. */
const POLL_MS = 500;
/** The longest a container's die waits for the clients that follow it (see heldBack). */
const HOLD_MAX_MS = 10_000;

export const EVENT_FILTERS = ['type', 'container', 'event', 'image', 'label', 'scope', 'network', 'volume', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'];

/** What a read shows of one container: enough to tell its changes. */
export interface ContainerSighting {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  /** The replica running it now: a new one is a new run. */
  run?: string;
  exitCode: number;
}

export interface DockerEvent {
  status: string;
  id: string;
  from: string;
  Type: 'container';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

export function sighting(container: Container): ContainerSighting {
  const entry = psEntry(container, Date.now());
  return {
    id: container.id, name: entry.Names[0].slice(1), image: entry.Image, labels: entry.Labels, status: entry.State,
    ...(container.replica ? { run: container.replica.metadata.name } : {}), exitCode: containerState(container).ExitCode,
  };
}

const running = (s: ContainerSighting) => s.status === 'running' || s.status === 'paused';
const isNewRun = (was: ContainerSighting, now: ContainerSighting) => now.run !== undefined && now.run !== was.run;
/** Whether a container running at one read has died by the next (gone, stopped, or a new run). */
const dies = (was: ContainerSighting, now: ContainerSighting | undefined) => running(was) && (!now || !running(now) || isNewRun(was, now));

/** The events between two reads (by container id), in dockerd's order for each container. */
export function eventsBetween(before: ReadonlyMap<string, ContainerSighting>, after: ReadonlyMap<string, ContainerSighting>, nowMs: number): DockerEvent[] {
  const events: DockerEvent[] = [];
  const say = (s: ContainerSighting, action: string, extra: Record<string, string> = {}) => events.push(event(s, action, nowMs, extra));
  for (const [id, now] of after) {
    const was = before.get(id);
    if (!was) {
      say(now, 'create');
      if (running(now)) say(now, 'start');
      if (now.status === 'paused') say(now, 'pause');
      continue;
    }
    const newRun = isNewRun(was, now);
    if (dies(was, now)) say(was, 'die', { exitCode: String(newRun && running(now) ? was.exitCode : now.exitCode) });
    if (running(now) && (!running(was) || newRun)) say(now, 'start');
    if (was.status !== 'paused' && now.status === 'paused') say(now, 'pause');
    if (was.status === 'paused' && now.status === 'running' && !newRun) say(now, 'unpause');
  }
  for (const [id, was] of before) {
    if (after.has(id)) continue;
    if (dies(was, undefined)) say(was, 'die', { exitCode: String(was.exitCode) });
    say(was, 'destroy');
  }
  return events;
}

function event(s: ContainerSighting, action: string, nowMs: number, extra: Record<string, string>): DockerEvent {
  return {
    status: action, id: s.id, from: s.image, Type: 'container', Action: action,
    Actor: { ID: s.id, Attributes: { ...s.labels, image: s.image, name: s.name, ...extra } },
    scope: 'local', time: Math.floor(nowMs / 1000), timeNano: nowMs * 1_000_000,
  };
}

/**
 * The next read as it may be told now: a container that stopped running while `followed` says a
 * client still reads or waits on it keeps its last sighting (its die, and a destroy after it, come
 * at a later read), for at most HOLD_MAX_MS from `heldSince`, which this keeps up to date.
 */
export function heldBack(
  seen: ReadonlyMap<string, ContainerSighting>, next: ReadonlyMap<string, ContainerSighting>, followed: (id: string) => boolean,
  heldSince: Map<string, number>, nowMs: number,
): Map<string, ContainerSighting> {
  const told = new Map(next);
  for (const [id, was] of seen) {
    if (!dies(was, next.get(id))) {
      heldSince.delete(id);
      continue;
    }
    const since = heldSince.get(id) ?? nowMs;
    if (followed(id) && nowMs - since < HOLD_MAX_MS) {
      heldSince.set(id, since);
      told.set(id, was);
    } else {
      heldSince.delete(id);
    }
  }
  return told;
}

/** Whether an event passes the filters: every filter named must have a value it matches (labels: all of them). */
export function eventPasses(e: DockerEvent, filters: Filters): boolean {
  const tests: Record<string, (value: string) => boolean> = {
    type: (value) => value === 'container',
    container: (value) => e.id.startsWith(value) || e.Actor.Attributes.name === value.replace(/^\//, ''),
    event: (value) => e.Action === value,
    image: (value) => e.from === value || e.from.split(':')[0] === value,
    label: (value) => labelMatches(e.Actor.Attributes, value),
    scope: (value) => value === 'local',
  };
  return [...filters.entries()].every(([name, values]) => {
    const test = tests[name] ?? (() => false); // filters of other types' events: none of these
    return name === 'label' ? values.every(test) : values.some(test);
  });
}

/** `since`/`until` as Docker's clients send them: unix seconds, with a fraction; undefined when absent. */
export function eventTime(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new DockerError(400, `${name}: "${value}" is not a time in unix seconds`);
  return Number(value) * 1000;
}

/**
 * Streams the events until the client goes, or `until`. `list` reads the containers; the first read
 * is the state events are told from.
 */
export async function streamEvents(
  list: () => Promise<Container[]>, params: URLSearchParams, res: http.ServerResponse, signal: AbortSignal,
  followed: (id: string) => boolean = () => false, now = Date.now,
): Promise<void> {
  const filters = parseFilters(params.get('filters'), EVENT_FILTERS, 'events');
  eventTime(params.get('since'), 'since');
  const until = eventTime(params.get('until'), 'until');
  const read = async () => new Map((await list()).map((c) => [c.id, sighting(c)]));
  let seen = await read();
  const heldSince = new Map<string, number>();
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  while (!signal.aborted && (until === undefined || now() < until)) {
    await new Promise((resolve) => setTimeout(resolve, until === undefined ? POLL_MS : Math.max(0, Math.min(POLL_MS, until - now()))));
    if (signal.aborted) break;
    const next = await read().catch(() => undefined); // the API was unreachable for a moment: read again
    if (!next) continue;
    const told = heldBack(seen, next, followed, heldSince, now());
    for (const e of eventsBetween(seen, told, now())) if (eventPasses(e, filters)) res.write(`${JSON.stringify(e)}\n`);
    seen = told;
  }
  res.end();
}
