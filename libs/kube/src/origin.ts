/**
 * Where each field of a converted Tide object came from, so that an error found on the Tide object
 * (by validation, here or on the server) names the Kubernetes document and field the user wrote.
 */
import type { DocContext } from './report';

/** The Tide field `tide` (and everything under it) comes from `path` of document `document`. */
export interface PathOrigin {
  tide: string;
  document: number;
  path: string;
}

/** The document a converted object stands for, and where its fields came from. */
export interface ObjectOrigin {
  document: number;
  /** `items[N]` when the document is an item of a `kind: List`; "" otherwise. */
  prefix: string;
  paths: PathOrigin[];
}

export class OriginRecorder {
  readonly origin: ObjectOrigin;

  constructor(ctx: DocContext) {
    this.origin = { document: ctx.document, prefix: ctx.prefix, paths: [] };
    // A converted object keeps its document's kind and apiVersion fields in the same places.
    this.record('kind', 'kind');
    this.record('apiVersion', 'apiVersion');
  }

  /** `tide` came from `path` of the document `ctx` (the object's own when not given). */
  record(tide: string, path: string, ctx: DocContext = this.origin): void {
    this.origin.paths.push({ tide, document: ctx.document, path: ctx.prefix && path ? `${ctx.prefix}.${path}` : ctx.prefix || path });
  }
}

/**
 * The Kubernetes document and path a Tide field came from: the longest recorded prefix, the rest of
 * the path appended (Tide and Kubernetes share field names below the mapped points). A field that
 * came from nowhere (a Tide default) is shown as the Tide path on the object's own document.
 */
export function sourceOf(origin: ObjectOrigin, tidePath: string): { document: number; path: string } {
  let best: PathOrigin | undefined;
  for (const candidate of origin.paths) {
    // "" is the whole object (a tide/v1 document passed through as written).
    const under = candidate.tide === '' || tidePath === candidate.tide || tidePath.startsWith(`${candidate.tide}.`) || tidePath.startsWith(`${candidate.tide}[`);
    if (under && (!best || candidate.tide.length > best.tide.length)) best = candidate;
  }
  if (!best) return { document: origin.document, path: `${origin.prefix ? `${origin.prefix}: ` : ''}(as tide/v1) ${tidePath}` };
  if (best.tide === '') return { document: best.document, path: best.path ? `${best.path}.${tidePath}` : tidePath };
  return { document: best.document, path: best.path + tidePath.slice(best.tide.length) };
}
