import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_PROXY_OPTIONS } from '../proxy/published.port';
import { ConfigError, allocatableOf, parseAgentConfig } from './agent.config';

const MACHINE = { cpuMillis: 8000, memoryBytes: 16 * 2 ** 30 };
/** No join token from the environment or a file: the flags alone. */
const NO_INPUTS = { env: {}, readFile: () => assert.fail('no file is read') };

describe('node agent flags', () => {
  it('reads every flag of the contract', () => {
    const config = parseAgentConfig([
      '--name', 'node-1', '--control-plane', '127.0.0.1:17071', '--address', '127.0.1.1', '--port=17081',
      '--state-dir', '/tmp/s', '--image-dir', '/tmp/i', '--cpu', '2000', '--memory', '1073741824', '--labels', 'zone=a,disk=ssd',
      '--warm-pool', '0', '--dns-upstream', '127.0.0.53,127.0.0.9:5353,[::1]:53',
      '--lb-max-requests-per-replica', '4', '--lb-queue-length', '0', '--lb-request-deadline', '2.5s',
      '--tls-cert-file', '/tmp/a.crt', '--tls-private-key-file', '/tmp/a.key', '--client-ca-file', '/tmp/ca.crt',
      '--api-server', 'https://127.0.0.1:17070/', '--metrics-insecure-listen', '127.0.0.1:9100',
      '--container-log-max-size', '1Mi', '--container-log-max-files', '2',
      '--image-gc-high-threshold', '2Gi', '--image-gc-low-threshold=1500Mi', '--image-gc-min-age', '30s',
      '--eviction-hard', 'nodefs.available<1Gi,imagefs.available<20%', '--eviction-pressure-transition-period', '1m', '--disk-check-interval', '2s',
    ], MACHINE);
    assert.deepEqual(config, {
      name: 'node-1', controlPlane: '127.0.0.1:17071', address: '127.0.1.1', port: 17081, stateDir: '/tmp/s', imageDir: '/tmp/i',
      capacity: { cpuMillis: 2000, memoryBytes: 1073741824 }, labels: { zone: 'a', disk: 'ssd' }, warmPool: 0, warmPoolMax: 16,
      dnsUpstreams: [{ host: '127.0.0.53', port: 53 }, { host: '127.0.0.9', port: 5353 }, { host: '::1', port: 53 }],
      proxy: { ...DEFAULT_PROXY_OPTIONS, maxRequestsPerReplica: 4, queueLength: 0, requestDeadlineMs: 2500 },
      tls: { certificate: '/tmp/a.crt', key: '/tmp/a.key', clientCa: '/tmp/ca.crt' },
      imageGc: { high: { bytes: 2 * 2 ** 30 }, low: { bytes: 1500 * 2 ** 20 }, minAgeMs: 30_000 },
      apiServer: '127.0.0.1:17070', metricsInsecureListen: { host: '127.0.0.1', port: 9100 },
      logLimits: { maxSizeBytes: 2 ** 20, maxFiles: 2 },
      disk: { thresholds: { 'nodefs.available': { amount: 2 ** 30 }, 'imagefs.available': { percent: 20 } }, transitionMs: 60_000, intervalMs: 2000 },
    });
  });

  it('watches the disks at the kubelet\'s eviction thresholds by default, and names a bad one', () => {
    assert.deepEqual(parseAgentConfig([], MACHINE).disk, {
      thresholds: { 'nodefs.available': { percent: 10 }, 'nodefs.inodesFree': { percent: 5 }, 'imagefs.available': { percent: 15 } }, transitionMs: 30_000, intervalMs: 10_000,
    });
    assert.throws(() => parseAgentConfig(['--eviction-hard', 'memory.available<100Mi'], MACHINE),
      (error: Error) => error instanceof ConfigError && /--eviction-hard: "memory.available<100Mi"/.test(error.message));
  });

  it('keeps containers\' logs as kubelet does by default (10Mi, 5 files) and refuses a size that is not one, naming the flag', () => {
    assert.deepEqual(parseAgentConfig([], MACHINE).logLimits, { maxSizeBytes: 10 * 2 ** 20, maxFiles: 5 });
    assert.throws(() => parseAgentConfig(['--container-log-max-size', 'big'], MACHINE),
      (error: Error) => error instanceof ConfigError && /--container-log-max-size: expected bytes/.test(error.message));
    assert.throws(() => parseAgentConfig(['--container-log-max-files', '0'], MACHINE),
      (error: Error) => error instanceof ConfigError && /--container-log-max-files: expected a positive integer/.test(error.message));
  });

  it('collects images at the kubelet\'s thresholds by default, and refuses thresholds that do not go together', () => {
    assert.deepEqual(parseAgentConfig(['--name', 'n1'], MACHINE).imageGc, { high: { percent: 85 }, low: { percent: 80 }, minAgeMs: 120_000 });
    assert.throws(() => parseAgentConfig(['--image-gc-high-threshold', '90'], MACHINE), /--image-gc-high-threshold and --image-gc-low-threshold go together/);
    assert.throws(() => parseAgentConfig(['--image-gc-high-threshold', '70', '--image-gc-low-threshold', '80'], MACHINE), /low threshold \(80\) is above the high one \(70\)/);
  });

  it('reads the balancer\'s request deadline as a duration and refuses anything else, naming the flag', () => {
    assert.equal(parseAgentConfig(['--lb-request-deadline', '500ms'], MACHINE).proxy.requestDeadlineMs, 500);
    assert.equal(parseAgentConfig(['--lb-request-deadline', '1m'], MACHINE).proxy.requestDeadlineMs, 60_000);
    assert.equal(parseAgentConfig(['--lb-request-deadline', '0'], MACHINE).proxy.requestDeadlineMs, 0);
    assert.equal(parseAgentConfig([], MACHINE).proxy.requestDeadlineMs, DEFAULT_PROXY_OPTIONS.requestDeadlineMs);
    assert.throws(() => parseAgentConfig(['--lb-request-deadline', '15'], MACHINE),
      (error: Error) => error instanceof ConfigError && /--lb-request-deadline: expected a duration such as 15s/.test(error.message));
    assert.throws(() => parseAgentConfig(['--lb-queue-length', '-1'], MACHINE),
      (error: Error) => error instanceof ConfigError && /--lb-queue-length: expected 0 or a positive integer/.test(error.message));
  });

  it('refuses a DNS upstream that is not an address, naming the flag and the entry', () => {
    assert.throws(() => parseAgentConfig(['--dns-upstream', '127.0.0.1,dns.example:53'], MACHINE),
      (error: Error) => error instanceof ConfigError && /--dns-upstream: "dns.example:53" is not IP/.test(error.message));
  });

  it('defaults to the whole machine and the documented paths and ports', () => {
    const config = parseAgentConfig(['--name', 'n1'], MACHINE);
    assert.deepEqual(config.capacity, MACHINE);
    assert.equal(config.stateDir, '/var/lib/tide/nodes/n1');
    assert.equal(config.imageDir, '/var/lib/tide/images');
    assert.equal(config.port, 7080);
    assert.equal(config.controlPlane, '127.0.0.1:7071');
    assert.equal(config.warmPool, 2);
    assert.equal(config.warmPoolMax, 16, 'a burst keeps up to 16 inits booted');
    assert.deepEqual(config.tls, { certificate: '/var/lib/tide/nodes/n1/pki/serving.crt', key: '/var/lib/tide/nodes/n1/pki/serving.key', clientCa: '/var/lib/tide/nodes/n1/pki/ca.crt' });
    assert.equal(config.apiServer, '127.0.0.1:7070', 'one port below the gRPC one');
    assert.equal(config.metricsInsecureListen, undefined, 'no plain HTTP unless asked');
  });

  it('takes several control planes to fail over between', () => {
    const config = parseAgentConfig(['--name', 'n1', '--control-plane', '10.0.0.1:7071,10.0.0.2:7071'], MACHINE);
    assert.equal(config.controlPlane, '10.0.0.1:7071,10.0.0.2:7071');
  });

  it('accepts 1500m and 2Gi', () => {
    const config = parseAgentConfig(['--name', 'n1', '--cpu', '1500m', '--memory', '2Gi'], MACHINE);
    assert.deepEqual(config.capacity, { cpuMillis: 1500, memoryBytes: 2 * 2 ** 30 });
  });

  const errors: [string[], RegExp][] = [
    [['--bogus', '1'], /unknown flag --bogus/],
    [['--port'], /--port needs a value/],
    [['--port', 'x'], /--port: expected a positive integer, got "x"/],
    [['--cpu', '-5'], /--cpu: expected a positive integer/],
    [['--memory', 'lots'], /--memory: expected bytes/],
    [['--labels', 'novalue'], /--labels: expected k=v/],
    [['--control-plane', 'nohost'], /--control-plane: expected HOST:PORT/],
    [['--warm-pool', '-1'], /--warm-pool: expected 0 or a positive integer, got "-1"/],
    [['--control-plane', '127.0.0.1:1,'], /--control-plane: expected HOST:PORT\[,HOST:PORT...\], got ""/],
    [['stray'], /unexpected argument "stray"/],
    [['--api-server', 'http://127.0.0.1:7070'], /--api-server: the API is HTTPS only/],
    [['--api-server', 'cp'], /--api-server: expected HOST:PORT, got "cp"/],
    [['--metrics-insecure-listen', '9100'], /--metrics-insecure-listen: expected HOST:PORT, got "9100"/],
    [['--join', 'tide_0123456789ab_' + 'A'.repeat(43)], /--join needs --ca-hash sha256:…/],
    [['--join', 'secret', '--ca-hash', 'sha256:' + 'a'.repeat(64)], /--join: expected a join token tide_<id>_<secret>/],
    [['--join', 'tide_0123456789ab_' + 'A'.repeat(43), '--ca-hash', 'md5:abc'], /--ca-hash: expected "sha256:" followed by 64 hex digits, got "md5:abc"/],
    [['--ca-hash', 'sha256:' + 'a'.repeat(64)], /--ca-hash goes with a join token \(--join-token-file FILE, \$TIDE_JOIN_TOKEN or --join TOKEN\)/],
  ];
  for (const [argv, message] of errors) it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseAgentConfig(argv, MACHINE, NO_INPUTS), message));
});

