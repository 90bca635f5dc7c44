/**
 * The image routes that read or remove what the cluster's nodes hold (`docker images`, `docker rmi`,
 * `docker history`), over the control plane's image API. One Docker image per id, with every ref the
 * nodes hold it under as its RepoTags; the size is the largest a node reports.
 */
import type { ClusterImage } from '@tide/api';
import { ApiClient, ApiError } from '../api/api.client';
import { DockerError } from './docker.errors';

interface HistoryAnswer {
  id: string;
  history: { layer?: string; created?: string; createdBy: string; sizeBytes: number; comment?: string }[];
}

/** Docker writes ids with their algorithm. */
function imageId(id: string): string {
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

export class DockerImages {
  constructor(private readonly api: ApiClient) {}

  async list(): Promise<Record<string, unknown>[]> {
    return imageEntries((await this.api.get<{ items: ClusterImage[] }>('/api/v1/images')).items);
  }

  /** `DELETE /images/{name}`: Docker's list of what was untagged and deleted. */
  async remove(name: string): Promise<Record<string, string>[]> {
    const ref = withTag(name);
    const before = (await this.api.get<{ items: ClusterImage[] }>('/api/v1/images')).items.filter((i) => i.ref === ref);
    if (before.length === 0) throw new DockerError(404, `No such image: ${name}`);
    await this.api.request('DELETE', `/api/v1/images/${encodeURIComponent(ref)}`).catch(notFoundAsDocker(name));
    return [{ Untagged: ref }, ...[...new Set(before.map((i) => imageId(i.id)))].map((id) => ({ Deleted: id }))];
  }

  /** `GET /images/{name}/history`: newest first, as Tide keeps it. */
  async history(name: string): Promise<Record<string, unknown>[]> {
    const answer = await this.api.get<HistoryAnswer>(`/api/v1/images/${encodeURIComponent(withTag(name))}/history`).catch(notFoundAsDocker(name));
    return answer.history.map((h, i) => ({
      Id: i === 0 ? imageId(answer.id) : '<missing>', Created: unixSeconds(h.created), CreatedBy: h.createdBy,
      Tags: i === 0 ? [withTag(name)] : null, Size: h.sizeBytes, Comment: h.comment ?? '',
    }));
  }
}

/** Docker's default tag. */
function withTag(name: string): string {
  return /:[^/]+$/.test(name) || name.includes('@') ? name : `${name}:latest`;
}

function notFoundAsDocker(name: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof ApiError && error.status === 404) throw new DockerError(404, `No such image: ${name}`);
    throw error;
  };
}
