/** Moving image archives between the caller, the control plane and the agents (temporary files). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NodeImage, NodeResult } from '@tide/api';
import { AgentError, AgentTarget, agentJson, agentRequest, onEveryAgent } from './agent.client';

/** An agent unpacks every layer of an archive before it answers: it may be silent that long. */
export const IMPORT_TIMEOUT_MS = 5 * 60_000;

/** Sends the archive to every agent at once (each reads its own stream of the file). */
export function importOnAgents(file: string, agents: AgentTarget[]): Promise<NodeResult<NodeImage[]>[]> {
  return onEveryAgent(agents, async (agent) => (await agentJson<{ images: NodeImage[] }>(agent, 'POST', '/v1/images/import', {
    body: fs.createReadStream(file), headers: { 'Content-Type': 'application/x-tar' }, idleTimeoutMs: IMPORT_TIMEOUT_MS,
  })).images);
}

/** Downloads the image as an OCI archive into a temporary file; the caller removes its directory. */
export async function exportFrom(agent: AgentTarget, ref: string): Promise<string> {
  const response = await agentRequest(agent, 'GET', `/v1/images/${encodeURIComponent(ref)}/export`, { idleTimeoutMs: IMPORT_TIMEOUT_MS });
  if (response.statusCode !== 200) {
    let text = '';
    for await (const chunk of response) text += chunk;
    const error = (() => { try { return (JSON.parse(text) as { error?: string }).error; } catch { return undefined; } })();
    throw new AgentError(agent, response.statusCode ?? 0, error ?? `export answered HTTP ${response.statusCode}`);
  }
  return saveUpload(response);
}

/** Saves a request body to a new temporary file; the caller removes its directory. */
export async function saveUpload(req: NodeJS.ReadableStream): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'tide-image-'));
  const file = path.join(dir, 'archive.tar');
  try {
    await pipeline(req, fs.createWriteStream(file, { mode: 0o600 }));
  } catch (error) {
    await fs.promises.rm(dir, { recursive: true, force: true }); // an upload cut short leaves nothing
    throw error;
  }
  return file;
}
