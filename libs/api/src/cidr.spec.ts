import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  addressAt, cidrContains, cidrSize, cidrsOverlap, formatCidr, formatIPv4, parseCidr, parseIPv4, subnetAt, subnetCount,
} from './cidr';

describe('IPv4 addresses', () => {
  it('round-trips through numbers, the top bit included', () => {
    for (const text of ['0.0.0.0', '100.64.3.1', '255.255.255.255', '192.0.2.200']) assert.equal(formatIPv4(parseIPv4(text)), text);
    assert.equal(parseIPv4('255.255.255.255'), 2 ** 32 - 1); // unsigned, not -1
  });
  for (const bad of ['1.2.3', '1.2.3.256', 'a.b.c.d', '1.2.3.4.5', '']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseIPv4(bad), /not an IPv4 address/));
  }
});

describe('CIDR blocks', () => {
  it('parses and formats', () => {
    assert.equal(formatCidr(parseCidr('100.64.0.0/16')), '100.64.0.0/16');
    assert.equal(cidrSize(parseCidr('100.64.3.0/24')), 256);
  });
  it('refuses host bits and says which block was probably meant', () => {
    assert.throws(() => parseCidr('100.64.3.7/16'), /did you mean 100\.64\.0\.0\/16/);
  });
  for (const bad of ['100.64.0.0', '100.64.0.0/33', '100.64.0.0/x', 'foo/8']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseCidr(bad)));
  }
  it('tells what a block contains', () => {
    const block = parseCidr('100.64.3.0/24');
    assert.equal(cidrContains(block, parseIPv4('100.64.3.255')), true);
    assert.equal(cidrContains(block, parseIPv4('100.64.4.0')), false);
    assert.equal(cidrContains(parseCidr('0.0.0.0/0'), parseIPv4('8.8.8.8')), true);
  });
  it('splits a /16 into 256 /24s', () => {
    const cluster = parseCidr('100.64.0.0/16');
    assert.equal(subnetCount(cluster, 24), 256); // 2^(24-16)
    assert.equal(formatCidr(subnetAt(cluster, 24, 0)), '100.64.0.0/24');
    assert.equal(formatCidr(subnetAt(cluster, 24, 255)), '100.64.255.0/24');
    assert.throws(() => subnetAt(cluster, 24, 256), /no \/24 number 256/);
    assert.equal(subnetCount(parseCidr('100.64.0.0/25'), 24), 0, 'a /25 holds no /24');
  });
  it('addresses inside a block', () => {
    assert.equal(formatIPv4(addressAt(parseCidr('100.64.3.0/24'), 1)), '100.64.3.1');
    assert.throws(() => addressAt(parseCidr('100.64.3.0/24'), 256));
  });
  it('detects overlaps either way round', () => {
    assert.equal(cidrsOverlap(parseCidr('100.64.0.0/16'), parseCidr('100.64.9.0/24')), true);
    assert.equal(cidrsOverlap(parseCidr('100.64.9.0/24'), parseCidr('100.64.0.0/16')), true);
    assert.equal(cidrsOverlap(parseCidr('100.64.0.0/16'), parseCidr('100.65.0.0/24')), false);
  });
});
