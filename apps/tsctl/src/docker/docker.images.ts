/**
 * The image routes that read, name or remove what the cluster's nodes hold (`docker images`,
 * `docker image inspect`, `docker tag`, `docker rmi`, `docker history`), over the control plane's
 * image API. One Docker image per id, with every ref the nodes hold it under as its RepoTags; the
 * size is the largest a node reports. Names resolve as dockerd resolves them: a reference (the
 * cluster registry's by its short name, docker-refs.ts), else an image ID or a prefix of one.
 */
import type { ClusterImage } from '@tide/api';
import { ApiClient, ApiError } from '../api/api.client';
import { DockerError } from './docker.errors';
import { IMAGE_FILTERS, imagePasses, parseFilters } from './docker.filters';
import { familiarString, idPrefixOf, parseDockerRef, storeRef } from './docker.refs';

interface HistoryAnswer {
  id: string;
  history: { layer?: string; created?: string; createdBy: string; sizeBytes: number; comment?: string }[];
}

/** The agent's image details (libs/runtime ImageDetails) with the node that answered. */
interface InspectAnswer {
  ref: string;
  id: string;
  created?: string;
  sizeBytes: number;
  layers: string[];
  config: {
    architecture?: string;
    os?: string;
    config?: Record<string, unknown>;
    history?: { comment?: string; author?: string }[];
  };
}

/** An image a Docker name resolved to: the ref to ask Tide with, its id, and every ref it has. */
export interface ResolvedImage {
  ref: string;
  id: string;
  refs: string[];
}

/** Docker writes ids with their algorithm. */
export function imageId(id: string): string {
  return id.startsWith('sha256:') ? id : `sha256:${id}`;
}

function unixSeconds(time: string | undefined): number {
  return time ? Math.floor(Date.parse(time) / 1000) : 0;
}

/** `GET /images/json`: the entries `docker images` prints, newest first. */
export function imageEntries(items: ClusterImage[]): Record<string, unknown>[] {
  const byId = new Map<string, ClusterImage[]>();
  for (const item of items) byId.set(item.id, [...(byId.get(item.id) ?? []), item]);
  return [...byId.entries()].map(([id, refs]) => {
    const size = Math.max(...refs.map((r) => r.sizeBytes));
    return {
      Id: imageId(id), ParentId: '', RepoTags: [...new Set(refs.map((r) => r.ref))].sort(), RepoDigests: [],
      Created: Math.max(...refs.map((r) => unixSeconds(r.created))), Size: size, VirtualSize: size, SharedSize: -1, Labels: {}, Containers: -1,
    };
  }).sort((a, b) => b.Created - a.Created);
}

