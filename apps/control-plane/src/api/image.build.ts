/**
 * `POST /api/v1/images/build`: the build context goes to one Ready agent, whose log streams to the
 * caller line by line (application/x-ndjson, libs/api BuildStreamLine); a built image is then exported
 * from that agent once and imported into every other Ready node. The last line is always exactly one
 * `{"result": ...}`: ok only when the build succeeded and every node received the image.
 */
import type { Response } from 'express';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { BuildResult, BuildStreamLine, NodeResult } from '@tide/api';
import { AgentError, AgentTarget, agentRequest } from './agent.client';
import { exportFrom, importOnAgents } from './image.transfer';
import { UploadLimit, UploadTooLarge } from '../auth/body.limits';

/** A RUN step may print nothing for a long time; a node that is gone closes the connection anyway. */
const BUILD_IDLE_MS = 30 * 60_000;

export interface BuildRequest {
  /** The context as it streams in (behind the upload limit). */
  body: UploadLimit;
  res: Response;
  builder: AgentTarget;
  others: AgentTarget[];
  tag: string;
  dockerfile?: string;
  /** NAME=VALUE for the Dockerfile's ARGs. */
  buildArgs?: string[];
  /** The cluster registry (host:port) the builder may pull a missing FROM image from. */
  registry?: string;
}

export async function buildOnAgent(build: BuildRequest): Promise<void> {
  const { body, res, builder } = build;
  const query = new URLSearchParams({ tag: build.tag, ...(build.dockerfile ? { dockerfile: build.dockerfile } : {}), ...(build.registry ? { registry: build.registry } : {}) });
  for (const arg of build.buildArgs ?? []) query.append('buildArg', arg);
  const upstream = await agentRequest(builder, 'POST', `/v1/images/build?${query}`, {
    body, headers: { 'Content-Type': 'application/x-tar' }, idleTimeoutMs: BUILD_IDLE_MS,
  }).catch((error: AgentError) => error);
  if (body.exceeded) return void res.status(413).json({ error: new UploadTooLarge(body.limit).message, details: [] });
  if (upstream instanceof AgentError) return void res.status(502).json({ error: upstream.message, details: [] });
  if (upstream.statusCode !== 200) {
    // The agent refused the request itself (bad context, bad tag): its answer is the caller's answer.
    res.status(upstream.statusCode ?? 502).type('application/json');
    return void upstream.pipe(res);
  }
  res.status(200).type('application/x-ndjson').setHeader('Cache-Control', 'no-cache');
  res.flushHeaders();
  const send = (line: BuildStreamLine) => res.write(`${JSON.stringify(line)}\n`);
  let result: BuildResult = await relayLog(upstream, send, builder);
  if (result.ok && build.others.length > 0) result = await distribute(result, build, send);
  send({ result: { ...result, node: builder.node } });
  res.end();
}

/** Passes the agent's log lines through and returns its result line (or why none came). */
async function relayLog(upstream: NodeJS.ReadableStream, send: (line: BuildStreamLine) => void, builder: AgentTarget): Promise<BuildResult> {
  let result: BuildResult | undefined;
  try {
    for await (const text of readline.createInterface({ input: upstream, crlfDelay: Infinity })) {
      if (!text.trim()) continue;
      const line = JSON.parse(text) as BuildStreamLine;
      if ('result' in line) result = line.result;
      else send(line);
    }
  } catch (error) {
    return { ok: false, error: `node ${builder.node} broke off the build: ${(error as Error).message}` };
  }
  return result ?? { ok: false, error: `node ${builder.node} ended the build without a result (did its agent stop?)` };
}

async function distribute(built: BuildResult, build: BuildRequest, send: (line: BuildStreamLine) => void): Promise<BuildResult> {
  send({ log: `Copying ${build.tag} from ${build.builder.node} to ${build.others.map((a) => a.node).join(', ')}` });
  let distributed: NodeResult[];
  try {
    const file = await exportFrom(build.builder, build.tag);
    try {
      distributed = (await importOnAgents(file, build.others)).map(({ node, ok, error }) => ({ node, ok, ...(error ? { error } : {}) }));
    } finally {
      await fs.promises.rm(path.dirname(file), { recursive: true, force: true });
    }
  } catch (error) {
    const message = `cannot export ${build.tag} from node ${build.builder.node}: ${(error as Error).message}`;
    distributed = build.others.map((agent) => ({ node: agent.node, ok: false, error: message }));
  }
  for (const r of distributed) send({ log: r.ok ? `${r.node}: has ${build.tag}` : `${r.node}: failed: ${r.error}` });
  const failed = distributed.filter((r) => !r.ok);
  return {
    ...built, distributed,
    ...(failed.length ? { ok: false, error: `built on ${build.builder.node}, but not copied to ${failed.map((r) => r.node).join(', ')}` } : {}),
  };
}
