/**
 * `GET /v1/logs/NAMESPACE/NAME` (the control plane's certificate only): the replica's output.
 * Query: `follow=1` keeps streaming what the container writes; `tailLines=N` starts N lines from the
 * end; `sinceTime=RFC3339` starts at the output written since then (to the rotator's half second);
 * `previous=1` reads the container before the current one (its last restart), never followed.
 * With both tailLines and sinceTime, the later start wins (as kubectl's).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { LogInstance } from '../logs/log.files';
import { endPosition, laterPosition, streamLogFiles, tailPosition } from '../logs/log.read';
import type { LogPosition } from '../logs/log.rotator';
import { isTrue, sendText } from './http.responses';

/** A replica's log on this node. */
export interface ReplicaLog {
  /** The file the current container writes (created empty for a follower when missing). */
  current: string;
  /** The instance's files, oldest first; default: the current file alone. */
  files?(instance: LogInstance): string[];
  /** Where the output written since `ms` starts; default: the beginning. */
  since?(instance: LogInstance, ms: number): LogPosition;
}

export interface LogQuery {
  follow: boolean;
  previous: boolean;
  tailLines?: number;
  sinceMs?: number;
}

/** The query, or the text of a 400 naming the parameter. */
export function parseLogQuery(params: URLSearchParams): LogQuery | string {
  const follow = isTrue(params.get('follow'));
  const previous = isTrue(params.get('previous'));
  if (follow && previous) return 'previous: the previous container has exited, it cannot be followed (drop follow)';
  const query: LogQuery = { follow, previous };
  const tail = params.get('tailLines');
  if (tail !== null) {
    if (!/^\d{1,9}$/.test(tail)) return `tailLines: expected a number of lines (0 or more), got "${tail}"`;
    query.tailLines = Number(tail);
  }
  const since = params.get('sinceTime');
  if (since !== null) {
    const ms = Date.parse(since);
    if (Number.isNaN(ms)) return `sinceTime: expected an RFC 3339 time such as 2024-05-01T12:00:00Z, got "${since}"`;
    query.sinceMs = ms;
  }
  return query;
}

export async function serveReplicaLog(log: ReplicaLog, query: LogQuery, req: http.IncomingMessage, res: http.ServerResponse, pollMs?: number): Promise<void> {
  const instance: LogInstance = query.previous ? 'previous' : 'current';
  if (query.follow && !fs.existsSync(log.current)) {
    // A replica that has not written anything yet: follow starts with an empty file.
    await fs.promises.writeFile(log.current, '', { flag: 'a', mode: 0o600 }).catch(() => undefined);
  }
  const files = log.files ? log.files(instance) : [log.current].filter((file) => fs.existsSync(file));
  if (files.length === 0) return sendText(res, query.previous ? 404 : 200, query.previous ? 'no previous container of this replica on this node\n' : '');
  // Without follow: the lines there are now (a flooding container's later lines are not added to a --tail).
  const until = query.follow ? undefined : await endPosition(files);
  let from: LogPosition = { file: 0, offset: 0 };
  if (query.sinceMs !== undefined && log.since) from = log.since(instance, query.sinceMs);
  if (query.tailLines !== undefined) from = laterPosition(from, await tailPosition(files, query.tailLines, until));
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
  const reader = new AbortController();
  res.on('close', () => reader.abort());
  req.on('close', () => reader.abort());
  await streamLogFiles(files, from, res, { follow: query.follow, signal: reader.signal, pollMs, until });
  res.end();
}
