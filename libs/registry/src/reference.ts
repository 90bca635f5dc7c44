/**
 * Image references as Docker and the distribution spec write them: `repo`, `repo:tag`,
 * `host:port/repo:tag`, `repo@sha256:<hex>` (and `repo:tag@sha256:<hex>`, whose digest wins).
 * A first path part with a dot or a port, or `localhost`, is a registry host; without one the
 * reference is left without a registry for the caller to fill in (Tide: the cluster's registry).
 */
import { RegistryError } from './errors';

export interface ImageReference {
  /** `host[:port]`, when the reference names one. */
  registry?: string;
  /** The repository path, e.g. `shop/web`. */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** The distribution spec's limit on a repository name with its host. */
const MAX_NAME = 255;

export function parseImageReference(text: string): ImageReference {
  const bad = (why: string) => new RegistryError('Invalid', `"${text}" is not an image reference: ${why} (expected [host[:port]/]repository[:tag][@sha256:<hex>])`);
  let rest = text.trim();
  if (rest === '') throw bad('it is empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`the digest "${digest}" is not sha256:<64 lower-case hex>`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`the tag "${tag}" has a character a tag cannot have`);
  }
  const parts = rest.split('/');
  let registry: string | undefined;
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost' || parts[0].startsWith('['))) {
    registry = parts.shift()!;
    if (!HOST.test(registry)) throw bad(`"${registry}" is not a host[:port]`);
  }
  let repository = parts.join('/');
  if (registry === 'docker.io' || registry === 'index.docker.io') {
    repository = repository.includes('/') ? repository : `library/${repository}`;
  }
  if (!REPOSITORY.test(repository)) throw bad(`the repository "${repository}" must be lower-case letters, digits and separators (. _ __ -) in /-separated parts`);
  if ((registry ? registry.length + 1 : 0) + repository.length > MAX_NAME) throw bad(`the name is longer than ${MAX_NAME} characters`);
  return { ...(registry ? { registry } : {}), repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** What to ask the registry for: the digest when there is one, else the tag (`latest` by default). */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export function formatImageReference(ref: ImageReference): string {
  const name = ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
  return `${name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
