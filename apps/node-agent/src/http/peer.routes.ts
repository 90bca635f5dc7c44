/**
 * The agent's blob endpoint for its peers (contract, docs/REFERENCE.md), the distribution API's blob
 * path so that a peer reads it with the same client as a registry: `GET|HEAD /v2/NAME/blobs/sha256:HEX`
 * → the blob (from the store, or while this agent downloads it), 404 `BLOB_UNKNOWN` when it has
 * neither within 15 s; `GET /v2/` → `{}`. Served to node certificates of the cluster CA (and the
 * control plane); a user token is refused (agent.auth.ts).
 */
import * as http from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ImageStore } from '@tide/runtime';
import { openBlobForPeer } from '../registry/peer.blobs';
import { sendJson } from './http.responses';

const BLOB_PATH = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/;

export async function handlePeerRequest(store: ImageStore, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { errors: [{ code: 'UNSUPPORTED', message: `${req.method} is not served to peers` }] });
  if (url.pathname === '/v2/') return sendJson(res, 200, {});
  const match = BLOB_PATH.exec(url.pathname);
  if (!match) return sendJson(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'peers serve blobs only' }] });
  const blob = await openBlobForPeer(store, match[2]);
  if (!blob) return sendJson(res, 404, { errors: [{ code: 'BLOB_UNKNOWN', message: `${match[2]} is neither on this node nor being fetched` }] });
  res.writeHead(200, { 'content-length': String(blob.size), 'content-type': 'application/octet-stream', 'docker-content-digest': match[2] });
  if (req.method === 'HEAD') {
    blob.body.destroy();
    return void res.end();
  }
  // A failing source cuts the answer short: the peer sees fewer bytes than announced and goes to the registry.
  await pipeline(blob.body, res).catch(() => res.destroy());
}
