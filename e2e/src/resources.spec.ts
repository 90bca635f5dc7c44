/**
 * The suite runs end-to-end files two at a time (scripts/run-tests.js --jobs): each file must have
 * ports and container addresses of its own (e2e/README.md). Read from the files' sources: the base
 * port (`BASE = N`, `BASE_PORT = N` or `basePort: N`; a cluster uses up to base + PORT_SPAN) and every
 * pod or service CIDR it names.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '../src');
/**
 * Ports a cluster uses above its base at least: API, gRPC, etcd, registry, agents (+10 + node); a file
 * that names `BASE + N` uses up to that.
 */
const MIN_PORT_SPAN = 30;
const UNIT_SPECS_CIDR = '100.64.252.0/22';

interface Claims {
  file: string;
  basePorts: number[];
  /** How many ports from each base the file uses. */
  span: number;
  cidrs: string[];
}

function claimsOf(file: string): Claims {
  const text = fs.readFileSync(path.join(SRC, file), 'utf8');
  const basePorts = [...text.matchAll(/\b(?:BASE|BASE_PORT)\s*=\s*(\d{4,5})\b|\bbasePort:\s*(\d{4,5})\b/g)].map((m) => Number(m[1] ?? m[2]));
  const cidrs = [...new Set([...text.matchAll(/'(100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d{1,3}\.\d{1,3}\/\d{1,2})'/g)].map((m) => m[1]))];
  const offsets = [...text.matchAll(/\bBASE(?:_PORT)? \+ (\d+)/g)].map((m) => Number(m[1]));
  return { file, basePorts, span: Math.max(MIN_PORT_SPAN, ...offsets.map((n) => n + 1)), cidrs };
}

function range(cidr: string): [number, number] {
  const [address, bits] = cidr.split('/');
  const start = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  return [start, start + 2 ** (32 - Number(bits)) - 1];
}

const files = fs.readdirSync(SRC).filter((f) => f.endsWith('.e2e.ts')).sort();
const claims = files.map(claimsOf);

describe('end-to-end files keep out of each other\'s way', () => {
  it('finds the files and what they claim', () => {
    assert.ok(files.length > 10, files.join(', '));
    assert.ok(claims.some((c) => c.cidrs.length > 0) && claims.some((c) => c.basePorts.length > 0));
  });

  it('gives each file a port range of its own', () => {
    const taken = claims.flatMap((c) => c.basePorts.map((port) => ({ file: c.file, from: port, to: port + c.span - 1 })));
    for (const a of taken) {
      for (const b of taken) {
        if (a.file < b.file) assert.ok(a.to < b.from || b.to < a.from, `${a.file} (ports ${a.from}-${a.to}) and ${b.file} (${b.from}-${b.to}) overlap`);
      }
    }
  });

  it('gives each file container networks of its own', () => {
    // The unit specs' bridges (libs/runtime bridge.network.spec) take theirs from 100.64.252.0/22.
    const taken = [{ file: '(unit specs)', cidr: UNIT_SPECS_CIDR, range: range(UNIT_SPECS_CIDR) },
      ...claims.flatMap((c) => c.cidrs.map((cidr) => ({ file: c.file, cidr, range: range(cidr) })))];
    for (const a of taken) {
      for (const b of taken) {
        if (a.file < b.file) assert.ok(a.range[1] < b.range[0] || b.range[1] < a.range[0], `${a.file} (${a.cidr}) and ${b.file} (${b.cidr}) overlap`);
      }
    }
  });

  it('names a pod CIDR in every file that starts a cluster (the default one is everyone\'s)', () => {
    for (const c of claims) {
      const text = fs.readFileSync(path.join(SRC, c.file), 'utf8');
      if (!/TestCluster\.start\(|new ClusterFixture|start\(\d/.test(text)) continue;
      assert.ok(c.cidrs.some((cidr) => cidr.startsWith('100.64.') || cidr.startsWith('100.65.')), `${c.file} starts a cluster without its own pod CIDR`);
    }
  });
});
