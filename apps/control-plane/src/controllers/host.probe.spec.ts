import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { HostAnswers, probeHost } from './host.probe';

describe('host probe', () => {
  it('counts an accept and a refusal as the host answering', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    assert.equal(await probeHost('127.0.0.1', port), true, 'accepted: the agent listens');
    await new Promise((resolve) => server.close(resolve));
    assert.equal(await probeHost('127.0.0.1', port), true, 'refused: the host is up, its agent is not');
  });

  it('keeps the latest answer per node, probes again when it is due, one probe at a time', async () => {
    let now = 0;
    const probes: string[] = [];
    let answer = false;
    const hosts = new HostAnswers(async (address) => {
      probes.push(address);
      return answer;
    }, 2000, () => now);
    let answered = 0;
    const onAnswer = () => answered++;
    assert.equal(hosts.of('n1', '198.18.0.3', 7443, onAnswer), undefined, 'no answer yet');
    assert.equal(hosts.of('n1', '198.18.0.3', 7443, onAnswer), undefined, 'still in flight: no second probe');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, 1, 'the loop is told to look again');
    assert.equal(hosts.of('n1', '198.18.0.3', 7443, onAnswer), false);
    assert.deepEqual(probes, ['198.18.0.3'], 'not due yet');
    now = 2000;
    answer = true;
    assert.equal(hosts.of('n1', '198.18.0.3', 7443, onAnswer), false, 'the latest answer while the next probe runs');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(hosts.of('n1', '198.18.0.3', 7443, onAnswer), true);
    assert.equal(probes.length, 2);
    hosts.forget('n1');
    assert.equal(hosts.of('n1', '198.18.0.3', undefined, onAnswer), undefined, 'forgotten; without an agent port, never probed');
    assert.equal(probes.length, 2);
  });
});
