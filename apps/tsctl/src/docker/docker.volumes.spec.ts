/** Docker volumes and mounts as Tide volumes: create bodies, records, inspect shapes, the in-use refusal. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ConfigMap, Service } from '@tide/api';
import type { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import { Container, CreateBody, VOLUME_NAMES_LABEL } from './docker.model';
import { mountEntries, volumeEntry, volumeNamesLabel, volumeOf, volumeRecord, volumesOfCreate } from './docker.volume.model';
import { DockerVolumes } from './docker.volumes';

function refusal(work: () => unknown): [number, string] {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof DockerError, `expected a DockerError, got ${String(error)}`);
    return [error.status, error.message];
  }
  assert.fail('expected a refusal');
}

const body = (host: CreateBody['HostConfig'], volumes?: CreateBody['Volumes']): CreateBody => ({ Image: 'busybox', HostConfig: host, ...(volumes ? { Volumes: volumes } : {}) });

describe('volumes of a create body', () => {
  it('makes -v NAME:PATH a named local volume, -v /HOST:PATH a host path, -v PATH an emptyDir', () => {
    const made = volumesOfCreate(body({ Binds: ['shop_data:/data', '/srv/site:/site:ro', 'cache:/cache:rw,nocopy'] }, { '/scratch': {}, '/data': {} }));
    assert.deepEqual(made.volumes, [
      { name: 'v0', localVolume: { name: made.volumes[0].localVolume!.name } },
      { name: 'v1', hostPath: { path: '/srv/site', type: 'DirectoryOrCreate' } },
      { name: 'v2', localVolume: { name: 'cache' } },
      { name: 'v3', emptyDir: {} },
    ]);
    assert.match(made.volumes[0].localVolume!.name, /^shop-data-[0-9a-f]{8}$/);
    assert.deepEqual(made.volumeMounts, [
      { name: 'v0', mountPath: '/data' }, { name: 'v1', mountPath: '/site', readOnly: true }, { name: 'v2', mountPath: '/cache' }, { name: 'v3', mountPath: '/scratch' },
    ]);
    assert.deepEqual([...made.named.values()].sort(), ['cache', 'shop_data']);
  });

  it('takes --mount bind, volume and tmpfs, and --tmpfs with a Docker size', () => {
    const made = volumesOfCreate(body({
      Mounts: [
        { Type: 'volume', Source: 'logs', Target: '/logs', ReadOnly: true },
        { Type: 'bind', Source: '/etc/hostname', Target: '/host-name' },
        { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1048576 } },
      ],
      Tmpfs: { '/run': 'size=64m,noexec' },
    }));
    assert.deepEqual(made.volumes.map(({ name: _name, ...source }) => source), [
      { localVolume: { name: 'logs' } }, { hostPath: { path: '/etc/hostname', type: '' } },
      { emptyDir: { medium: 'Memory', sizeLimit: 1048576 } }, { emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    ]);
    assert.deepEqual(made.volumeMounts.map((m) => [m.mountPath, m.readOnly ?? false]), [['/logs', true], ['/host-name', false], ['/tmp', false], ['/run', false]]);
  });

  it('mounts one volume at two paths as one volume', () => {
    const made = volumesOfCreate(body({ Binds: ['data:/a', 'data:/b:ro'] }));
    assert.equal(made.volumes.length, 1);
    assert.deepEqual(made.volumeMounts, [{ name: 'v0', mountPath: '/a' }, { name: 'v0', mountPath: '/b', readOnly: true }]);
  });

  it('refuses what it cannot honour, naming the field', () => {
    assert.deepEqual(refusal(() => volumesOfCreate(body({ Binds: ['data:/a:z'] }))), [501, "Tide's Docker API does not support the mount mode z (HostConfig.Binds[0]) yet: only ro, rw and nocopy"]);
    assert.deepEqual(refusal(() => volumesOfCreate(body({ Binds: ['data'] }))), [400, 'HostConfig.Binds[0]: "data" is not SOURCE:DESTINATION[:MODE]']);
    assert.deepEqual(refusal(() => volumesOfCreate(body({ Binds: ['data:rel'] }))), [400, 'HostConfig.Binds[0]: the mount point "rel" is not an absolute path']);
    assert.deepEqual(refusal(() => volumesOfCreate(body({ Binds: ['aa:/x', 'bb:/x'] }))), [400, 'Duplicate mount point: /x']);
    assert.equal(refusal(() => volumesOfCreate(body({ Mounts: [{ Type: 'npipe', Source: 'x', Target: '/x' }] })))[0], 501);
    assert.equal(refusal(() => volumesOfCreate(body({ Tmpfs: { '/run': 'uid=1000' } })))[0], 501);
    assert.deepEqual(refusal(() => volumesOfCreate(body({ Tmpfs: { '/run': 'size=lots' } }))), [400, 'HostConfig.Tmpfs["/run"]: size "lots" is not a size (64m, 1g or bytes)']);
  });
});

describe('volume records', () => {
  it("keeps a volume as a ConfigMap of its Docker name and Tide name, the labels as the volume's", () => {
    const record = volumeRecord({ Name: 'shop_data', Driver: 'local', Labels: { 'com.docker.compose.project': 'shop' } }, 'default', () => 'unused');
    assert.match(record.metadata.name, /^docker-volume-shop-data-[0-9a-f]{8}$/);
    assert.equal(record.metadata.labels!['tide/docker'], 'volume');
    const volume = volumeOf({ ...record, metadata: { ...record.metadata, creationTimestamp: '2026-12-03T00:00:00Z' } } as ConfigMap);
    assert.deepEqual({ name: volume.name, labels: volume.labels }, { name: 'shop_data', labels: { 'com.docker.compose.project': 'shop' } });
    assert.equal(volume.tideName, record.data!.volume);
    assert.equal(volumeRecord({}, 'default', () => 'f'.repeat(64)).data!.name, 'f'.repeat(64));
  });

  it('refuses other drivers, driver options and bad names', () => {
    assert.equal(refusal(() => volumeRecord({ Name: 'x1', Driver: 'nfs' }, 'default', () => ''))[0], 501);
    assert.equal(refusal(() => volumeRecord({ Name: 'x1', DriverOpts: { type: 'nfs' } }, 'default', () => ''))[0], 501);
    assert.equal(refusal(() => volumeRecord({ Name: '-x' }, 'default', () => ''))[0], 400);
  });

  it('shows where Tide holds it, or that it is made on first use', () => {
    const volume = { name: 'data', tideName: 'data', created: 'now', labels: {}, record: 'docker-volume-data' };
    assert.deepEqual(volumeEntry(volume, []).Status, { Nodes: 'none yet: made on first use' });
    assert.deepEqual(volumeEntry(volume, [{ namespace: 'default', node: 'node-1', sizeBytes: 4096, users: [] }]).Status, { Nodes: 'node-1 (namespace default, 4096 bytes)' });
  });
});

describe('Mounts of inspect', () => {
  it('shows each mount with its Docker volume name', () => {
    const made = volumesOfCreate(body({ Binds: ['shop_data:/data:ro', '/srv:/srv'], Tmpfs: { '/run': '' } }));
    const service = { metadata: { name: 'web', uid: 'u1', labels: volumeNamesLabel(made.named) }, spec: { volumes: made.volumes, volumeMounts: made.volumeMounts } } as unknown as Service;
    assert.ok(service.metadata.labels![VOLUME_NAMES_LABEL].endsWith('=shop_data'));
    assert.deepEqual(mountEntries(service).map((m) => [m.Type, m.Name ?? m.Source, m.Destination, m.RW]), [
      ['volume', 'shop_data', '/data', false], ['bind', '/srv', '/srv', true], ['tmpfs', '', '/run', true],
    ]);
  });
});

describe('DockerVolumes', () => {
  it('refuses to remove a volume a container mounts, even a stopped one, naming the container', async () => {
    const record = volumeRecord({ Name: 'data' }, 'default', () => '');
    const user: Container = {
      id: 'cd'.repeat(32),
      service: { metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 0, image: 'busybox', volumes: [{ name: 'v0', localVolume: { name: 'data' } }] } } as unknown as Service,
    };
    const removed: string[] = [];
    const backend = {
      namespace: 'default',
      volumes: async () => [volumeOf(record)],
      list: async () => [user],
      networks: async () => [],
      removeVolume: async (v: { name: string }) => void removed.push(v.name),
    } as unknown as TideContainers;
    const error = await new DockerVolumes(backend).remove('data', false).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof DockerError);
    assert.equal(error.status, 409);
    assert.equal(error.message, `remove data: volume is in use - [${'cd'.repeat(32)}]`);
    assert.deepEqual(removed, []);
    user.service.spec.volumes = [];
    await new DockerVolumes(backend).remove('data', false);
    assert.deepEqual(removed, ['data']);
    await new DockerVolumes({ ...backend, volumes: async () => [] } as unknown as TideContainers).remove('gone', true);
  });
});
