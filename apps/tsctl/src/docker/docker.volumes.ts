/**
 * Docker's volume endpoints over Tide (docker.volume.model.ts says what a volume is here): list,
 * inspect, create and remove, and the records of the named volumes a created container uses that
 * no `docker volume create` made first (dockerd makes those on the fly too).
 */
import { randomBytes } from 'node:crypto';
import type { LocalVolumeView } from '@tide/api';
import { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import { labelMatches, parseFilters } from './docker.filters';
import { DockerVolume, HeldVolume, VolumeCreateBody, namedVolumesOf, volumeEntry, volumeRecord } from './docker.volume.model';

export const VOLUME_FILTERS = ['name', 'label', 'dangling', 'driver'];

export class DockerVolumes {
  constructor(private readonly containers: TideContainers) {}

  /** `GET /volumes?filters=...` (docker volume ls). */
  async list(filtersText: string | null): Promise<{ Volumes: Array<Record<string, unknown>>; Warnings: string[] }> {
    const filters = parseFilters(filtersText, VOLUME_FILTERS, 'volumes');
    const [volumes, held, used] = await Promise.all([this.containers.volumes(), this.held(), this.usedNames()]);
    const passes = (volume: DockerVolume): boolean => [...filters.entries()].every(([name, values]) => {
      if (name === 'label') return values.every((value) => labelMatches(volume.labels, value));
      if (name === 'name') return values.some((value) => volume.name.includes(value));
      if (name === 'driver') return values.some((value) => value === 'local');
      return values.some((value) => (value === 'true' || value === '1') === !used.has(volume.tideName));
    });
    return { Volumes: volumes.filter(passes).map((v) => volumeEntry(v, heldOf(v, held))), Warnings: [] };
  }

  async inspect(name: string): Promise<Record<string, unknown>> {
    const [volume, held] = await Promise.all([this.find(name), this.held()]);
    return volumeEntry(volume, heldOf(volume, held));
  }

  /** A name already taken answers that volume, as dockerd does. */
  async create(body: VolumeCreateBody): Promise<Record<string, unknown>> {
    const record = volumeRecord(body, this.containers.namespace, () => randomBytes(32).toString('hex'));
    const name = record.data!.name;
    const existing = (await this.containers.volumes()).find((v) => v.name === name);
    if (!existing) await this.containers.createVolume(record);
    return this.inspect(name);
  }

  /** Refused while a container (running or not) mounts it, as dockerd refuses; its data goes with it. */
  async remove(name: string, force: boolean): Promise<void> {
    const volume = await this.find(name).catch((error: unknown) => {
      if (force && error instanceof DockerError && error.status === 404) return undefined;
      throw error;
    });
    if (!volume) return;
    const users = (await this.containers.list()).filter((c) => namedVolumesOf(c.service).includes(volume.tideName));
    if (users.length) throw new DockerError(409, `remove ${name}: volume is in use - [${users.map((c) => c.id).join(', ')}]`);
    await this.containers.removeVolume(volume, await this.namespaces());
  }

  /** Records the named volumes a container uses that have none yet (Tide name → Docker name). */
  async ensure(named: ReadonlyMap<string, string>): Promise<void> {
    if (named.size === 0) return;
    const known = new Set((await this.containers.volumes()).map((v) => v.name));
    for (const docker of new Set(named.values())) {
      if (!known.has(docker)) await this.containers.createVolume(volumeRecord({ Name: docker }, this.containers.namespace, () => docker));
    }
  }

  private async find(name: string): Promise<DockerVolume> {
    const volume = (await this.containers.volumes()).find((v) => v.name === name);
    if (!volume) throw new DockerError(404, `get ${name}: no such volume`);
    return volume;
  }

  /** The server's namespace and its networks': where its containers, and so their volumes, are. */
  private async namespaces(): Promise<string[]> {
    return [this.containers.namespace, ...(await this.containers.networks()).map((n) => n.namespace)];
  }

  private async held(): Promise<LocalVolumeView[]> {
    return this.containers.localVolumes(await this.namespaces());
  }

  private async usedNames(): Promise<Set<string>> {
    return new Set((await this.containers.list()).flatMap((c) => namedVolumesOf(c.service)));
  }
}

function heldOf(volume: DockerVolume, held: LocalVolumeView[]): HeldVolume[] {
  return held.filter((h) => h.name === volume.tideName).map(({ namespace, node, sizeBytes, users }) => ({ namespace, node, users, ...(sizeBytes !== undefined ? { sizeBytes } : {}) }));
}
