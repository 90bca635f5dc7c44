/**
 * The agent's image lifecycle endpoints (contract, docs/REFERENCE.md), for the control plane:
 *   POST /v1/images/prune                   → { removed: REF[], freedBytes }
 *   POST /v1/images/commit  body { namespace, name, ref }  → { image: ImageInfo }
 *        the replica's container changes as a new layer over its image, stored as `ref`
 *   GET  /v1/images/REF/history             → { ref, id, history: HistoryEntry[] } (newest first)
 */
import * as http from 'node:http';
import { imageReferenceProblem } from '@tide/api';
import { ImageService, ImageStore, commitContainer, imageHistory } from '@tide/runtime';
import type { ImageCollector } from '../images/image.collector';
import { BadRequest, readJsonBody, sendError, sendJson } from './http.responses';

export interface ImageLifecycleOptions {
  images: ImageService;
  imageStore?: ImageStore;
  imageCollector?: ImageCollector;
  /** The running container of a replica on this node: its upper directory and image. */
  container?: (namespace: string, name: string) => { upperDir?: string; image: string } | undefined;
}

const HISTORY_PATH = /^\/v1\/images\/([^/]+)\/history$/;

/** Answers a lifecycle request; false when the path is not one of them. */
export async function handleImageLifecycle(options: ImageLifecycleOptions, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> {
  const route = `${req.method} ${url.pathname}`;
  const history = req.method === 'GET' ? HISTORY_PATH.exec(url.pathname) : null;
  if (route !== 'POST /v1/images/prune' && route !== 'POST /v1/images/commit' && !history) return false;
  try {
    const store = options.imageStore;
    if (!store) throw new BadRequest('this agent has no image store');
    if (history) return sendJson(res, 200, await imageHistory(store, decodeURIComponent(history[1]))), true;
    if (route === 'POST /v1/images/prune') {
      if (!options.imageCollector) throw new BadRequest('this agent collects no images');
      const { removed, freedBytes } = await options.imageCollector.prune();
      return sendJson(res, 200, { removed, freedBytes }), true;
    }
    const body = await readJsonBody(req);
    const field = (name: string) => {
      const value = body[name];
      if (typeof value !== 'string' || value === '') throw new BadRequest(`${name}: a non-empty string is required`);
      return value;
    };
    const [namespace, name, ref] = [field('namespace'), field('name'), field('ref')];
    const problem = imageReferenceProblem(ref);
    if (problem) throw new BadRequest(`ref: ${problem}`);
    const container = options.container?.(namespace, name);
    if (!container?.upperDir) return sendJson(res, 404, { error: `replica ${namespace}/${name} has no container on this node` }), true;
    const record = await commitContainer(store, { upperDir: container.upperDir, baseRef: container.image, ref, createdBy: `tsctl image commit ${namespace}/${name}` });
    const image = (await options.images.list()).find((i) => i.ref === record.ref);
    sendJson(res, 200, { image });
    return true;
  } catch (error) {
    sendError(res, error);
    return true;
  }
}