describe('join flags', () => {
  const token = 'tide_0123456789ab_' + 'A'.repeat(43);
  const hash = 'sha256:' + 'AB'.repeat(32);
  it('joins through the API one port below the first control plane\'s gRPC port, unless told', () => {
    assert.deepEqual(parseAgentConfig(['--join', token, '--ca-hash', hash, '--control-plane', '198.18.0.5:7071,198.18.0.6:7071'], MACHINE, NO_INPUTS).join,
      { token, caHash: hash.toLowerCase(), apiServer: '198.18.0.5:7070', source: 'flag' });
    assert.equal(parseAgentConfig(['--join', token, '--ca-hash', hash, '--api-server', 'cp.example:443'], MACHINE).join?.apiServer, 'cp.example:443');
    assert.equal(parseAgentConfig([], MACHINE, NO_INPUTS).join, undefined);
  });

  it('takes the token from --join-token-file (a file, or - for stdin) or $TIDE_JOIN_TOKEN, trimmed, so that it stays out of the process list', () => {
    const files = new Map([['/etc/tide/join-token', `${token}\n`], ['-', `${token}\n`]]);
    const inputs = (env: Record<string, string> = {}) => ({ env, readFile: (file: string) => {
      const text = files.get(file);
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return text;
    } });
    for (const file of ['/etc/tide/join-token', '-']) {
      assert.deepEqual(parseAgentConfig(['--join-token-file', file, '--ca-hash', hash], MACHINE, inputs()).join,
        { token, caHash: hash.toLowerCase(), apiServer: '127.0.0.1:7070', source: 'file' });
    }
    assert.deepEqual(parseAgentConfig(['--ca-hash', hash], MACHINE, inputs({ TIDE_JOIN_TOKEN: token })).join?.source, 'env');
    // How the node's reaper hands a join to its agent: token and pin in the environment, neither on the command line.
    assert.deepEqual(parseAgentConfig([], MACHINE, inputs({ TIDE_JOIN_TOKEN: token, TIDE_JOIN_CA_HASH: hash })).join?.caHash, hash.toLowerCase());
    assert.equal(parseAgentConfig([], MACHINE, inputs({ TIDE_JOIN_CA_HASH: hash })).join, undefined);
    assert.throws(() => parseAgentConfig(['--join-token-file', '/nope', '--ca-hash', hash], MACHINE, inputs()), /--join-token-file: cannot read \/nope \(ENOENT\)/);
    assert.throws(() => parseAgentConfig(['--join-token-file', '-', '--ca-hash', hash], MACHINE, inputs({ TIDE_JOIN_TOKEN: token })),
      /the join token comes from one place: got --join-token-file and \$TIDE_JOIN_TOKEN/);
    files.set('/etc/tide/bad', 'secret\n');
    assert.throws(() => parseAgentConfig(['--join-token-file', '/etc/tide/bad', '--ca-hash', hash], MACHINE, inputs()), /--join-token-file: expected a join token tide_<id>_<secret>/);
    assert.throws(() => parseAgentConfig([], MACHINE, inputs({ TIDE_JOIN_TOKEN: token })), /\$TIDE_JOIN_TOKEN needs --ca-hash sha256:…/);
  });
});

describe('allocatable', () => {
  const table: [string, { cpuMillis: number; memoryBytes: number }, { cpuMillis: number; memoryBytes: number }][] = [
    // 8000 - 100; 16Gi - 128Mi
    ['a big node keeps 100m and 128Mi', MACHINE, { cpuMillis: 7900, memoryBytes: 16 * 2 ** 30 - 128 * 2 ** 20 }],
    // min(100, 500/10 = 50); min(128Mi, 512Mi/10 = 53687091)
    ['a small node keeps a tenth', { cpuMillis: 500, memoryBytes: 512 * 2 ** 20 }, { cpuMillis: 450, memoryBytes: 512 * 2 ** 20 - 53687091 }],
  ];
  for (const [title, capacity, expected] of table) it(title, () => assert.deepEqual(allocatableOf(capacity), expected));
});
