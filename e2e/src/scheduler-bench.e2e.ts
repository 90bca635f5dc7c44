/**
 * The scheduler benchmark in its reduced size, as CI runs it: it must finish, print one JSON object
 * as its last line with the contract's keys, and its figures must be possible (no strategy below the
 * lower bound, every replica of a roomy cluster placed). Runs only the library: no cluster is started.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BENCH = path.join(__dirname, 'bench', 'scheduler.bench.js');

function runBench(args: string[]): Record<string, any> {
  const result = spawnSync(process.execPath, [BENCH, '--json', ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

function assertStrategies(report: Record<string, any>): void {
  assert.equal(typeof report.lower_bound, 'number');
  for (const name of ['tide', 'spread', 'ffd']) {
    const s = report[name];
    for (const key of ['placements_per_sec', 'p99_cycle_ms', 'nodes_used']) assert.equal(typeof s[key], 'number', `${name}.${key}`);
    assert.ok(s.placements_per_sec > 0, `${name} placed something`);
    assert.ok(s.nodes_used >= report.lower_bound, `${name} cannot use fewer nodes than the lower bound`);
  }
}

describe('scheduler benchmark', () => {
  it('runs the synthetic workload and prints the contract keys', () => {
    const report = runBench(['--nodes', '200', '--replicas', '4000']);
    assertStrategies(report);
    assert.equal(report.replicas, 4000);
    assert.equal(report.tide.unschedulable, 0, 'the cluster has room for every replica');
    assert.ok(report.heterogeneous.tide.nodes_used > 0);
  });

  it('replays a trace on homogeneous nodes of the given shape', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-trace-'));
    try {
      const file = path.join(dir, 'pods.csv');
      // 30 pods of 3 cores and 1 GiB on 8-core nodes: 90 cores / 8 = 11.25 → a lower bound of 12 nodes.
      fs.writeFileSync(file, `cpu_millicores,memory_bytes\n${'3000,1073741824\n'.repeat(30)}`);
      const report = runBench(['--trace', file, '--node-cpu', '8000', '--node-memory', String(64 * 2 ** 30)]);
      assertStrategies(report);
      assert.equal(report.lower_bound, 12);
      // Two 3-core pods per 8-core node at best: 15 nodes, whoever packs.
      assert.equal(report.tide.nodes_used, 15);
      assert.equal(report.ffd.nodes_used, 15);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a bad option', () => {
    const result = spawnSync(process.execPath, [BENCH, '--nodes', 'many'], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--nodes wants a positive number, got "many"/);
  });
});
