/**
 * POST /v1/warm  body { network: "bridge" | "host", starts: N }: N starts of that network mode are
 * expected soon (the control plane says so ahead of a scheduled floor or a forecast rise, for the
 * replicas its what-if places on this node), so the warm pool boots N container inits now and the
 * burst starts warm (libs/runtime `WarmPool.expect`). 202 with what was asked; the pool fills in the
 * background and keeps them as long as a burst it had seen. The control plane's alone (agent.auth.ts).
 */
import type * as http from 'node:http';
import type { NetworkMode } from '@tide/api';
import { BadRequest, readJsonBody, sendError, sendJson, sendText } from './http.responses';

export const WARM_PATH = '/v1/warm';
/** More than any node's replicas: a larger count is a mistake, not a burst. */
const MAX_STARTS = 1000;

/** Boots `starts` inits for the network mode ahead (the runtime's `expectStarts`). */
export type WarmAhead = (network: NetworkMode, starts: number) => void;

export function parseWarmRequest(body: Record<string, unknown>): { network: NetworkMode; starts: number } {
  const { network, starts } = body;
  if (network !== 'bridge' && network !== 'host') throw new BadRequest(`network: want "bridge" or "host", got ${JSON.stringify(network)}`);
  if (typeof starts !== 'number' || !Number.isInteger(starts) || starts < 1 || starts > MAX_STARTS) {
    throw new BadRequest(`starts: want a whole number from 1 to ${MAX_STARTS}, got ${JSON.stringify(starts)}`);
  }
  return { network, starts };
}

export async function handleWarmRequest(warm: WarmAhead | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'POST') return sendText(res, 405, `${req.method} is not allowed on ${WARM_PATH}: POST { network, starts }\n`);
  try {
    const asked = parseWarmRequest(await readJsonBody(req));
    if (!warm) return sendText(res, 501, 'this agent runs no warm pool (--warm-pool 0)\n');
    warm(asked.network, asked.starts);
    sendJson(res, 202, asked);
  } catch (error) {
    sendError(res, error);
  }
}
