/**
 * What a node offers about its images (contract between libs/runtime and the node agent's HTTP
 * endpoints): import of OCI image layout and `docker save` archives, listing, removal, export as an
 * OCI image layout archive (how a built image reaches the other nodes), and Dockerfile builds.
 */

export interface ImageInfo {
  /** "name:tag", e.g. "busybox:latest". */
  ref: string;
  /** "sha256:<hex>" of the image's config JSON (Docker's image ID). */
  id: string;
  /** Layer digests (diffIDs, "sha256:<hex>" of the uncompressed layer tar), lowest first. */
  layers: string[];
  /** Unpacked size of all layers in bytes. */
  sizeBytes: number;
  /** ISO time the image was created (from its config), when known. */
  created?: string;
}

export interface BuildOptions {
  /** Directory holding the Dockerfile and the files COPY/ADD may use. */
  contextDir: string;
  /** "name:tag" given to the result. */
  tag: string;
  /** Path of the Dockerfile relative to contextDir; default "Dockerfile". */
  dockerfile?: string;
  /** Build progress, one line at a time (as `docker build` prints it). */
  log(line: string): void;
  /** `--build-arg NAME=VALUE`: values for the Dockerfile's ARGs. */
  buildArgs?: Record<string, string>;
  /** Brings an image a FROM or COPY --from names into the store when it is not there (a registry pull). */
  pull?(ref: string): Promise<void>;
}

export interface ImageService {
  /** Imports every image in an archive (a file path): OCI image layout or `docker save` format,
   *  plain or gzip-compressed. Rejects with an ImageError naming the entry at fault, and then leaves
   *  nothing of the archive behind. */
  importArchive(file: string): Promise<ImageInfo[]>;
  list(): Promise<ImageInfo[]>;
  /** Removes a tag, then every layer no other image uses. NotFound when the ref is unknown. */
  remove(ref: string): Promise<void>;
  /** Writes the image as an OCI image layout tar archive. */
  exportArchive(ref: string, out: NodeJS.WritableStream): Promise<void>;
  build(options: BuildOptions): Promise<ImageInfo>;
}

/** NotFound: no such image. Invalid: a bad archive, layer, reference or Dockerfile (the message names
 *  the entry, field or line). BuildFailed: a build step failed (e.g. RUN exited non-zero). */
export type ImageErrorCode = 'NotFound' | 'Invalid' | 'BuildFailed';

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}
