/** What a bridge container start is told before the node's network exists (the set-up itself runs in e2e/network.e2e.ts). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NetworkError } from '@tide/runtime';
import { AgentNetwork } from './agent.network';

describe('AgentNetwork before set-up', () => {
  it('tells a bridge start that the node has not registered yet', () => {
    const network = new AgentNetwork('/nonexistent', '127.0.1.1', () => undefined);
    assert.throws(() => network.current(), (e: unknown) => e instanceof NetworkError && /gets its pod CIDR when it registers/.test(e.message));
  });

  it('says so when the control plane gave no pod CIDR, and logs it once per registration', async () => {
    const lines: string[] = [];
    const network = new AgentNetwork('/nonexistent', '127.0.1.1', (line) => lines.push(line));
    await network.configure('', '');
    assert.throws(() => network.current(), /the control plane gave this node no pod CIDR/);
    assert.deepEqual(lines, ['warning: the control plane gave this node no pod CIDR (is it older than bridge networking?)']);
  });
});
