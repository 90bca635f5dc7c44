/**
 * The agent's image endpoints (contract, docs/REFERENCE.md):
 *   POST   /v1/images/import            body: an OCI layout or `docker save` archive → { images: ImageInfo[] }
 *   GET    /v1/images                   → { items: ImageInfo[] }
 *   DELETE /v1/images/REF               (REF URI-encoded) → { deleted: REF }
 *   GET    /v1/images/REF/export        → the image as an OCI image layout tar
 *   POST   /v1/images/build?tag=T[&dockerfile=F][&buildArg=K=V...][&registry=HOST:PORT]   body: a tar of the build context →
 *          application/x-ndjson: {"log": "..."} lines, then exactly one {"result": {"ok": ...}} line
 * Uploaded bodies go to files in the scratch dir, removed when the request ends.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { BuildResult, BuildStreamLine, imageReferenceProblem } from '@tide/api';
import { ImageService } from '@tide/runtime';
import { BadRequest, messageOf, saveBody, sendError, sendJson } from './http.responses';
import { extractTar } from '@tide/tar';

export interface ImageRoutesOptions {
  images: ImageService;
  /** Where uploads and build contexts are unpacked (the agent's own scratch space). */
  scratchDir: string;
  /** How a build pulls a missing FROM image from the cluster registry at HOST:PORT (the build's `registry` parameter). */
  buildPull?(registry: string): (image: string) => Promise<void>;
}

const IMAGE_PATH = /^\/v1\/images\/([^/]+)(\/export)?$/;

/** Answers an /v1/images request; false when the path is not one of them. */
export async function handleImageRequest(options: ImageRoutesOptions, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> {
  try {
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /v1/images') return sendJson(res, 200, { items: await options.images.list() }), true;
    if (route === 'POST /v1/images/import') return await importArchive(options, req, res), true;
    if (route === 'POST /v1/images/build') return await build(options, req, res, url), true;
    const match = IMAGE_PATH.exec(url.pathname);
    if (!match) return false;
    const ref = decodeURIComponent(match[1]);
    if (req.method === 'DELETE' && !match[2]) {
      await options.images.remove(ref);
      return sendJson(res, 200, { deleted: ref }), true;
    }
    if (req.method === 'GET' && match[2]) return await exportImage(options, ref, res), true;
    sendJson(res, 405, { error: `${req.method} is not allowed on ${url.pathname}` });
    return true;
  } catch (error) {
    if (!res.headersSent) sendError(res, error);
    else res.destroy(error as Error); // a stream already under way: cut it so the reader sees it fail
    return true;
  }
}

async function importArchive(options: ImageRoutesOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const file = await saveBody(req, options.scratchDir, 'import-');
  let images;
  try {
    if ((await fs.promises.stat(file)).size === 0) throw new BadRequest('the request body is empty: send an image archive (tar)');
    images = await options.images.importArchive(file);
  } finally {
    // Before answering: once the caller has its answer, the upload no longer takes disk space.
    await fs.promises.rm(path.dirname(file), { recursive: true, force: true });
  }
  sendJson(res, 200, { images });
}

async function exportImage(options: ImageRoutesOptions, ref: string, res: http.ServerResponse): Promise<void> {
  // Headers go out with the first byte, so a missing image still gets its 404 from the catch above.
  res.setHeader('Content-Type', 'application/x-tar');
  res.setHeader('Content-Disposition', `attachment; filename="${ref.replace(/[^A-Za-z0-9._-]/g, '_')}.tar"`);
  await options.images.exportArchive(ref, res);
  res.end();
}

async function build(options: ImageRoutesOptions, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  const tag = url.searchParams.get('tag') ?? '';
  const dockerfile = url.searchParams.get('dockerfile') ?? undefined;
  const buildArgs = buildArgsOf(url.searchParams.getAll('buildArg'));
  const registry = url.searchParams.get('registry');
  const pull = registry && options.buildPull ? options.buildPull(registry) : undefined;
  const problem = imageReferenceProblem(tag);
  if (problem) throw new BadRequest(`tag: ${problem}`);
  if (dockerfile !== undefined && (path.isAbsolute(dockerfile) || dockerfile.split('/').includes('..'))) {
    throw new BadRequest(`dockerfile: "${dockerfile}" must be a path inside the build context`);
  }
  await fs.promises.mkdir(options.scratchDir, { recursive: true });
  const contextDir = await fs.promises.mkdtemp(path.join(options.scratchDir, 'build-'));
  try {
    await extractTar(req, contextDir);
    if (!fs.existsSync(path.join(contextDir, dockerfile ?? 'Dockerfile'))) {
      throw new BadRequest(`the build context has no ${dockerfile ?? 'Dockerfile'}`);
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' });
    const line = (value: BuildStreamLine) => res.write(`${JSON.stringify(value)}\n`);
    const result: BuildResult = await options.images.build({ contextDir, tag, ...(dockerfile ? { dockerfile } : {}), buildArgs, ...(pull ? { pull } : {}), log: (text) => line({ log: text }) })
      .then((image) => ({ ok: true, image }), (error: unknown) => ({ ok: false, error: messageOf(error) }));
    await fs.promises.rm(contextDir, { recursive: true, force: true });
    line({ result });
    res.end();
  } finally {
    await fs.promises.rm(contextDir, { recursive: true, force: true });
  }
}

/** `buildArg=NAME=VALUE` parameters. */
function buildArgsOf(values: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value.slice(0, eq))) throw new BadRequest(`buildArg: "${value}" is not NAME=VALUE`);
    args[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return args;
}
