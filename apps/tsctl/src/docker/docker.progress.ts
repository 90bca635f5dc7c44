/**
 * Docker's JSON message stream: what `POST /images/create` (pull), `POST /images/{name}/push` and
 * `POST /build` answer with, one JSON object a line, and what the docker CLI prints (its jsonmessage
 * package): a `status` (with the `id` of the layer or tag it is about, printed as "ID: STATUS"), a
 * build's `stream` text as it is, an `aux` value the CLI reads (a build's image ID, a push's digest),
 * or an `error` with its `errorDetail`, which the CLI prints and exits with (the code, else 1).
 * Tide's transfers answer once they are done, so the messages are the summary dockerd's stream ends
 * with, per layer "Pull complete" or "Already exists", "Pushed" or "Layer already exists".
 */

export type JsonMessage =
  | { status: string; id?: string; progressDetail?: Record<string, never> }
  | { stream: string }
  | { aux: Record<string, unknown>; progressDetail?: Record<string, never> }
  | { errorDetail: { code?: number; message: string }; error: string };

/** A layer's blob and whether this transfer moved it (else the other end had it already). */
export interface LayerTransfer {
  digest: string;
  moved: boolean;
}

/** The id dockerd shows for a layer: 12 hex digits of its blob's digest. */
export function layerId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function layerStatus(layer: LayerTransfer, status: string): JsonMessage {
  return { status, progressDetail: {}, id: layerId(layer.digest) };
}

export function errorMessage(message: string, code?: number): JsonMessage {
  return { errorDetail: { ...(code ? { code } : {}), message }, error: message };
}

/** The body of a JSON message stream: one object a line. */
export function jsonLines(messages: JsonMessage[]): string {
  return messages.map((m) => `${JSON.stringify(m)}\n`).join('');
}

export interface PullSummary {
  /** The tag or digest asked for ("1", "sha256:..."): dockerd's id of the first line. */
  tagOrDigest: string;
  /** The repository's path in its registry ("team/app"). */
  repository: string;
  /** Lowest first. */
  layers: LayerTransfer[];
  /** The manifest's (or index's) digest. */
  digest: string;
  /** The reference as the client gave it, with its tag ("127.0.0.1:5000/team/app:1"). */
  name: string;
  /** Every node had this very image already. */
  upToDate: boolean;
}

/** What `docker pull` prints: "1: Pulling from team/app", each layer, "Digest: ...", "Status: ...". */
export function pullMessages(pull: PullSummary): JsonMessage[] {
  const layers = pull.upToDate ? [] : pull.layers;
  return [
    { status: `Pulling from ${pull.repository}`, id: pull.tagOrDigest },
    ...layers.map((l) => layerStatus(l, l.moved ? 'Pulling fs layer' : 'Already exists')),
    ...layers.filter((l) => l.moved).map((l) => layerStatus(l, 'Pull complete')),
    { status: `Digest: ${pull.digest}` },
    { status: pull.upToDate ? `Status: Image is up to date for ${pull.name}` : `Status: Downloaded newer image for ${pull.name}` },
  ];
}

export interface PushSummary {
  /** The repository with its registry ("127.0.0.1:5000/team/app"). */
  repository: string;
  tag: string;
  /** Lowest first. */
  layers: LayerTransfer[];
  /** The manifest's digest and size in bytes. */
  digest: string;
  size: number;
}

/** What `docker push` prints: the repository, each layer (topmost first, as dockerd), "TAG: digest: ... size: N". */
export function pushMessages(push: PushSummary): JsonMessage[] {
  const topFirst = [...push.layers].reverse();
  return [
    { status: `The push refers to repository [${push.repository}]` },
    ...topFirst.map((l) => layerStatus(l, 'Preparing')),
    ...topFirst.map((l) => layerStatus(l, l.moved ? 'Pushed' : 'Layer already exists')),
    { status: `${push.tag}: digest: ${push.digest} size: ${push.size}` },
    { progressDetail: {}, aux: { Tag: push.tag, Digest: push.digest, Size: push.size } },
  ];
}

/**
 * One line of Tide's build log as dockerd's legacy builder writes it, or undefined for Tide's own
 * closing line ("Successfully built ID as REF"), which buildEndMessages says in Docker's words.
 */
export function buildLogMessage(line: string): JsonMessage | undefined {
  if (/^Successfully built [0-9a-f]{12} as /.test(line)) return undefined;
  return { stream: `${line}\n` };
}

/** A successful build's end: the image ID for the CLI (-q, --iidfile), then "Successfully built/tagged". */
export function buildEndMessages(id: string, tags: string[], quiet: boolean): JsonMessage[] {
  const imageId = id.startsWith('sha256:') ? id : `sha256:${id}`;
  if (quiet) return [{ aux: { ID: imageId } }, { stream: `${imageId}\n` }];
  return [
    { aux: { ID: imageId } },
    { stream: `Successfully built ${layerId(imageId)}\n` },
    ...tags.map((tag) => ({ stream: `Successfully tagged ${tag}\n` })),
  ];
}

/** A failed build: the CLI exits with a failed RUN step's code, as dockerd's "returned a non-zero code: N". */
export function buildFailureMessage(error: string): JsonMessage {
  const code = /exited with code (\d+)/.exec(error)?.[1];
  return errorMessage(error, code ? Number(code) : 1);
}
