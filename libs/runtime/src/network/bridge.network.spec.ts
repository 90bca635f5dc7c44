/**
 * Bridge networking against the real kernel: a bridge of the test's own, containers in network
 * namespaces of their own, traffic between them and from the host. Needs root. The after hook
 * removes containers, the bridge and its iptables rules also when a test fails.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { bridgeMacFor, cidrContains, parseCidr, parseIPv4 } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import { ensureBusyboxImage } from '../image/busybox.image';
import { LinuxRuntime } from '../linux.runtime';
import { ContainerSpec, RuntimeError } from '../runtime.types';
import { BridgeSettings, bridgeSettings, hostVethNameFor, ruleTag } from './bridge.settings';
import { logMatching } from '../testing/runtime.fixture';
import { run } from './network.command';
import { setUpNodeNetwork, tearDownNodeNetwork } from './node.network';

const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
/** A slice of the container network no e2e file uses (unit specs have 100.64.252.0/22: e2e/README.md). */
const SLICE = `100.64.${252 + Math.floor(Math.random() * 4)}.0/24`;

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`${url}: timed out`)));
    request.on('error', reject);
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

describe('bridge networking', { timeout: 600_000 }, () => {
  let dir: string;
  let stateDir: string;
  let settings: BridgeSettings;
  let runtime: LinuxRuntime;
  const started = new Set<string>();

  const spec = (id: string, script: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    id: `net-${RUN}-${id}`, hostname: `host-${id}`, image: 'busybox', argv: ['sh', '-c', script], env: {},
    limits: { memoryBytes: 64 * 2 ** 20 }, labels: {}, network: 'bridge', ...extra,
  });

  async function start(s: ContainerSpec, on = runtime) {
    started.add(s.id);
    return on.start(s);
  }

  const logOf = (id: string, until: RegExp) => logMatching(path.join(stateDir, 'containers', id, 'log'), until);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-net-'));
    stateDir = path.join(dir, 'state');
    settings = bridgeSettings(`tidet${RUN.replace(/\W/g, '').slice(-9)}`, SLICE, '100.64.0.0/16');
    await ensureBusyboxImage(path.join(dir, 'images'));
    await setUpNodeNetwork(settings);
    runtime = new LinuxRuntime({ stateDir, imageDir: path.join(dir, 'images'), bridge: () => settings });
  });

  after(async () => {
    for (const id of started) await runtime.remove(id).catch(() => undefined);
    await runtime.close(); // the warm pool's inits and their cgroups
    await tearDownNodeNetwork(settings.bridge);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sets up the bridge with the slice\'s first address and tagged NAT and forward rules', async () => {
    const address = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', settings.bridge]);
    assert.match(address, new RegExp(`inet ${settings.gateway.replace(/\./g, '\\.')}/24`));
    assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '1');
    const nat = await run('iptables', ['-t', 'nat', '-S', 'POSTROUTING']);
    assert.match(nat, new RegExp(`-s ${SLICE.replace(/\./g, '\\.')} ! -d 100\\.64\\.0\\.0/16 .*${ruleTag(settings.bridge)}.* -j MASQUERADE`));
    await setUpNodeNetwork(settings); // again, as on every registration: nothing doubles
    const rules = (await run('iptables-save', [])).split('\n').filter((line) => line.includes(ruleTag(settings.bridge)));
    assert.equal(rules.length, 3, rules.join('\n'));
  });

  it('gives two containers addresses of the slice by which they reach each other, and /etc/hosts names them', async () => {
    const server = await start(spec('srv', 'mkdir /www; echo hello-from-srv > /www/index.html; httpd -f -p 8080 -h /www'));
    assert.ok(server.ip && cidrContains(parseCidr(SLICE), parseIPv4(server.ip)), `an address of ${SLICE}: ${server.ip}`);
    assert.notEqual(server.ip, settings.gateway);
    const client = await start(spec('cli', `cat /etc/hosts; ip -4 -o addr show eth0; ip route;
      for i in $(seq 300); do wget -q -O - http://${server.ip}:8080/ && break; sleep 0.1; done; echo DONE`));
    assert.notEqual(client.ip, server.ip);
    const log = await logOf(client.id, /DONE/);
    assert.match(log, /^hello-from-srv$/m, log);
    assert.match(log, new RegExp(`^${client.ip!.replace(/\./g, '\\.')}\\s+host-cli$`, 'm'), '/etc/hosts names the container');
    assert.match(log, new RegExp(`eth0\\s+inet ${client.ip!.replace(/\./g, '\\.')}/24`));
    assert.match(log, new RegExp(`default via ${settings.gateway.replace(/\./g, '\\.')} dev eth0`));
  });

  it('is reachable from the host by its address', async () => {
    const server = await start(spec('host-reach', 'mkdir /www; echo reached > /www/index.html; httpd -f -p 8081 -h /www'));
    // httpd listens a moment after the start: wait for its first answer.
    const body = await waitFor(async () => (await httpGet(`http://${server.ip}:8081/`).catch(() => '')) || undefined, { what: `an answer from ${server.ip}:8081` });
    assert.equal(body.trim(), 'reached');
  });

  it('sees only lo and eth0, while a host-network container sees the node\'s interfaces and gets no address', async () => {
    const bridged = await start(spec('ifs-bridge', 'ls /sys/class/net; echo END'));
    const hosted = await start(spec('ifs-host', 'cat /proc/net/dev; echo END', { network: 'host' }));
    assert.equal(hosted.ip, undefined);
    assert.deepEqual((await logOf(bridged.id, /END/)).split('\n').filter((l) => l && l !== 'END').sort(), ['eth0', 'lo']);
    assert.match(await logOf(hosted.id, /END/), new RegExp(`${settings.bridge}:`));
  });

  it('frees the address and leaves no veth on remove', async () => {
    const s = spec('rm', 'sleep 60');
    const info = await start(s);
    const veth = hostVethNameFor(stateDir, s.id);
    assert.equal(fs.existsSync(`/sys/class/net/${veth}`), true, 'the host end is on the node');
    assert.equal(fs.readFileSync(`/sys/class/net/${veth}/master/uevent`, 'utf8').includes(`INTERFACE=${settings.bridge}`), true, 'on the bridge');
    await runtime.remove(s.id);
    assert.equal(fs.existsSync(`/sys/class/net/${veth}`), false, 'no veth left');
    assert.equal(fs.existsSync(path.join(stateDir, 'network/addresses', info.ip!)), false, 'address freed');
  });

  it('keeps the bridge\'s address when a container leaves, so that the others still reach the node', async () => {
    // A bridge takes the lowest address of its ports unless its own was set; give one container's
    // veth the lowest there is, then remove that container: the gateway address must not move.
    const mac = () => fs.readFileSync(`/sys/class/net/${settings.bridge}/address`, 'utf8').trim();
    assert.equal(mac(), bridgeMacFor(settings.bridge));
    const server = await start(spec('mac-srv', 'mkdir /www; echo still > /www/index.html; httpd -f -p 8082 -h /www'));
    const leaving = spec('mac-leaving', 'sleep 60');
    await start(leaving);
    await run('ip', ['link', 'set', hostVethNameFor(stateDir, leaving.id), 'address', '02:00:00:00:00:01']);
    assert.equal(mac(), bridgeMacFor(settings.bridge), 'a port with a lower address does not change it');
    const answer = () => waitFor(async () => (await httpGet(`http://${server.ip}:8082/`).catch(() => '')) || undefined, { what: `an answer from ${server.ip}:8082` });
    assert.equal((await answer()).trim(), 'still');
    await runtime.remove(leaving.id);
    assert.equal(mac(), bridgeMacFor(settings.bridge), 'nor does its leaving');
    assert.equal((await answer()).trim(), 'still');
  });

  it('keeps an adopted container\'s address (an agent restart) until it is removed', async () => {
    const s = spec('adopt', 'sleep 60');
    const info = await start(s);
    const restarted = new LinuxRuntime({ stateDir, imageDir: path.join(dir, 'images'), bridge: () => settings });
    const found = (await restarted.list()).find((c) => c.id === s.id);
    assert.equal(found?.ip, info.ip);
    const next = await start(spec('after-adopt', 'sleep 60'), restarted);
    assert.notEqual(next.ip, info.ip, 'the adopted container\'s address is not given again');
    await restarted.remove(s.id);
    await restarted.remove(next.id);
    await restarted.close();
    assert.equal(fs.readdirSync(path.join(stateDir, 'network/addresses')).filter((f) => f === info.ip || f === next.ip).length, 0);
  });

  it('refuses a bridge container before the node has its pod CIDR, leaving nothing behind', async () => {
    const early = new LinuxRuntime({ stateDir, imageDir: path.join(dir, 'images'), bridge: () => undefined });
    const s = spec('early', 'true');
    await assert.rejects(start(s, early), (e: unknown) => e instanceof RuntimeError && e.code === 'StartFailed' && /pod CIDR/.test(e.message));
    await early.close();
    assert.equal(fs.existsSync(path.join(stateDir, 'containers', s.id)), false);
  });

  it('starts host and bridge containers back to back, only bridge ones with an address (and measures the wiring)', async (t) => {
    const timings: Record<string, number[]> = { host: [], bridge: [] };
    for (let i = 0; i < 5; i++) {
      for (const network of ['host', 'bridge'] as const) {
        const s = spec(`time-${network}-${i}`, 'sleep 30', { network });
        const t0 = performance.now();
        const info = await start(s);
        timings[network].push(performance.now() - t0);
        assert.equal(info.ip !== undefined, network === 'bridge', `${s.id}: ${info.ip}`);
        await runtime.remove(s.id);
        started.delete(s.id);
      }
    }
    const [host, bridge] = [median(timings.host), median(timings.bridge)];
    t.diagnostic(`start p50 of 5: host ${host.toFixed(1)} ms, bridge ${bridge.toFixed(1)} ms (wiring adds ${(bridge - host).toFixed(1)} ms)`);
    const addresses = path.join(stateDir, 'network/addresses');
    const owners = fs.readdirSync(addresses).filter((f) => f.startsWith('100.')).map((f) => fs.readFileSync(path.join(addresses, f), 'utf8'));
    assert.deepEqual(owners.filter((owner) => owner.includes('-time-')), [], 'every address freed');
  });
});
