import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Node, Replica, Service } from '@tide/api';
import { pullsNeeded } from './image.puller';

const node = (name: string, images: string[], ready = true, spec: object = {}) => ({ metadata: { name }, spec: { address: '127.0.1.1', ...spec }, status: { ready, images } }) as unknown as Node;
const service = (name: string, image: string, replicas = 2) => ({ metadata: { name, namespace: 'shop' }, spec: { replicas, image } }) as unknown as Service;
const replica = (name: string, nodeName: string | undefined, image: string, deleting = false) => ({
  metadata: { name, namespace: 'default', ...(deleting ? { deletionTimestamp: 'now' } : {}) }, spec: { nodeName, template: { image } },
}) as unknown as Replica;

describe('pullsNeeded', () => {
  it('asks for one pull per node and image the node lacks, naming every replica that waits for it', () => {
    const nodes = [node('n1', ['busybox:latest', 'shop/web:1']), node('n2', ['busybox:latest']), node('n3', [], false)];
    const needs = pullsNeeded([
      replica('a', 'n1', 'shop/web:1'), // n1 has it
      replica('b', 'n2', 'shop/web:1'), replica('c', 'n2', 'shop/web:1'), // one pull for both
      replica('d', 'n2', 'busybox'), // busybox = busybox:latest, there
      replica('e', 'n3', 'shop/web:1'), // node not Ready: nobody to ask
      replica('f', undefined, 'shop/web:1'), // not bound yet
      replica('g', 'n2', 'shop/api:2', true), // being deleted
      replica('h', 'n2', 'shop/api:2'),
    ], nodes);
    assert.deepEqual(needs.map((n) => `${n.node.metadata.name} ${n.image} ${n.waiting.map((r) => r.name).join(',')}`), ['n2 shop/web:1 b,c', 'n2 shop/api:2 h']);
  });

  it('pre-pulls a service\'s image to every node open to new replicas, with the replicas waiting there', () => {
    const nodes = [node('n1', ['shop/web:1']), node('n2', []), node('n3', [], true, { cordoned: true }), node('n4', [], true, { drain: { reason: 'Drain' } }), node('n5', [], false)];
    const needs = pullsNeeded([replica('b', 'n2', 'shop/web:1')], nodes, [service('web', 'shop/web:1'), service('idle', 'shop/idle:1', 0)]);
    assert.deepEqual(needs.map((n) => `${n.node.metadata.name} ${n.image} ${n.waiting.map((w) => `${w.kind}/${w.name}`).join(',')}`), ['n2 shop/web:1 Replica/b,Service/web']);
  });
});
