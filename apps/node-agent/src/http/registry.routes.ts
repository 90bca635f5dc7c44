/**
 * The agent's registry endpoints (contract, docs/REFERENCE.md), called by the control plane with a
 * registry token it issued for this one operation:
 *   POST /v1/images/pull  body { registry: { address, ca?, token? }, repository, reference, ref, peers? }
 *                          → { image: ImageInfo, digest, fetchedLayers, fromPeers, layers: [{ digest, moved }] }
 *        peers: [{ node, address }], every node pulling this image now, in the same order for all
 *        (peer-to-peer layers: registry/swarm.plan.ts)
 *   POST /v1/images/push  body { registry: { address, ca?, token? }, ref, repository, tag }
 *                          → { digest, size, uploadedBlobs, blobs, layers: [{ digest, moved }] }
 * A registry's refusal keeps its status (401, 403, 404), a bad answer from it is a 502, a registry
 * that does not answer a 504; the agent itself carries on.
 */
import * as http from 'node:http';
import { imageReferenceProblem } from '@tide/api';
import { RegistryError } from '@tide/registry';
import { ImageService, ImageStore } from '@tide/runtime';
import { PeerTls, PullRequest, PushRequest, pullImage, pushImage } from '../registry/registry.images';
import { Peer } from '../registry/swarm.plan';
import { BadRequest, messageOf, readJsonBody, sendJson } from './http.responses';

export const REGISTRY_ROUTES = new Set(['/v1/images/pull', '/v1/images/push']);

/** Who this agent is to its peers: its node name and its certificate (mTLS to the other agents). */
export interface Peering {
  node: string;
  tls(): PeerTls;
  log(line: string): void;
}

const MAX_PEERS = 5000;

export async function handleRegistryRequest(
  store: ImageStore, images: ImageService, req: http.IncomingMessage, res: http.ServerResponse, url: URL, peering?: Peering,
): Promise<void> {
  try {
    if (req.method !== 'POST') return sendJson(res, 405, { error: `${req.method} is not allowed on ${url.pathname}` });
    const body = await readJsonBody(req);
    if (url.pathname === '/v1/images/pull') {
      const request = pullRequest(body);
      const peers = peersOf(body);
      if (peering && peers.some((p) => p.node === peering.node)) request.swarm = { self: peering.node, peers, tls: peering.tls() };
      if (peering) request.log = peering.log;
      const pulled = await pullImage(store, request);
      request.log?.(`pulled ${request.ref} (${pulled.digest}, ${pulled.fetched} layer(s) fetched, ${pulled.fromPeers} from peers): ${pulled.timings}`);
      const image = (await images.list()).find((i) => i.ref === pulled.record.ref);
      return sendJson(res, 200, { image, digest: pulled.digest, fetchedLayers: pulled.fetched, fromPeers: pulled.fromPeers, layers: pulled.layers });
    }
    const request = pushRequest(body);
    const pushed = await pushImage(store, request);
    sendJson(res, 200, { digest: pushed.digest, size: pushed.size, uploadedBlobs: pushed.uploaded, blobs: pushed.blobs, layers: pushed.layers });
  } catch (error) {
    sendJson(res, statusFor(error), { error: messageOf(error) });
  }
}

function statusFor(error: unknown): number {
  if (error instanceof BadRequest) return 400;
  if (!(error instanceof RegistryError)) return (error as { name?: string }).name === 'ImageError' ? 400 : 500;
  const byCode: Record<string, number> = { Unauthorized: 401, Denied: 403, NotFound: 404, Invalid: 502, TooLarge: 502, DigestMismatch: 502, Timeout: 504, Unreachable: 502, Failed: 502 };
  return byCode[error.code] ?? 500;
}

function text(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new BadRequest(`${field}: a non-empty string is required`);
  return value;
}

function target(body: Record<string, unknown>): PullRequest['registry'] {
  const registry = body.registry as Record<string, unknown> | undefined;
  if (typeof registry !== 'object' || registry === null) throw new BadRequest('registry: { address, ca?, token? } is required');
  const address = text(registry, 'address');
  for (const field of ['ca', 'token']) {
    if (registry[field] !== undefined && typeof registry[field] !== 'string') throw new BadRequest(`registry.${field}: a string`);
  }
  return { address, ...(registry.ca ? { ca: registry.ca as string } : {}), ...(registry.token ? { token: registry.token as string } : {}) };
}

function storeRef(body: Record<string, unknown>): string {
  const ref = text(body, 'ref');
  const problem = imageReferenceProblem(ref);
  if (problem) throw new BadRequest(`ref: ${problem}`);
  return ref;
}

function pullRequest(body: Record<string, unknown>): PullRequest {
  return { registry: target(body), repository: text(body, 'repository'), reference: text(body, 'reference'), ref: storeRef(body) };
}

function peersOf(body: Record<string, unknown>): Peer[] {
  const peers = body.peers;
  if (peers === undefined) return [];
  if (!Array.isArray(peers) || peers.length > MAX_PEERS) throw new BadRequest(`peers: a list of at most ${MAX_PEERS} { node, address }`);
  return peers.map((peer: unknown, i) => {
    const { node, address } = (peer ?? {}) as Record<string, unknown>;
    if (typeof node !== 'string' || typeof address !== 'string' || !/^[^\s/]+:\d+$/.test(address)) throw new BadRequest(`peers[${i}]: { node, address: "host:port" } is required`);
    return { node, address };
  });
}

function pushRequest(body: Record<string, unknown>): PushRequest {
  return { registry: target(body), ref: storeRef(body), repository: text(body, 'repository'), tag: text(body, 'tag') };
}
