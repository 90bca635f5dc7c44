/**
 * The agent's image lifecycle endpoints (contract, docs/REFERENCE.md), for the control plane:
 *   POST /v1/images/prune                   → { removed: REF[], freedBytes }
 *   POST /v1/images/commit  body { namespace, name, ref }  → { image: ImageInfo }
 *        the replica's container changes as a new layer over its image, stored as `ref`
 *   POST /v1/images/tag  body { source, target }  → { image: ImageInfo }
 *        `target` names the image `source` names (404 when this node has no `source`)
 *   GET  /v1/images/REF/history             → { ref, id, history: HistoryEntry[] } (newest first)
 *   GET  /v1/images/REF/inspect             → ImageDetails (record and config, for `docker image inspect`)
 */
import * as http from 'node:http';
import { imageReferenceProblem } from '@tide/api';
import { ImageService, ImageStore, commitContainer, imageDetails, imageHistory } from '@tide/runtime';
import type { ImageCollector } from '../images/image.collector';
import { BadRequest, readJsonBody, sendError, sendJson } from './http.responses';

export interface ImageLifecycleOptions {
  images: ImageService;
  imageStore?: ImageStore;
  imageCollector?: ImageCollector;
  /** The running container of a replica on this node: its upper directory and image. */
  container?: (namespace: string, name: string) => { upperDir?: string; image: string } | undefined;
}

const READ_PATH = /^\/v1\/images\/([^/]+)\/(history|inspect)$/;

/** Answers a lifecycle request; false when the path is not one of them. */
export async function handleImageLifecycle(options: ImageLifecycleOptions, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> {
  const route = `${req.method} ${url.pathname}`;
  const read = req.method === 'GET' ? READ_PATH.exec(url.pathname) : null;
  if (!['POST /v1/images/prune', 'POST /v1/images/commit', 'POST /v1/images/tag'].includes(route) && !read) return false;
  try {
    const store = options.imageStore;
    if (!store) throw new BadRequest('this agent has no image store');
    if (read) {
      const ref = decodeURIComponent(read[1]);
      return sendJson(res, 200, read[2] === 'history' ? await imageHistory(store, ref) : await imageDetails(store, ref)), true;
    }
    if (route === 'POST /v1/images/prune') {
      if (!options.imageCollector) throw new BadRequest('this agent collects no images');
      const { removed, freedBytes } = await options.imageCollector.prune();
      return sendJson(res, 200, { removed, freedBytes }), true;
    }
    const body = await readJsonBody(req);
    if (route === 'POST /v1/images/tag') {
      const tagged = await store.tag(field(body, 'source'), imageRef(body, 'target'));
      return sendJson(res, 200, { image: (await options.images.list()).find((i) => i.ref === tagged.ref) }), true;
    }
    const [namespace, name, ref] = [field(body, 'namespace'), field(body, 'name'), imageRef(body, 'ref')];
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

function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new BadRequest(`${name}: a non-empty string is required`);
  return value;
}

/** A NAME[:TAG] the store may keep an image under. */
function imageRef(body: Record<string, unknown>, name: string): string {
  const value = field(body, name);
  const problem = imageReferenceProblem(value);
  if (problem) throw new BadRequest(`${name}: ${problem}`);
  return value;
}
