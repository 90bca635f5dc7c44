/**
 * Docker's error shape: a status code and `{"message": "..."}`, which the docker CLI prints as
 * "Error response from daemon: MESSAGE". Tide API errors keep their status (401, 403, 404) and text.
 */
import { ApiError } from '../api/api.client';

export class DockerError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'DockerError';
  }
}

/** The answer for any failure: ours as they are, the Tide API's with its status (unreachable: 502), anything else a 500. */
export function dockerErrorOf(error: unknown): DockerError {
  if (error instanceof DockerError) return error;
  if (error instanceof ApiError) return new DockerError(error.status === 0 ? 502 : error.status, error.message);
  return new DockerError(500, `unexpected: ${error instanceof Error ? error.message : String(error)}`);
}

export function noSuchContainer(ref: string): DockerError {
  return new DockerError(404, `No such container: ${ref}`);
}
