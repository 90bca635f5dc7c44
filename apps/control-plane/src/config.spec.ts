import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { ConfigError, parseFlags } from './config';

describe('control plane flags', () => {
  it('reads the etcd TLS files and the opt-in plain metrics listener', () => {
    const config = parseFlags([
      '--etcd', 'https://10.0.0.5:2379,https://10.0.0.6:2379', '--etcd-ca-file', '/e/ca.crt', '--etcd-cert-file', '/e/c.crt', '--etcd-key-file', '/e/c.key',
      '--metrics-insecure-listen', '127.0.0.1:9101',
    ]);
    assert.deepEqual(config.etcd, ['https://10.0.0.5:2379', 'https://10.0.0.6:2379']);
    assert.deepEqual(config.etcdTls, { caFile: '/e/ca.crt', certFile: '/e/c.crt', keyFile: '/e/c.key' });
    assert.deepEqual(config.metricsInsecureListen, { host: '127.0.0.1', port: 9101 });
  });

  it('serves no plain metrics and uses PKI/etcd unless told', () => {
    const config = parseFlags(['--state-dir', '/s']);
    assert.equal(config.metricsInsecureListen, undefined);
    assert.deepEqual(config.etcdTls, { caFile: undefined, certFile: undefined, keyFile: undefined });
    assert.equal(config.pkiDir, '/s/pki');
  });

  it('advertises the gRPC address to the other control planes: --grpc-listen, its wildcard host named, or --advertise-grpc', () => {
    assert.equal(parseFlags([]).grpcAdvertise, '127.0.0.1:7071');
    assert.equal(parseFlags(['--grpc-listen', '0.0.0.0:7171']).grpcAdvertise, `${os.hostname()}:7171`);
    assert.equal(parseFlags(['--grpc-listen', '0.0.0.0:7171', '--advertise-grpc', 'cp-1.example:7171']).grpcAdvertise, 'cp-1.example:7171');
    assert.throws(() => parseFlags(['--advertise-grpc', '0.0.0.0:7171']), /--advertise-grpc 0.0.0.0:7171: a wildcard names no host/);
    assert.throws(() => parseFlags(['--id', 'a/b']), /--id "a\/b": must be non-empty and without '\/'/);
  });

  it('refuses a listen address without a port', () => {
    assert.throws(() => parseFlags(['--metrics-insecure-listen', '9101']), (error: Error) =>
      error instanceof ConfigError && error.message === '--metrics-insecure-listen: expected HOST:PORT, got "9101"');
  });

  it('reads the store upkeep settings and refuses a bad retention', () => {
    const config = parseFlags(['--etcd-quota-bytes', '16777216', '--etcd-compaction-retention', '10m', '--event-ttl-seconds', '600']);
    assert.deepEqual(config.etcdUpkeep, { quotaBytes: 16_777_216, compactionRetention: '10m', eventTtlSeconds: 600 });
    assert.deepEqual(parseFlags([]).etcdUpkeep, { compactionRetention: '5m', eventTtlSeconds: 3600 });
    assert.throws(() => parseFlags(['--etcd-compaction-retention', 'soon']), /--etcd-compaction-retention: expected a duration/);
  });

  it('supervises 1, 3 or 5 etcd members, only without --etcd', () => {
    assert.equal(parseFlags([]).etcdMembers, 1);
    assert.equal(parseFlags(['--etcd-members', '3']).etcdMembers, 3);
    assert.throws(() => parseFlags(['--etcd-members', '2']), /--etcd-members: expected 1, 3 or 5, got "2"/);
    assert.throws(() => parseFlags(['--etcd-members', '3', '--etcd', 'https://a:2379']), /only without --etcd/);
  });

  it('gives each node a /22 over host-gw unless told, and checks the slice size against the pod CIDR', () => {
    const config = parseFlags([]);
    assert.deepEqual([config.podCidr, config.nodeCidrMaskSize, config.podNetwork], ['100.64.0.0/16', 22, 'host-gw']);
    const told = parseFlags(['--pod-cidr', '100.64.128.0/18', '--node-cidr-mask-size', '24', '--pod-network', 'vxlan']);
    assert.deepEqual([told.podCidr, told.nodeCidrMaskSize, told.podNetwork], ['100.64.128.0/18', 24, 'vxlan']);
    assert.throws(() => parseFlags(['--pod-cidr', '100.64.0.0/23']), /--pod-cidr: "100\.64\.0\.0\/23" is smaller than one node's slice \(a \/22/);
    assert.throws(() => parseFlags(['--node-cidr-mask-size', '31']), /--node-cidr-mask-size: expected a prefix length from 8 to 30/);
    assert.throws(() => parseFlags(['--pod-network', 'flannel']), /--pod-network: expected host-gw or vxlan, got "flannel"/);
  });
});

describe('node pool flags', () => {
  it('reads a pool, its local provider, the scale-down delay and the lead', () => {
    const config = parseFlags(['--node-pool', 'name=burst,min=0,max=3,cpu=1500m,memory=2Gi', '--local-nodes', '/tmp/c', '--node-scale-down-delay-seconds', '5']);
    assert.deepEqual(config.nodePool, {
      pool: { name: 'burst', minNodes: 0, maxNodes: 3, template: { cpu: 1500, memory: 2 * 2 ** 30, labels: {} } }, localNodes: '/tmp/c', scaleDownDelaySeconds: 5,
      leadSeconds: 60,
    });
    const lead = parseFlags(['--node-pool', 'name=burst,min=0,max=3,cpu=1,memory=1Gi', '--local-nodes', '/tmp/c', '--node-lead-seconds', '120']);
    assert.equal(lead.nodePool?.leadSeconds, 120);
    assert.equal(parseFlags([]).nodePool, undefined);
  });

  const refused: [string[], RegExp][] = [
    [['--node-pool', 'name=burst,min=0,max=3,cpu=1,memory=1Gi'], /--node-pool needs a provider: --local-nodes/],
    [['--node-pool', 'name=burst,min=0,max=3,cpu=1', '--local-nodes', '/c'], /--node-pool: missing memory/],
    [['--node-pool', 'name=burst,min=4,max=3,cpu=1,memory=1Gi', '--local-nodes', '/c'], /--node-pool: pool burst: maxNodes: must be at least minNodes \(3 < 4\)/],
    [['--node-pool', 'name=burst,min=0,max=3,cpu=lots,memory=1Gi', '--local-nodes', '/c'], /--node-pool: cpu: invalid quantity "lots"/],
    [['--node-pool', 'name=burst,size=3', '--local-nodes', '/c'], /--node-pool: expected name=…,min=…,max=…,cpu=…,memory=…, got "size=3"/],
    [['--local-nodes', '/c'], /go with --node-pool/],
    [['--node-lead-seconds', '30'], /go with --node-pool/],
    [['--node-pool', 'name=burst,min=0,max=3,cpu=1,memory=1Gi', '--local-nodes', '/c', '--node-lead-seconds', 'soon'], /--node-lead-seconds: expected a number of seconds/],
  ];
  for (const [flags, error] of refused) {
    it(`refuses ${flags.join(' ')}`, () => assert.throws(() => parseFlags(flags), (e: Error) => e instanceof ConfigError && error.test(e.message)));
  }
});
