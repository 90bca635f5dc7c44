/**
 * The scheduler benchmark in its reduced size, as CI runs it: it must finish, print one JSON object
 * as its last line with the contract's keys, and its figures must be possible (no strategy below the
 * lower bound, every replica of a roomy cluster placed). Runs only the library: no cluster is started.
 * The yardsticks themselves are checked in scheduler-references.e2e.ts.
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

const STRATEGIES = ['tide', 'tide_batch_100', 'tide_snapshot_per_cycle', 'spread', 'k8s_most_allocated', 'k8s_most_allocated_no_spread',
  'k8s_most_allocated_all_nodes_no_spread', 'ffd'];

function assertStrategies(report: Record<string, any>): void {
  assert.equal(typeof report.lower_bound, 'number');
  assert.match(report.lower_bound_is, /valid lower bound/);
  assert.equal(report.tide.batch, 500);
  assert.equal(report.tide_batch_100.batch, 100);
  for (const name of STRATEGIES) {
    const s = report[name];
    for (const key of ['placements_per_sec', 'p99_cycle_ms', 'nodes_used']) assert.equal(typeof s[key], 'number', `${name}.${key}`);
    assert.ok(s.placements_per_sec > 0, `${name} placed something`);
    assert.ok(s.nodes_used >= report.lower_bound, `${name} cannot use fewer nodes than the lower bound`);
  }
}

describe('scheduler benchmark', () => {
  it('runs the synthetic workload and prints the contract keys', () => {
    const report = runBench(['--nodes', '200', '--replicas', '4000', '--repeats', '3']);
    assertStrategies(report);
    assert.equal(report.replicas, 4000);
    assert.equal(report.repeats, 3);
    assert.equal(report.tide.unschedulable, 0, 'the cluster has room for every replica');
    assert.ok(report.heterogeneous.tide.nodes_used > 0);
    assert.ok(report.heterogeneous.k8s_most_allocated.nodes_used > 0);
  });

  it('replays a trace on homogeneous nodes of the given shape', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-trace-'));
    try {
      const file = path.join(dir, 'pods.csv');
      // 30 pods of 3 cores and 1 GiB on 8-core nodes: 90 cores / 8 = 11.25 → 12 by volume, but no node
      // holds three (9 > 8 cores), which the bound sees: 15.
      fs.writeFileSync(file, `cpu_millicores,memory_bytes\n${'3000,1073741824\n'.repeat(30)}`);
      const report = runBench(['--trace', file, '--node-cpu', '8000', '--node-memory', String(64 * 2 ** 30)]);
      assertStrategies(report);
      assert.equal(report.lower_bound_by.cpu_volume, 12);
      assert.equal(report.lower_bound, 15);
      // Two 3-core pods per 8-core node at best: 15 nodes, whoever packs.
      assert.equal(report.tide.nodes_used, 15);
      assert.equal(report.k8s_most_allocated.nodes_used, 15);
      assert.equal(report.ffd.nodes_used, 15);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a bad option', () => {
    for (const [args, message] of [
      [['--nodes', 'many'], /--nodes wants a positive whole number, got "many"/],
      [['--repeats', '2.5'], /--repeats wants a positive whole number, got "2.5"/],
      [['--batches', '500,0'], /--batches wants a positive whole number, got "0"/],
      [['--batches', '100,100'], /--batches lists a size twice: "100,100"/],
    ] as const) {
      const result = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8' });
      assert.equal(result.status, 1, args.join(' '));
      assert.match(result.stderr, message);
    }
  });
});
