/**
 * The Tide API calls behind Docker's container verbs, made with the credential of whoever runs
 * `tsctl docker-serve`: the control plane authenticates and authorises every one of them as it does
 * tsctl's. Containers are the Services labelled `tide/docker=container` of one namespace (the
 * `bridge` network's) and of the namespaces of its user-defined networks (docker.network.model.ts),
 * kept as ConfigMaps in that namespace.
 */
import type { ConfigMap, LocalVolumeView, Replica, Service } from '@tide/api';
import { ApiClient, ApiError, errorFromFetchResponse } from '../api/api.client';
import { query } from '../commands/command';
import { DockerError, noSuchContainer } from './docker.errors';
import { CONTAINER_LABEL, Container, STOPPED_LABEL, containerId, dockerName, stoppedLabel } from './docker.model';
import { DockerNetwork, isNetworkRecord, networkOf } from './docker.network.model';
import { DockerVolume, isVolumeRecord, volumeOf } from './docker.volume.model';

/**
 * How often a wait re-reads the container (the API answers from its cache): soon at first, since a
 * start or an exit often takes a few tens of milliseconds, then less and less often up to POLL_MAX_MS,
 * so that a long wait costs the API four reads a second.
 */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;

export class TideContainers {
  constructor(readonly api: ApiClient, readonly namespace: string) {}

  /** Every container of the namespace and of its networks' namespaces, with its current replica. */
  async list(): Promise<Container[]> {
    const namespaces = [this.namespace, ...(await this.networks()).map((n) => n.namespace)];
    const lists = await Promise.all(namespaces.map((ns) => this.listIn(ns)));
    return lists.flat();
  }

  private async listIn(ns: string): Promise<Container[]> {
    const [services, replicas] = await Promise.all([
      this.api.get<{ items: Service[] }>(`/api/v1/services${query({ namespace: ns })}`),
      this.api.get<{ items: Replica[] }>(`/api/v1/replicas${query({ namespace: ns })}`),
    ]);
    return services.items.filter(isContainer).map((service) => ({
      id: containerId(service.metadata.uid ?? ''), service, replica: current(replicas.items.filter((r) => r.spec.service === service.metadata.name)),
    }));
  }

  /** The user-defined networks (ConfigMaps labelled `tide/docker=network` in the server's namespace). */
  async networks(): Promise<DockerNetwork[]> {
    const configs = await this.api.get<{ items: ConfigMap[] }>(`/api/v1/configmaps${query({ namespace: this.namespace })}`);
    return configs.items.filter(isNetworkRecord).map(networkOf);
  }

  async createNetwork(record: ConfigMap): Promise<void> {
    await this.apply(record);
  }

  async removeNetwork(network: DockerNetwork): Promise<void> {
    if (network.record === undefined) return;
    await this.api.request('DELETE', `/api/v1/configmaps/${encodeURIComponent(network.record)}${query({ namespace: this.namespace })}`).catch(absentOn404);
  }

  /** The Docker volumes (ConfigMaps labelled `tide/docker=volume` in the server's namespace). */
  async volumes(): Promise<DockerVolume[]> {
    const configs = await this.api.get<{ items: ConfigMap[] }>(`/api/v1/configmaps${query({ namespace: this.namespace })}`);
    return configs.items.filter(isVolumeRecord).map(volumeOf);
  }

  async createVolume(record: ConfigMap): Promise<void> {
    await this.apply(record);
  }

  /** The volume's data on every node of every namespace it was used from, then its record. */
  async removeVolume(volume: DockerVolume, namespaces: string[]): Promise<void> {
    for (const namespace of namespaces) {
      await this.api.request('DELETE', `/api/v1/volumes/${encodeURIComponent(volume.tideName)}${query({ namespace })}`).catch(absentOn404);
    }
    await this.api.request('DELETE', `/api/v1/configmaps/${encodeURIComponent(volume.record)}${query({ namespace: this.namespace })}`).catch(absentOn404);
  }

  /** Tide's named local volumes of these namespaces (node, size, users). */
  async localVolumes(namespaces: string[]): Promise<LocalVolumeView[]> {
    const lists = await Promise.all(namespaces.map((namespace) => this.api.get<{ items: LocalVolumeView[] }>(`/api/v1/volumes${query({ namespace })}`)));
    return lists.flatMap((list) => list.items);
  }

  /** By name (with or without "/"), full id or a unique id prefix, as dockerd resolves them. */
  async find(ref: string): Promise<Container> {
    const found = await this.lookup(ref);
    if (!found) throw noSuchContainer(ref);
    return found;
  }

