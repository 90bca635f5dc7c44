/**
 * Issue 14 acceptance, node identity, on a `tsctl up` cluster whose agents joined with a join token:
 * a forged agent holding node-1's real certificate cannot watch node-2's assignments, report node-2's
 * replicas (status or gone), take node-2's address or put a replica in node-2's pod CIDR; no client
 * certificate, or one from another CA, is refused; a join with an expired token or a wrong --ca-hash
 * fails with a clear error; a node joined from the printed command (as on a second machine) is
 * Ready, and once `tsctl node delete` revoked it, its certificate is refused.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Replica } from '@tide/api';
import { JoinedAgent, printedJoin } from './agent.process';
import { REPO, TestCluster, waitFor } from './harness';
import { NodeCredentials, nodeCsr, postJoin } from './node.credentials';

const BASE = 20570;
const POD_CIDR = '100.64.88.0/22';
const NODE_AGENT = path.join(REPO, 'apps/node-agent/dist/main.js');

type Callback<T> = (error: grpc.ServiceError | null, value?: T) => void;
interface AgentClient extends grpc.Client {
  Register(request: object, done: Callback<object>): void;
  Heartbeat(request: object, done: Callback<{ known: boolean }>): void;
  ReportStatus(request: object, done: Callback<object>): void;
  WatchAssignments(request: object): grpc.ClientReadableStream<object>;
}
type AgentConstructor = new (address: string, credentials: grpc.ChannelCredentials) => AgentClient;

function agentService(): AgentConstructor {
  const definition = protoLoader.loadSync(path.join(REPO, 'proto/tide/v1/agent.proto'), {
    keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [path.join(REPO, 'proto')],
  });
  return (grpc.loadPackageDefinition(definition) as unknown as { tide: { v1: { AgentService: AgentConstructor } } }).tide.v1.AgentService;
}

/** A gRPC client of the agents' endpoint with the given credentials (no certificate when none). */
function forgedAgent(ca: string, pair?: { certificate: string; key: string }): AgentClient {
  const channel = grpc.credentials.createSsl(Buffer.from(ca), pair ? Buffer.from(pair.key) : null, pair ? Buffer.from(pair.certificate) : null);
  return new (agentService())(`127.0.0.1:${BASE + 1}`, channel);
}

function unary<T>(invoke: (done: Callback<T>) => void): Promise<{ error?: grpc.ServiceError; value?: T }> {
  return new Promise((resolve) => invoke((error, value) => resolve(error ? { error } : { value })));
}

/** How the server ends a stream the client may not have (its first error). */
function streamError(stream: grpc.ClientReadableStream<object>): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.on('error', (error: grpc.ServiceError) => resolve(error));
    stream.on('end', () => resolve(undefined));
  });
}

/** node-1's own credentials, as its agent keeps them after its join. */
function credentialsOf(cluster: TestCluster, node: string): NodeCredentials {
  const dir = path.join(cluster.stateDir, 'nodes', node, 'pki');
  const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
  return { ca: read('ca.crt'), certificate: read('node.crt'), key: read('node.key') };
}

function runAgentOnce(args: string[]): { code: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [NODE_AGENT, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stderr: result.stderr };
}

const spread = `apiVersion: tide/v1
kind: Service
metadata: { name: spread, namespace: default }
spec:
  replicas: 2
  image: busybox
  command: ["sleep", "3600"]
  placement: { maxSkew: 1 }
  resources: { requests: { cpu: 10m, memory: 8Mi } }
`;

