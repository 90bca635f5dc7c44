/**
 * `DELETE /v1/local-volumes/NAMESPACE/NAME`: deletes a named local volume and its data on this node
 * (the control plane's `DELETE /api/v1/volumes/NAME` comes here once it found no Service using it).
 * The agent checks again against its own replicas, which may know of a start the control plane's
 * view does not show yet. The control plane's alone (agent.auth.ts).
 */
import * as http from 'node:http';
import { sendJson } from './http.responses';

export const LOCAL_VOLUME_PATH = /^\/v1\/local-volumes\/([^/]+)\/([^/]+)$/;

/** A DNS label, as volume.validation.ts requires of a local volume's name and of a namespace. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface LocalVolumeRemover {
  /** The replicas of this node whose assignment mounts the volume. */
  users(namespace: string, name: string): string[];
  remove(namespace: string, name: string, inUse: boolean): 'removed' | 'absent' | 'in-use';
}

export function handleLocalVolumeRequest(volumes: LocalVolumeRemover | undefined, req: http.IncomingMessage, res: http.ServerResponse, match: RegExpExecArray): void {
  if (req.method !== 'DELETE') return sendJson(res, 405, { error: `${req.method} is not allowed on ${match[0]}: DELETE` });
  if (!volumes) return sendJson(res, 501, { error: 'this agent keeps no local volumes' });
  const [namespace, name] = [decodeURIComponent(match[1]), decodeURIComponent(match[2])];
  if (!LABEL.test(namespace) || !LABEL.test(name)) return sendJson(res, 400, { error: `"${namespace}/${name}": a namespace and a volume name are DNS labels` });
  const users = volumes.users(namespace, name);
  const outcome = volumes.remove(namespace, name, users.length > 0);
  if (outcome === 'absent') return sendJson(res, 404, { error: `volume "${name}" of namespace ${namespace} is not on this node` });
  if (outcome === 'in-use') return sendJson(res, 409, { error: `volume "${name}" of namespace ${namespace} is in use by replica ${users.join(', ')}` });
  res.writeHead(204).end();
}
