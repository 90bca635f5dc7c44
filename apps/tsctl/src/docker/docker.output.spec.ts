/**
 * A followed output ends when the replica finishes and loses or doubles nothing, whatever part of the
 * log the follower had received by then. The Tide API is stood in for by a log that grows on demand.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Replica, Service } from '@tide/api';
import type { TideContainers } from './docker.backend';
import { Container } from './docker.model';
import { streamOutput } from './docker.output';

const SERVICE = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'c', namespace: 'default', uid: 'u' }, spec: { replicas: 1, image: 'busybox' } } as Service;

function replicaIn(phase: 'Running' | 'Succeeded'): Replica {
  return { apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'c-1', namespace: 'default' }, spec: { service: 'c', nodeName: 'n' } as Replica['spec'], status: { phase, ready: true, restartCount: 0 } };
}

/**
 * The log is `written` (all of it, once the container finished); the follower is given `delivered`
 * bytes of it, in two chunks, and then nothing more (the agent's follow would go on polling).
 */
function fakeContainers(written: string, delivered: number): { containers: TideContainers; reads: string[] } {
  const reads: string[] = [];
  let finished = false;
  const containers = {
    async waitFor(container: Container, done: (c: Container | undefined) => boolean, _t: number, _w: string, signal?: AbortSignal) {
      for (;;) {
        const now = { ...container, replica: replicaIn(finished ? 'Succeeded' : 'Running') };
        if (done(now)) return now;
        if (signal?.aborted) throw new Error('aborted');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async openLog(_replica: string, params: Record<string, string | undefined>, signal?: AbortSignal) {
      reads.push(params.follow ? 'follow' : 'read');
      if (!params.follow) return [Buffer.from(finished ? written : written.slice(0, delivered))];
      return (async function* follow() {
        yield Buffer.from(written.slice(0, Math.floor(delivered / 2)));
        yield Buffer.from(written.slice(Math.floor(delivered / 2), delivered));
        finished = true; // the container exits now, with the rest of its output not yet followed
        await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
      })();
    },
  } as unknown as TideContainers;
  return { containers, reads };
}

async function collect(containers: TideContainers, options: { tailLines?: number; waitForStart: boolean }): Promise<string> {
  const out: Buffer[] = [];
  const container: Container = { id: 'x', service: SERVICE, replica: replicaIn('Running') };
  await streamOutput(containers, container, { follow: true, ...options }, async (chunk) => void out.push(Buffer.from(chunk)), new AbortController().signal);
  return Buffer.concat(out).toString();
}

describe('following a container until it exits', () => {
  for (const delivered of [0, 3, 7, 12]) {
    it(`writes the whole log once when the follower had ${delivered} of its 12 bytes at the exit`, async () => {
      const { containers, reads } = fakeContainers('one\ntwo\nthree\n'.slice(0, 12), delivered);
      assert.equal(await collect(containers, { waitForStart: true }), 'one\ntwo\nthree\n'.slice(0, 12));
      assert.deepEqual(reads, ['read', 'follow', 'read'], 'what was there, the follow, the finished log');
    });
  }

  it('starts with the last lines asked for, then what comes after them', async () => {
    const { containers } = fakeContainers('one\ntwo\nthree\n', 8);
    // At the start the log holds "one\ntwo\n" (8 bytes): tail 1 is "two\n"; then "three\n" comes.
    assert.equal(await collect(containers, { tailLines: 1, waitForStart: false }), 'two\nthree\n');
  });
});
