/**
 * The diff tsctl diff prints: the same hunks as GNU `diff -u` (the reference every reader knows),
 * and what a plan says of a Service (created, changed with the diff, unchanged with the autoscaled
 * count and the last restart kept).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Service, validateDocument } from '@tide/api';
import { unifiedDiff } from './unified.diff';
import { declaredYaml, planService } from './apply.plan';

/** GNU diff -u's hunks (its header names files and times, so only what follows it). */
function gnuHunks(before: string, after: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-diff-'));
  try {
    fs.writeFileSync(path.join(dir, 'a'), before);
    fs.writeFileSync(path.join(dir, 'b'), after);
    const out = spawnSync('diff', ['-u', path.join(dir, 'a'), path.join(dir, 'b')], { encoding: 'utf8' }).stdout;
    return out.split('\n').slice(2).join('\n').replace(/\n$/, '');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (n: number, edit: (i: number) => string | undefined = (i) => `line ${i}`) =>
  Array.from({ length: n }, (_, i) => edit(i)).filter((l) => l !== undefined).join('\n') + '\n';

const CASES: { name: string; before: string; after: string }[] = [
  { name: 'one changed line in the middle', before: lines(20), after: lines(20, (i) => (i === 10 ? 'changed' : `line ${i}`)) },
  { name: 'changes far apart: two hunks', before: lines(30), after: lines(30, (i) => (i === 2 || i === 25 ? `new ${i}` : `line ${i}`)) },
  { name: 'changes six lines apart: one hunk', before: lines(30), after: lines(30, (i) => (i === 10 || i === 17 ? `new ${i}` : `line ${i}`)) },
  { name: 'lines added at the end', before: lines(5), after: lines(8) },
  { name: 'lines removed at the start', before: lines(8), after: lines(8, (i) => (i < 2 ? undefined : `line ${i}`)) },
  { name: 'one line file replaced', before: 'a\n', after: 'b\n' },
  { name: 'from nothing (a created object)', before: '', after: lines(4) },
];

describe('unifiedDiff', () => {
  for (const c of CASES) {
    it(`gives diff -u's hunks: ${c.name}`, () => {
      const ours = unifiedDiff(c.before, c.after, { before: 'stored', after: 'applied' });
      const [minus, plus, ...hunks] = ours.split('\n');
      assert.deepEqual([minus, plus], ['--- stored', '+++ applied']);
      assert.equal(hunks.join('\n'), gnuHunks(c.before, c.after));
    });
  }

  it('is empty for equal texts', () => {
    assert.equal(unifiedDiff(lines(5), lines(5), { before: 'a', after: 'b' }), '');
  });
});

const service = (spec: Record<string, unknown>, labels?: Record<string, string>): Service => {
  const result = validateDocument({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', ...(labels ? { labels } : {}) }, spec: { image: 'web:1', ...spec } }, 0);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.object;
};

describe('planService', () => {
  it('says created, with the whole object as added lines', () => {
    const planned = planService(undefined, service({ replicas: 2 }));
    assert.equal(planned.action, 'created');
    assert.deepEqual(planned.diff!.split('\n').slice(0, 2), ['--- /dev/null', '+++ service default/web (applied)']);
    assert.ok(planned.diff!.split('\n').slice(3).every((l) => l.startsWith('+')));
    assert.ok(planned.diff!.includes('+  image: web:1'));
  });

  it('says changed, with only the changed field in the diff', () => {
    const planned = planService(service({ replicas: 2 }, { tier: 'web' }), service({ replicas: 2, image: 'web:2' }, { tier: 'web' }));
    assert.equal(planned.action, 'configured');
    assert.deepEqual(planned.diff!.split('\n').filter((l) => /^[-+][^-+]/.test(l)), ['-  image: web:1', '+  image: web:2']);
  });

  it('keeps the autoscaled replica count and the last restart: unchanged when the manifest differs only there', () => {
    const autoscale = { minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70 };
    const resources = { requests: { cpu: '100m' } };
    const stored = service({ replicas: 7, autoscale, resources, annotations: { 'tide/restartedAt': '2026-01-01T00:00:00.000Z' } });
    assert.deepEqual(planService(stored, service({ autoscale, resources })), { kind: 'Service', namespace: 'default', name: 'web', action: 'unchanged' });
    // A lower ceiling is a change: the count comes down to it.
    const lowered = planService(stored, service({ autoscale: { ...autoscale, maxReplicas: 5 }, resources }));
    assert.equal(lowered.action, 'configured');
    assert.deepEqual(lowered.diff!.split('\n').filter((l) => /^[-+][^-+]/.test(l)), ['-    maxReplicas: 10', '+    maxReplicas: 5', '-  replicas: 7', '+  replicas: 5']);
  });

  it('shows the declared fields only, keys sorted (no status, no server metadata)', () => {
    const stored: Service = { ...service({ replicas: 1 }), status: { replicas: 1 } as Service['status'] };
    stored.metadata = { ...stored.metadata, resourceVersion: '42', generation: 3 };
    const text = declaredYaml(stored);
    assert.doesNotMatch(text, /status|resourceVersion|generation/);
    assert.match(text, /^apiVersion: tide\/v1\nkind: Service\nmetadata:\n {2}name: web\n {2}namespace: default\nspec:\n/);
  });
});
