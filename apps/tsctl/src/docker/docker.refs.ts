/**
 * Docker references and the names Tide's image stores keep images under. The docker CLI sends
 * familiar names ("busybox", "team/app", "127.0.0.1:5000/team/app"); Tide keeps the cluster
 * registry's images under their short names (libs/registry cluster.names.ts), so a reference to the
 * cluster registry and its short name are one image, and Docker Hub's familiar form is kept as is.
 */
import { DockerError } from './docker.errors';

export interface DockerRef {
  /** "host:port" when the first component names a registry. */
  registry?: string;
  /** The path in the registry ("team/app"; Docker Hub's official images without "library/"). */
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** dockerd's rule: the first component is a registry when it has a "." or ":", or is "localhost". */
export function parseDockerRef(text: string): DockerRef {
  const at = text.indexOf('@');
  const digest = at >= 0 ? text.slice(at + 1) : undefined;
  if (digest !== undefined && !DIGEST.test(digest)) throw new DockerError(400, `invalid reference format: "${text}" (a digest is sha256: and 64 hex digits)`);
  const named = at >= 0 ? text.slice(0, at) : text;
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  const name = tag === undefined ? named : named.slice(0, colon);
  const [first, ...rest] = name.split('/');
  const hasRegistry = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let repository = hasRegistry ? rest.join('/') : name;
  const registry = hasRegistry && first !== 'docker.io' ? first : undefined;
  if (!registry) repository = repository.replace(/^library\//, '');
  if (!repository || !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) {
    throw new DockerError(400, `invalid reference format: repository name must be lowercase ("${text}")`);
  }
  return { ...(registry ? { registry } : {}), repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * The name the nodes keep the image under: without the cluster registry's address, ":latest" when
 * no tag is given, and a pull by digest under the tag "sha256-HEX" (as Tide's pull keeps it).
 */
export function storeRef(ref: DockerRef, clusterRegistry: string | undefined): string {
  const host = ref.registry && ref.registry !== clusterRegistry ? `${ref.registry}/` : '';
  const tag = ref.tag ?? (ref.digest ? ref.digest.replace(':', '-') : 'latest');
  return `${host}${ref.repository}:${tag}`;
}

/** The reference as Docker prints it, with its tag or digest ("127.0.0.1:5000/team/app:1"). */
export function familiarString(ref: DockerRef): string {
  const name = `${ref.registry ? `${ref.registry}/` : ''}${ref.repository}`;
  return ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag ?? 'latest'}`;
}

/** An image ID or a prefix of one, as dockerd accepts them wherever it takes an image name. */
export function idPrefixOf(text: string): string | undefined {
  const match = /^(?:sha256:)?([0-9a-f]{4,64})$/.exec(text);
  return match?.[1];
}
