/**
 * The API's archive endpoints for one namespace (libs/api archive.types.ts): the stat of a path in a
 * replica, a tar of it, and a tar extracted into a directory of it. `tsctl cp` and the Docker API's
 * `/containers/{id}/archive` both go through here.
 */
import { PATH_STAT_HEADER, PathStat, decodePathStat } from '@tide/api';
import { ApiClient, ApiError, errorFromFetchResponse } from '../api/api.client';
import { query } from '../commands/command';

export class ReplicaFiles {
  constructor(private readonly api: ApiClient, private readonly namespace: string) {}

  private path(replica: string, params: Record<string, string | undefined>): string {
    return `/api/v1/replicas/${encodeURIComponent(replica)}/archive${query({ namespace: this.namespace, ...params })}`;
  }

  /** undefined when the path does not exist in the replica. */
  async stat(replica: string, path: string): Promise<PathStat | undefined> {
    const response = await this.api.fetch('HEAD', this.path(replica, { path }));
    if (response.status === 404) return undefined;
    // A HEAD answer has no body to carry the API's message: the status says what went wrong.
    if (!response.ok) throw new ApiError(`cannot stat ${replica}:${path}: ${response.status} ${response.statusText}`, response.status);
    return statOf(response, replica, path);
  }

  /** A tar of the path: its top entry named after the path's last component ("." for "dir/."). */
  async read(replica: string, path: string, signal?: AbortSignal): Promise<{ stat: PathStat; tar: AsyncIterable<Uint8Array> }> {
    const response = await this.api.fetch('GET', this.path(replica, { path }), undefined, signal);
    if (!response.ok) throw await errorFromFetchResponse(response);
    return { stat: statOf(response, replica, path), tar: (response.body ?? []) as AsyncIterable<Uint8Array> };
  }

  /** Extracts `tar` into the directory at `directory`; `keepOwners` keeps the archive's owners (else root's). */
  async write(replica: string, directory: string, tar: NodeJS.ReadableStream, keepOwners = false): Promise<void> {
    const response = await this.api.upload(this.path(replica, { path: directory, ...(keepOwners ? { copyUIDGID: '1' } : {}) }), tar, 'application/x-tar', 'PUT');
    if (!response.ok) throw await errorFromFetchResponse(response);
    await response.arrayBuffer();
  }
}

function statOf(response: Response, replica: string, path: string): PathStat {
  const stat = decodePathStat(response.headers.get(PATH_STAT_HEADER));
  if (!stat) throw new ApiError(`the API sent no stat of ${replica}:${path} (header ${PATH_STAT_HEADER}): is it older than this tsctl?`, 502);
  return stat;
}
