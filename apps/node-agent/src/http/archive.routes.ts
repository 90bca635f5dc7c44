/**
 * Copying files in and out of a running replica (contract: libs/api archive.types.ts):
 * `GET|HEAD|PUT /v1/archive/NAMESPACE/NAME?path=P[&copyUIDGID=1]`. The agent works on the
 * container's root file system directly (libs/runtime files/), so it needs no tar, nor any other
 * program, in the image. GET: a tar of P with P's stat in the header; HEAD: the stat alone; PUT: the
 * tar body extracted into the directory P (404 when P is missing, 400 when it is not a directory).
 * Authorised as exec (agent.auth.ts): only the control plane, which checks the user's role first.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { PATH_STAT_HEADER, encodePathStat } from '@tide/api';
import {
  ByteSource, ContainerPath, ContainerRoot, FilesError, archivePath, containerPath, extractInto, readTar,
} from '@tide/runtime';
import { streamSink } from '@tide/tar';
import { isTrue, messageOf, sendJson, statusOf } from './http.responses';

/** The root of the replica's running container; rejects with RuntimeError NotFound when it is not on this node. */
export type RootOpener = (namespace: string, name: string) => ContainerRoot;

export const ARCHIVE_PATH = /^\/v1\/archive\/([^/]+)\/([^/]+)$/;

export async function handleArchiveRequest(openRoot: RootOpener | undefined, req: http.IncomingMessage, res: http.ServerResponse, match: RegExpExecArray, url: URL): Promise<void> {
  if (!['GET', 'HEAD', 'PUT'].includes(req.method ?? '')) return sendJson(res, 405, { error: `${req.method} is not allowed on ${url.pathname}: GET, HEAD or PUT` });
  if (!openRoot) return sendJson(res, 501, { error: 'this agent copies no files in or out of containers' });
  let root: ContainerRoot | undefined;
  try {
    const target = containerPath(url.searchParams.get('path') ?? '');
    root = openRoot(decodeURIComponent(match[1]), decodeURIComponent(match[2]));
    if (req.method === 'PUT') return await extract(root, target, req, res, isTrue(url.searchParams.get('copyUIDGID')));
    res.setHeader(PATH_STAT_HEADER, encodePathStat(root.stat(target)));
    if (req.method === 'HEAD') return void res.writeHead(200).end();
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await archivePath(root, target, streamSink(res));
    res.end();
  } catch (error) {
    if (res.headersSent) return void res.destroy(); // the client sees a cut archive, not a whole one
    res.setHeader('Connection', 'close'); // a refused upload is not read
    res.removeHeader(PATH_STAT_HEADER);
    sendJson(res, archiveStatus(error), { error: messageOf(error) });
  } finally {
    root?.close();
  }
}

async function extract(root: ContainerRoot, target: ContainerPath, req: http.IncomingMessage, res: http.ServerResponse, keepOwners: boolean): Promise<void> {
  // The last component is followed too: a symlink to a directory is a fine place to extract to (Docker's rule).
  let directory: number;
  try {
    directory = root.open(target.path, { directory: true });
  } catch (error) {
    if (error instanceof FilesError && error.code === 'NotDirectory') {
      throw new FilesError('NotDirectory', `${target.path} in ${root.description} is not a directory: extraction point is not a directory`);
    }
    throw error;
  }
  fs.closeSync(directory);
  const entries = readTar(new ByteSource(bodyOf(req)));
  const extracted = await extractInto(root, target.path, entries, { keepOwners });
  sendJson(res, 200, { extracted });
}

async function* bodyOf(req: http.IncomingMessage): AsyncGenerator<Buffer> {
  for await (const chunk of req) yield chunk as Buffer;
}

export function archiveStatus(error: unknown): number {
  if (error instanceof FilesError) return { NotFound: 404, NotDirectory: 400, Invalid: 400, ReadOnly: 403 }[error.code];
  return statusOf(error);
}