  async lookup(ref: string): Promise<Container | undefined> {
    const all = await this.list();
    const name = ref.replace(/^\//, '');
    const byName = all.find((c) => dockerName(c.service) === name) ?? all.find((c) => c.id === ref);
    if (byName) return byName;
    const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((c) => c.id.startsWith(ref)) : [];
    if (byPrefix.length > 1) throw new DockerError(400, `multiple IDs found with provided prefix: ${ref}`);
    return byPrefix[0];
  }

  /** The container again, fresh: undefined once its Service is gone. */
  async refresh(container: Container): Promise<Container | undefined> {
    const { name, namespace } = container.service.metadata;
    const service = await this.api.get<Service>(`/api/v1/services/${encodeURIComponent(name)}${query({ namespace })}`).catch(absentOn404);
    if (!service || containerId(service.metadata.uid ?? '') !== container.id) return undefined;
    const replicas = await this.api.get<{ items: Replica[] }>(`/api/v1/replicas${query({ namespace, service: name })}`);
    return { id: container.id, service, replica: current(replicas.items) };
  }

  /** A Service that is not a container is not overwritten, nor a container of that Docker name: the name is taken. */
  async create(service: Service, name: string): Promise<Container> {
    const { name: serviceName, namespace } = service.metadata;
    const holder = (await this.lookupName(name)) ?? await this.service(serviceName, namespace ?? this.namespace);
    if (holder) {
      const who = 'service' in holder ? `container "${holder.id}"` : isContainer(holder) ? `container "${containerId(holder.metadata.uid ?? '')}"` : `the Tide service "${serviceName}" of namespace ${namespace}`;
      throw new DockerError(409, `Conflict. The container name "/${name}" is already in use by ${who}. You have to remove (or rename) that container to be able to reuse that name.`);
    }
    await this.apply(service);
    const created = await this.lookupName(name);
    if (!created) throw new DockerError(500, `container "${name}" was applied but is not listed: try again`);
    return created;
  }

  /** A Service of that name in that namespace, container or not. */
  async service(name: string, namespace: string): Promise<Service | undefined> {
    return this.api.get<Service>(`/api/v1/services/${encodeURIComponent(name)}${query({ namespace })}`).catch(absentOn404);
  }

  private async apply(document: Service | ConfigMap): Promise<void> {
    try {
      await this.api.request('POST', '/api/v1/apply', { documents: [document] });
    } catch (error) {
      // The API's validation names the field (spec.image, metadata.name): a bad request, as dockerd's.
      if (error instanceof ApiError && error.status === 400) throw new DockerError(400, [error.message, ...error.details.map((d) => `${d.path}: ${d.message}`)].join('; '));
      throw error;
    }
  }

  private async lookupName(name: string): Promise<Container | undefined> {
    return (await this.list()).find((c) => dockerName(c.service) === name);
  }

  async scale(container: Container, replicas: number): Promise<void> {
    await this.api.request('PUT', `/api/v1/services/${encodeURIComponent(container.service.metadata.name)}/scale${query({ namespace: container.service.metadata.namespace })}`, { replicas });
  }

  /**
   * Keeps a stopped run's exit on its Service (a label: no new template, nothing restarts), written
   * over the version just read so that a change meanwhile (a start) is not undone. Best effort: a
   * container whose exit could not be kept shows exit code 0.
   */
  async keepStoppedExit(container: Container, code: number, finishedAt: string): Promise<void> {
    const fresh = await this.refresh(container).catch(() => undefined);
    if (!fresh || fresh.replica) return;
    const { name, namespace, resourceVersion, labels } = fresh.service.metadata;
    const document = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace, resourceVersion, labels: { ...labels, [STOPPED_LABEL]: stoppedLabel(code, finishedAt) } }, spec: fresh.service.spec };
    await this.api.request('POST', '/api/v1/apply', { documents: [document] }).catch(() => undefined);
  }

  /** Freezes or thaws the container's replica (the Tide API's pause routes); the wait for its node is the caller's. */
  async setPaused(replica: Replica, paused: boolean): Promise<void> {
    await this.api.request('POST', `/api/v1/replicas/${encodeURIComponent(replica.metadata.name)}/${paused ? 'pause' : 'unpause'}${query({ namespace: replica.metadata.namespace })}`);
  }

  /** The signal to the replica's main process (the API's signal route, exec's right). */
  async signal(replica: string, signal: NodeJS.Signals): Promise<void> {
    await this.api.request('POST', `/api/v1/replicas/${encodeURIComponent(replica)}/signal${query({ namespace: this.namespace, signal })}`);
  }

  async remove(container: Container): Promise<void> {
    await this.api.request('DELETE', `/api/v1/services/${encodeURIComponent(container.service.metadata.name)}${query({ namespace: container.service.metadata.namespace })}`).catch(absentOn404);
  }

  /** Re-reads the container until `done` says so (or it is gone: undefined), for at most `timeoutMs`. */
  async waitFor(container: Container, done: (c: Container | undefined) => boolean, timeoutMs: number, what: string, signal?: AbortSignal): Promise<Container | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (let pause = POLL_FIRST_MS; ; pause = Math.min(POLL_MAX_MS, pause * 1.5)) {
      const now = await this.refresh(container);
      if (done(now)) return now;
      if (signal?.aborted) throw new DockerError(499, `${what}: the client went away`);
      if (Date.now() > deadline) throw new DockerError(500, `container ${dockerName(container.service)}: ${what} took more than ${Math.round(timeoutMs / 1000)} s (replica ${now?.replica?.metadata.name ?? 'none'}: ${now?.replica?.status?.phase ?? 'no status'}${now?.replica?.status?.message ? `, ${now.replica.status.message}` : ''})`);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** The replica's log as the API streams it (text; stdout and stderr as the container wrote them, in one). */
  async openLog(replica: Replica, params: Record<string, string | undefined>, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.api.fetch('GET', `/api/v1/replicas/${encodeURIComponent(replica.metadata.name)}/logs${query({ namespace: replica.metadata.namespace, ...params })}`, undefined, signal);
    if (!response.ok) throw await errorFromFetchResponse(response);
    return (response.body ?? []) as AsyncIterable<Uint8Array>;
  }
}

export function isContainer(service: Service): boolean {
  return service.metadata.labels?.[CONTAINER_LABEL] === 'container';
}

/** The replica the container runs now: the newest not being deleted, else the newest. */
function current(replicas: Replica[]): Replica | undefined {
  const newest = [...replicas].sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  return newest.find((r) => !r.metadata.deletionTimestamp) ?? newest[0];
}

function absentOn404(error: unknown): undefined {
  if (error instanceof ApiError && error.status === 404) return undefined;
  throw error;
}
