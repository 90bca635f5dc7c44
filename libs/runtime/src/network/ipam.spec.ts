import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatIPv4, parseCidr, parseIPv4 } from '@tide/api';
import { AddressAllocator, nextFreeAddress } from './ipam';

const ip = parseIPv4;

describe('nextFreeAddress', () => {
  const slice = parseCidr('100.64.3.0/24');
  const gateway = ip('100.64.3.1');
  const table: [string, number[], string | undefined, string | undefined][] = [
    // [case, taken, last handed out, expected]
    ['first address after the gateway', [], undefined, '100.64.3.2'],
    ['continues after the last one handed out', [], '100.64.3.9', '100.64.3.10'],
    ['skips addresses in use', [ip('100.64.3.10'), ip('100.64.3.11')], '100.64.3.9', '100.64.3.12'],
    ['wraps around past .254, skipping the gateway (.1)', [], '100.64.3.254', '100.64.3.2'],
    ['ignores a last address from another slice', [], '100.64.9.40', '100.64.3.2'],
  ];
  for (const [title, taken, last, expected] of table) {
    it(title, () => {
      const found = nextFreeAddress(slice, gateway, new Set(taken), last === undefined ? undefined : ip(last));
      assert.equal(found === undefined ? undefined : formatIPv4(found), expected);
    });
  }
  it('answers undefined when all 253 container addresses are taken (256 - network - broadcast - gateway)', () => {
    const taken = new Set(Array.from({ length: 254 }, (_, i) => slice.network + 1 + i).filter((a) => a !== gateway));
    assert.equal(taken.size, 253);
    assert.equal(nextFreeAddress(slice, gateway, taken), undefined);
  });
  it('never hands out the broadcast address of a small slice', () => {
    // 100.64.3.0/30: .0 network, .1 gateway, .2 the only container address, .3 broadcast
    const small = parseCidr('100.64.3.0/30');
    assert.equal(formatIPv4(nextFreeAddress(small, ip('100.64.3.1'), new Set())!), '100.64.3.2');
    assert.equal(nextFreeAddress(small, ip('100.64.3.1'), new Set([ip('100.64.3.2')])), undefined);
  });
});

describe('AddressAllocator', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-ipam-'));
    dirs.push(dir);
    return path.join(dir, 'addresses');
  };
  after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('gives distinct addresses, the same one again to the same container, and persists them', () => {
    const dir = newDir();
    const ipam = new AddressAllocator(dir);
    const a = ipam.allocate('a', '100.64.3.0/24', '100.64.3.1');
    const b = ipam.allocate('b', '100.64.3.0/24', '100.64.3.1');
    assert.notEqual(a, b);
    assert.equal(ipam.allocate('a', '100.64.3.0/24', '100.64.3.1'), a, 'idempotent per container');
    // A restarted agent (a new allocator over the same directory) sees the adopted containers' addresses.
    const restarted = new AddressAllocator(dir);
    assert.equal(restarted.addressOf('a'), a);
    assert.equal(restarted.addressOf('b'), b);
    const c = restarted.allocate('c', '100.64.3.0/24', '100.64.3.1');
    assert.ok(![a, b].includes(c));
  });

  it('frees an address on release, and does not hand it out again at once', () => {
    const ipam = new AddressAllocator(newDir());
    const a = ipam.allocate('a', '100.64.3.0/24', '100.64.3.1');
    ipam.release('a');
    ipam.release('a'); // idempotent
    assert.equal(ipam.addressOf('a'), undefined);
    const b = ipam.allocate('b', '100.64.3.0/24', '100.64.3.1');
    assert.notEqual(b, a, 'the next address, not the one just freed');
  });

  it('names the holders of addresses (what a crash-safe start checks against the containers it has)', () => {
    const ipam = new AddressAllocator(newDir());
    ipam.allocate('a', '100.64.3.0/24', '100.64.3.1');
    ipam.allocate('b', '100.64.3.0/24', '100.64.3.1');
    ipam.release('a');
    assert.deepEqual([...ipam.holders()], ['b']);
  });

  it('skips an address another process claimed after this one read the directory', () => {
    const dir = newDir();
    const ipam = new AddressAllocator(dir);
    ipam.allocate('a', '100.64.3.0/24', '100.64.3.1'); // .2, directory now loaded
    fs.writeFileSync(path.join(dir, '100.64.3.3'), 'intruder');
    assert.equal(ipam.allocate('b', '100.64.3.0/24', '100.64.3.1'), '100.64.3.4');
  });

  it('reports exhaustion with the slice and the count in use', () => {
    const ipam = new AddressAllocator(newDir());
    ipam.allocate('a', '100.64.3.0/30', '100.64.3.1');
    assert.throws(() => ipam.allocate('b', '100.64.3.0/30', '100.64.3.1'), /no free address left in 100\.64\.3\.0\/30 \(1 in use\)/);
  });
});
