/**
 * The hollow-node benchmark in a small size, as CI runs it: a real control plane and etcd with 20
 * hollow nodes; every replica must be bound, pushed to its node and reported Running, the JSON
 * line must carry the contract's keys, and nothing of the run may stay behind. Then the full size,
 * 10,000 replicas on 500 hollow nodes, as a functional check of scale (not a timing target: the
 * deadline is generous): every replica must reach its node and be reported Running. At that size
 * one etcd response holding every replica no longer fits the client's message limit, so a code path
 * that lists a whole kind from etcd again fails it. Ports 19100-19103.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pidsMentioning } from './harness';

const BENCH = path.join(__dirname, 'bench', 'hollow.bench.js');

function hollowDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('tide-hollow-'));
}

describe('hollow-node benchmark', () => {
  it('binds and runs every replica on hollow nodes and reports the rate', { timeout: 180_000 }, () => {
    const before = hollowDirs();
    const result = spawnSync(process.execPath, [BENCH, '--json', '--nodes', '20', '--replicas', '300', '--base-port', '19100', '--timeout', '120'],
      { encoding: 'utf8', timeout: 170_000 });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const lines = result.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]);
    assert.equal(report.benchmark, 'hollow');
    assert.equal(report.replicas, 300);
    for (const key of ['apply_to_all_bound_ms', 'bound_per_sec', 'apply_to_all_running_ms', 'control_plane_rss_mb', 'library_placements_per_sec']) {
      assert.ok(typeof report[key] === 'number' && report[key] > 0, `${key}: ${report[key]}`);
    }
    assert.ok(report.apply_to_all_running_ms >= report.apply_to_all_bound_ms, 'Running comes after bound');
    assert.ok(report.nodes_used > 0 && report.nodes_used <= 20);
    assert.equal(report.agent_errors, 0, `no agent call failed: ${JSON.stringify(report.agent_failures)}`);
    assert.deepEqual(hollowDirs().filter((d) => !before.includes(d)), [], 'the state dir is removed');
    assert.deepEqual(pidsMentioning('tide-hollow-'), [], 'no control plane or etcd left running');
  });

  it('assigns all of 10,000 replicas on 500 hollow nodes', { timeout: 400_000 }, () => {
    const result = spawnSync(process.execPath, [BENCH, '--json', '--nodes', '500', '--replicas', '10000', '--base-port', '19100', '--timeout', '180'],
      { encoding: 'utf8', timeout: 390_000 });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const lines = result.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]);
    assert.equal(report.replicas, 10_000);
    assert.ok(report.apply_to_all_bound_ms > 0 && report.apply_to_all_running_ms >= report.apply_to_all_bound_ms, JSON.stringify(report));
    assert.equal(report.agent_errors, 0, `no agent call failed: ${JSON.stringify(report.agent_failures)}`);
    assert.ok(report.control_plane_rss_mb > 0, `control_plane_rss_mb: ${report.control_plane_rss_mb}`);
    assert.deepEqual(pidsMentioning('tide-hollow-'), [], 'no control plane or etcd left running');
  });

  it('says what is wrong with a bad option', () => {
    const result = spawnSync(process.execPath, [BENCH, '--nodes', 'many'], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--nodes wants a positive integer, got "many"/);
  });
});
