/** Docker networks as Tide namespaces: the records, the JSON compose reads, where a container goes. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ConfigMap, Service } from '@tide/api';
import type { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import { Container, containerName } from './docker.model';
import { DockerNetwork, containerNetworks, networkEntry, networkOf, networkRecord } from './docker.network.model';
import { DockerNetworks } from './docker.networks';

const ID = 'ab'.repeat(32);

function container(labels: Record<string, string>, ip?: string): Container {
  return {
    id: ID,
    service: { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'demo-default-1', labels }, spec: { replicas: 1, image: 'busybox' } } as Service,
    ...(ip ? { replica: { metadata: { name: 'web-1', namespace: 'demo-default-1' }, spec: {}, status: { ip } } as unknown as Container['replica'] } : {}),
  };
}

async function refusal(work: Promise<unknown>): Promise<[number, string]> {
  const error = await work.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof DockerError, `expected a DockerError, got ${String(error)}`);
  return [error.status, error.message];
}

describe('network records', () => {
  it("keeps compose's network as a ConfigMap naming its namespace, the labels as the network's", () => {
    const record = networkRecord({ Name: 'demo_default', Labels: { 'com.docker.compose.project': 'demo' }, Attachable: true, CheckDuplicate: true }, 'default');
    assert.match(record.data!.namespace, /^demo-default-[0-9a-f]{8}$/);
    assert.equal(record.metadata.name, `docker-network-${record.data!.namespace}`);
    assert.deepEqual(record.metadata.labels, { 'com.docker.compose.project': 'demo', 'tide/docker': 'network' });
    const network = networkOf({ ...record, metadata: { ...record.metadata, uid: 'u-1', creationTimestamp: '2026-01-01T00:00:00Z' } } as ConfigMap);
    assert.deepEqual([network.name, network.labels], ['demo_default', { 'com.docker.compose.project': 'demo' }]);
    assert.match(network.id, /^[0-9a-f]{64}$/);
  });

  it('refuses what Tide cannot give, naming it', () => {
    const refused = (body: Parameters<typeof networkRecord>[0]) => {
      try {
        networkRecord(body, 'default');
      } catch (error) {
        return error instanceof DockerError ? [error.status, error.message] : [0, String(error)];
      }
      return [0, 'accepted'];
    };
    assert.deepEqual(refused({ Name: 'bridge' }), [403, 'bridge is a pre-defined network and cannot be created']);
    assert.equal(refused({ Name: '-x' })[0], 400);
    assert.match(String(refused({ Name: 'n', Internal: true })[1]), /does not support internal networks \(--internal\)/);
    assert.match(String(refused({ Name: 'n', IPAM: { Driver: 'default', Config: [{ Subnet: '100.64.0.0/24' }] } })[1]), /IPAM settings \(--subnet/);
    assert.match(String(refused({ Name: 'n', Driver: 'overlay' })[1]), /the "overlay" driver \(only bridge\)/);
    // What the docker CLI sends for a plain `docker network create n`.
    assert.deepEqual(refused({ Name: 'n', Driver: 'bridge', IPAM: { Driver: 'default', Config: [], Options: {} }, Options: {}, ConfigFrom: null }), [0, 'accepted']);
  });
});

describe("a container's networks as compose reads them", () => {
  it('shows a user-defined network with the aliases and the short id (compose then leaves it connected)', () => {
    const c = container({ 'tide/docker-network': 'demo_default', 'tide/docker-network-id': 'n1', 'tide/docker-aliases': 'web' }, '100.64.1.5');
    const networks = containerNetworks(c) as Record<string, { Aliases: string[]; IPAddress: string; NetworkID: string }>;
    assert.deepEqual(Object.keys(networks), ['demo_default']);
    assert.deepEqual([networks.demo_default.Aliases, networks.demo_default.IPAddress, networks.demo_default.NetworkID], [['web', ID.slice(0, 12)], '100.64.1.5', 'n1']);
    assert.equal((containerNetworks(container({})) as Record<string, { Aliases: null }>).bridge.Aliases, null);
  });

  it("lists the network's containers in its inspect", () => {
    const network: DockerNetwork = { id: 'n1', name: 'demo_default', namespace: 'demo-default-1', created: '2026-01-01T00:00:00Z', labels: {}, record: 'docker-network-demo-default-1' };
    const entry = networkEntry(network, [container({ 'tide/docker-network': 'demo_default', 'tide/docker-name': 'demo_web_1' }, '100.64.1.5'), container({})]);
    assert.deepEqual(Object.values(entry.Containers as object).map((c: { Name: string; IPv4Address: string }) => [c.Name, c.IPv4Address]), [['demo_web_1', '100.64.1.5/32']]);
  });
});

describe('where a created container goes', () => {
  const network: DockerNetwork = { id: 'f'.repeat(64), name: 'demo_default', namespace: 'demo-default-1', created: '', labels: {}, record: 'docker-network-demo-default-1' };
  const taken = new Set<string>();
  const containers = {
    namespace: 'default',
    networks: async () => [network],
    service: async (name: string) => (taken.has(name) ? ({} as Service) : undefined),
  } as unknown as TideContainers;
  const networks = new DockerNetworks(containers);
  const body = (mode: string, aliases: string[]) => ({ Image: 'busybox', HostConfig: { NetworkMode: mode }, NetworkingConfig: { EndpointsConfig: { [mode]: { Aliases: aliases } } } });

  it("puts it in the network's namespace, its Service named after its alias", async () => {
    const placed = await networks.placement(containerName('demo_web_1'), body('demo_default', ['web']));
    assert.deepEqual([placed.namespace, placed.names.service, placed.names.docker], ['demo-default-1', 'web', 'demo_web_1']);
    assert.deepEqual(placed.labels, { 'tide/docker-network': 'demo_default', 'tide/docker-network-id': network.id, 'tide/docker-aliases': 'web' });
    assert.equal(placed.body.HostConfig?.NetworkMode, undefined);
  });

  it('names it after the container when the alias is taken (a second replica of a compose service)', async () => {
    taken.add('web');
    const placed = await networks.placement(containerName('demo_web_2'), body('demo_default', ['web']));
    assert.equal(placed.names.service, containerName('demo_web_2').service);
  });

  it("answers Docker's errors for an unknown network and for aliases on bridge", async () => {
    assert.deepEqual(await refusal(networks.placement(containerName('xy'), body('ghost', []))), [404, 'network ghost not found']);
    assert.deepEqual(await refusal(networks.placement(containerName('xy'), body('bridge', ['a']))), [400, 'network-scoped alias is supported only for containers in user defined networks']);
    const bridge = await networks.placement(containerName('xy'), { Image: 'busybox' });
    assert.equal(bridge.namespace, 'default');
  });
});