/** `GET /images/{name}/json`: dockerd's shape, with the image's own config. */
export function inspectEntry(details: InspectAnswer, refs: string[]): Record<string, unknown> {
  const config = details.config.config ?? {};
  return {
    Id: imageId(details.id), RepoTags: refs, RepoDigests: [], Parent: '', Comment: details.config.history?.at(-1)?.comment ?? '',
    Created: details.created ?? '0001-01-01T00:00:00Z', Container: '', ContainerConfig: {}, DockerVersion: '', Author: details.config.history?.at(-1)?.author ?? '',
    Config: {
      Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false,
      Env: null, Cmd: null, Image: '', Volumes: null, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null, ...config,
    },
    Architecture: details.config.architecture ?? '', Os: details.config.os ?? 'linux', Size: details.sizeBytes, VirtualSize: details.sizeBytes,
    GraphDriver: { Name: 'overlay', Data: null }, RootFS: { Type: 'layers', Layers: details.layers }, Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

export class DockerImages {
  private registry?: Promise<string | undefined>;

  constructor(readonly api: ApiClient) {}

  /** `GET /images/json`, filtered (docker images NAME); a pattern naming the cluster registry matches its short names. */
  async list(filtersParam: string | null): Promise<Record<string, unknown>[]> {
    const filters = parseFilters(filtersParam, IMAGE_FILTERS, 'images');
    const registry = filters.has('reference') ? await this.clusterRegistry() : undefined;
    if (registry) filters.set('reference', filters.get('reference')!.map((p) => (p.startsWith(`${registry}/`) ? p.slice(registry.length + 1) : p)));
    return imageEntries(await this.items()).filter((e) => imagePasses(e.RepoTags as string[], filters));
  }

  /** The cluster registry's host:port (undefined when the cluster has none), asked once. */
  clusterRegistry(): Promise<string | undefined> {
    this.registry ??= this.api.get<{ address: string }>('/api/v1/registry').then((r) => r.address, (error: unknown) => {
      this.registry = undefined; // asked again next time: the answer may have been a passing failure
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    });
    return this.registry;
  }

  /** The store name a Docker reference names (no lookup: the image may not be there yet). */
  async storeRefOf(name: string): Promise<string> {
    return storeRef(parseDockerRef(name), await this.clusterRegistry());
  }

  /**
   * The image of a container to create, as its Service names it: the cluster registry's by its short
   * name (what the nodes keep it under). 404 `No such image` when no Ready node holds it, as dockerd
   * answers for an image it does not have: the docker CLI then pulls it and creates again.
   */
  async forContainer(image: string): Promise<string> {
    const ref = parseDockerRef(image);
    const registry = await this.clusterRegistry();
    if (ref.digest || (ref.registry && ref.registry !== registry)) return image; // the node pulls or refuses it
    const held = (await this.items()).some((i) => i.ref === storeRef(ref, registry));
    if (!held) throw new DockerError(404, `No such image: ${familiarString(ref)}`);
    return registry && image.startsWith(`${registry}/`) ? image.slice(registry.length + 1) : image;
  }

  /** A name as dockerd resolves it: a reference the nodes hold, else an image ID or its prefix; 404 otherwise. */
  async resolve(name: string): Promise<ResolvedImage> {
    const items = await this.items();
    const byRef = await this.storeRefOf(name).catch(() => undefined);
    const found = items.find((i) => i.ref === byRef);
    const prefix = found ? undefined : idPrefixOf(name);
    const ids = found ? [found.id] : [...new Set(items.filter((i) => prefix && imageId(i.id).slice(7).startsWith(prefix)).map((i) => i.id))];
    if (ids.length > 1) throw new DockerError(400, `multiple IDs found with provided prefix: ${name}`);
    if (ids.length === 0) throw new DockerError(404, `No such image: ${name}`);
    const refs = [...new Set(items.filter((i) => i.id === ids[0]).map((i) => i.ref))].sort();
    return { ref: found?.ref ?? refs[0], id: ids[0], refs };
  }

  async inspect(name: string): Promise<Record<string, unknown>> {
    const image = await this.resolve(name);
    const details = await this.api.get<InspectAnswer>(`/api/v1/images/${encodeURIComponent(image.ref)}/inspect`).catch(notFoundAsDocker(name));
    return inspectEntry(details, image.refs);
  }

  /** `POST /images/{name}/tag?repo=&tag=`: every node holding the image names it so too. */
  async tag(name: string, repo: string | null, tag: string | null): Promise<void> {
    if (!repo) throw new DockerError(400, 'repo: the new name is required (docker tag SOURCE TARGET)');
    const image = await this.resolve(name);
    const target = await this.storeRefOf(tag ? `${repo}:${tag}` : repo);
    await this.api.request('POST', '/api/v1/images/tag', { source: image.ref, target }).catch(notFoundAsDocker(name));
  }

  /**
   * `DELETE /images/{name}`: Docker's list of what was untagged and deleted. An ID held under several
   * names is removed only with force, as dockerd; a name removes that name, and the image with its last one.
   */
  async remove(name: string, force: boolean): Promise<Record<string, string>[]> {
    const image = await this.resolve(name);
    const byId = image.ref !== await this.storeRefOf(name).catch(() => undefined);
    if (byId && image.refs.length > 1 && !force) {
      throw new DockerError(409, `conflict: unable to delete ${imageId(image.id).slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    const untag = byId ? image.refs : [image.ref];
    for (const ref of untag) await this.api.request('DELETE', `/api/v1/images/${encodeURIComponent(ref)}`).catch(inUseAsDocker(name));
    const deleted = untag.length === image.refs.length ? [{ Deleted: imageId(image.id) }] : [];
    // A name is echoed as the client wrote it (with its registry), as dockerd does.
    const untagged = byId ? untag : [familiarString(parseDockerRef(name))];
    return [...untagged.map((ref) => ({ Untagged: ref })), ...deleted];
  }

  /** `GET /images/{name}/history`: newest first, as Tide keeps it. */
  async history(name: string): Promise<Record<string, unknown>[]> {
    const image = await this.resolve(name);
    const answer = await this.api.get<HistoryAnswer>(`/api/v1/images/${encodeURIComponent(image.ref)}/history`).catch(notFoundAsDocker(name));
    return answer.history.map((h, i) => ({
      Id: i === 0 ? imageId(answer.id) : '<missing>', Created: unixSeconds(h.created), CreatedBy: h.createdBy,
      Tags: i === 0 ? image.refs : null, Size: h.sizeBytes, Comment: h.comment ?? '',
    }));
  }

  async items(): Promise<ClusterImage[]> {
    return (await this.api.get<{ items: ClusterImage[] }>('/api/v1/images')).items;
  }
}

function notFoundAsDocker(name: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ApiError && error.status === 404) throw new DockerError(404, `No such image: ${name}`);
    throw error;
  };
}

/** Tide refuses (409) to remove an image a replica runs; dockerd words it so. */
function inUseAsDocker(name: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ApiError && error.status === 409) throw new DockerError(409, `conflict: unable to remove repository reference "${name}": ${error.message}`);
    return notFoundAsDocker(name)(error);
  };
}