describe('node identity', { timeout: 420_000 }, () => {
  let cluster: TestCluster;
  let node1: NodeCredentials;
  let forged: AgentClient;
  let onNode1: Replica;
  let onNode2: Replica;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
    node1 = credentialsOf(cluster, 'node-1');
    forged = forgedAgent(node1.ca, node1);
    const applied = await cluster.apply(spread);
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor('a spread replica on each node', async () => {
      const replicas = (await cluster.replicas()).filter((r) => r.spec.service === 'spread');
      onNode1 = replicas.find((r) => r.spec.nodeName === 'node-1')!;
      onNode2 = replicas.find((r) => r.spec.nodeName === 'node-2')!;
      return Boolean(onNode1 && onNode2);
    }, 120_000);
  });
  after(async () => {
    forged?.close();
    await cluster?.stop();
  });

  it('joined its agents: a key 0600 and a certificate for system:node:<name> in each node\'s state dir', () => {
    for (const node of ['node-1', 'node-2']) {
      const dir = path.join(cluster.stateDir, 'nodes', node, 'pki');
      assert.equal(fs.statSync(path.join(dir, 'node.key')).mode & 0o777, 0o600, node);
      const subject = spawnSync('openssl', ['x509', '-noout', '-subject', '-in', path.join(dir, 'node.crt')], { encoding: 'utf8' }).stdout;
      assert.match(subject, new RegExp(`CN ?= ?system:node:${node}`));
      assert.match(subject, /O ?= ?system:nodes/);
    }
  });

  it('started its agents without the join token or pin in their command lines (tsctl up hands them over in the environment)', () => {
    const record = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, 'cluster.json'), 'utf8')) as { nodes: Array<{ pid: number }> };
    for (const { pid } of record.nodes) {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      // The node's reaper read the token and its pin and handed both over in the environment: an agent
      // restarted with this command line starts on the certificate it keeps.
      assert.doesNotMatch(cmdline, /tide_[0-9a-f]{12}_|--join|--ca-hash/, `no join flags in ${cmdline}`);
      assert.ok(fs.existsSync(path.join(cluster.stateDir, 'nodes', cmdline.match(/--name (\S+)/)![1], 'pki', 'node.crt')), 'it joined');
    }
  });

  it('refuses a forged agent with node-1\'s certificate speaking for node-2', async () => {
    const watch = await streamError(forged.WatchAssignments({ nodeName: 'node-2' }));
    assert.equal(watch?.code, grpc.status.PERMISSION_DENIED);
    assert.match(watch!.details, /node node-1 may not act as node node-2/);

    const asNode2 = await unary((done) => forged.ReportStatus({ nodeName: 'node-2', replicas: [], gone: [] }, done));
    assert.equal(asNode2.error?.code, grpc.status.PERMISSION_DENIED);

    const key = (r: Replica) => `${r.metadata.namespace}/${r.metadata.name}`;
    const status = (r: Replica, ip = '') => ({ namespace: r.metadata.namespace, name: r.metadata.name, phase: 'Failed', ready: false, ip });
    const theirs = await unary((done) => forged.ReportStatus({ nodeName: 'node-1', replicas: [status(onNode2)], gone: [] }, done));
    assert.equal(theirs.error?.code, grpc.status.PERMISSION_DENIED);
    assert.match(theirs.error!.details, new RegExp(`may not report replica ${key(onNode2)}: it is bound to node-2`));
    const gone = await unary((done) => forged.ReportStatus({ nodeName: 'node-1', replicas: [], gone: [key(onNode2)] }, done));
    assert.equal(gone.error?.code, grpc.status.PERMISSION_DENIED);

    const node2 = (await cluster.nodeList()).find((n) => n.metadata.name === 'node-2')!;
    const stolenAddress = await unary((done) => forged.Register({
      nodeName: 'node-1', address: node2.spec.address, agentPort: BASE + 11, capacity: { cpuMillis: 100, memoryBytes: 2 ** 28 }, allocatable: { cpuMillis: 100, memoryBytes: 2 ** 28 },
    }, done));
    assert.equal(stolenAddress.error?.code, grpc.status.PERMISSION_DENIED);
    assert.match(stolenAddress.error!.details, new RegExp(`may not take the address ${node2.spec.address.replace(/\./g, '\\.')}: node node-2 has it`));

    const inTheirCidr = node2.spec.podCIDR!.replace(/0\/24$/, '77');
    const stolenCidr = await unary((done) => forged.ReportStatus({ nodeName: 'node-1', replicas: [{ ...status(onNode1, inTheirCidr), phase: 'Running', ready: true }], gone: [] }, done));
    assert.equal(stolenCidr.error?.code, grpc.status.PERMISSION_DENIED);
    assert.match(stolenCidr.error!.details, /may not report the replica address/);

    // Nothing it tried landed: node-2's replica is still there, bound to node-2 and not failed.
    const still = (await cluster.replicas()).find((r) => r.metadata.name === onNode2.metadata.name);
    assert.equal(still?.spec.nodeName, 'node-2');
    assert.notEqual(still?.status?.phase, 'Failed');
    // And as itself it is served.
    const own = await unary<{ known: boolean }>((done) => forged.Heartbeat({ nodeName: 'node-1' }, done));
    assert.equal(own.error, undefined);
  });

  it('refuses every gRPC method without a client certificate, and a call with a certificate of another CA', async () => {
    const bare = forgedAgent(node1.ca);
    // Every method of the service as proto/ defines it, so that a method added later is covered too.
    const methods = Object.entries((agentService() as unknown as { service: Record<string, { responseStream: boolean }> }).service);
    assert.ok(methods.some(([name]) => name === 'RenewServingCertificate'), `the service's methods: ${methods.map(([name]) => name).join(', ')}`);
    const call = bare as unknown as Record<string, (request: object, done?: Callback<object>) => grpc.ClientReadableStream<object>>;
    for (const [name, method] of methods) {
      const error = method.responseStream
        ? await streamError(call[name].call(bare, { nodeName: 'node-1' }))
        : (await unary((done) => call[name].call(bare, { nodeName: 'node-1' }, done))).error;
      assert.ok(error, `${name} refused`);
      assert.ok([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED].includes(error.code), `${name}: code ${error.code}: ${error.details}`);
    }
    bare.close();

    const dir = fs.mkdtempSync(path.join(cluster.stateDir, 'other-ca-'));
    spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=system:node:node-1/O=system:nodes',
      '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c')]);
    const selfSigned = forgedAgent(node1.ca, { certificate: fs.readFileSync(path.join(dir, 'c'), 'utf8'), key: fs.readFileSync(path.join(dir, 'k'), 'utf8') });
    const other = await unary((done) => selfSigned.Heartbeat({ nodeName: 'node-1' }, done));
    selfSigned.close();
    assert.ok(other.error, 'a certificate the cluster CA did not sign is refused');
  });

  it('refuses a join with an expired token or a wrong --ca-hash, with a clear error', async () => {
    const made = await cluster.tsctl(['token', 'create', '--join', '--ttl', '1s']);
    assert.equal(made.code, 0, made.stderr);
    const command = made.stdout.trim().split('\n').pop()!;
    const token = /echo (tide_\S+) \|/.exec(command)![1];
    const hash = /--ca-hash (\S+)/.exec(command)![1];
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { csr } = nodeCsr('node-9');
    const expired = await postJoin(cluster.server, cluster.caPem, token, 'node-9', csr);
    assert.equal(expired.status, 401);
    assert.match(expired.body.error ?? '', /expired at/);
    const stateDir = path.join(cluster.stateDir, 'nodes', 'node-9');
    const agentExpired = runAgentOnce(['--name', 'node-9', '--control-plane', `127.0.0.1:${BASE + 1}`, '--state-dir', stateDir, '--join', token, '--ca-hash', hash]);
    assert.notEqual(agentExpired.code, 0);
    assert.match(agentExpired.stderr, /refused the join \(401\): token [0-9a-f]{12} expired at/);

    const fresh = await cluster.tsctl(['token', 'create', '--join']);
    const freshToken = /echo (tide_\S+) \|/.exec(fresh.stdout)![1];
    const wrongHash = `sha256:${'0'.repeat(64)}`;
    const agentWrong = runAgentOnce(['--name', 'node-9', '--control-plane', `127.0.0.1:${BASE + 1}`, '--state-dir', stateDir, '--join', freshToken, '--ca-hash', wrongHash]);
    assert.notEqual(agentWrong.code, 0);
    assert.match(agentWrong.stderr, /refusing to join .*not the pinned sha256:0{64}/);
    assert.equal(fs.existsSync(path.join(stateDir, 'pki', 'node.key')), false, 'nothing was kept');
  });

  it('joins a node from the printed command, and refuses its certificate once it is deleted', async () => {
    const made = await cluster.tsctl(['token', 'create', '--join', '--ttl', '10m', '--node', 'node-3']);
    assert.equal(made.code, 0, made.stderr);
    const lines = made.stdout.trim().split('\n');
    const command = lines[lines.length - 1];
    const printed = /^echo (tide_[0-9a-f]{12}_\S{43}) \| (node-agent --join-token-file - --control-plane 127\.0\.0\.1:20571 --ca-hash sha256:[0-9a-f]{64})$/.exec(command);
    assert.ok(printed, `the printed join command pipes the token to the agent's stdin: ${command}`);
    const [, token] = printed;
    // As the printed pipeline runs it: the token on the agent's stdin, which then ends.
    const joined = new JoinedAgent({
      join: printedJoin(made.stdout), stateDir: path.join(cluster.stateDir, 'nodes', 'node-3'), imageDir: path.join(cluster.stateDir, 'images'), log: path.join(cluster.stateDir, 'node-3.log'),
      flags: ['--name', 'node-3', '--address', '127.0.1.3', '--port', String(BASE + 13), '--cpu', '200', '--memory', String(2 ** 28)],
    });
    const agent = joined.child;
    try {
      await waitFor('node-3 Ready', async () => (await cluster.nodeList()).some((n) => n.metadata.name === 'node-3' && n.status?.ready), 120_000);
      // The secret is everything after the second underscore: base64url, so it may hold '_' and '-' itself.
      const secret = token.slice('tide_'.length + 13);
      assert.equal(secret.length, 43);
      assert.ok(!fs.readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8').includes(secret), 'the running agent\'s command line holds no token');
      assert.ok(!fs.readFileSync(`/proc/${agent.pid}/environ`, 'utf8').includes(secret), 'the running agent\'s environment holds no token');
      const node3 = credentialsOf(cluster, 'node-3');
      const client = forgedAgent(node3.ca, node3);
      const before = await unary((done) => client.Heartbeat({ nodeName: 'node-3' }, done));
      assert.equal(before.error, undefined);
      const watching = streamError(client.WatchAssignments({ nodeName: 'node-3' }));
      const deleted = await cluster.tsctl(['node', 'delete', 'node-3']);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.match(deleted.stdout, /node\/node-3 deleted: its certificate is revoked/);
      const afterDelete = await unary((done) => client.Heartbeat({ nodeName: 'node-3' }, done));
      assert.equal(afterDelete.error?.code, grpc.status.UNAUTHENTICATED);
      assert.match(afterDelete.error!.details, /revoked/);
      const ended = await watching;
      assert.equal(ended?.code, grpc.status.UNAUTHENTICATED, 'its open stream was ended');
      client.close();
      await waitFor('the agent of node-3 told it is revoked', async () => fs.readFileSync(path.join(cluster.stateDir, 'node-3.log'), 'utf8').includes('revoked'), 60_000);
    } finally {
      await joined.stop();
    }
  });
});
