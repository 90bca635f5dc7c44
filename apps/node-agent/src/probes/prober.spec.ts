/** Probe timing and gating with a manual clock and scripted check outcomes. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Probes, ResolvedProbe } from '@tide/api';
import { ManualClock } from '../testing/manual.clock';
import { CheckOutcome, CheckTarget } from './probe.check';
import { ProbedContainer, Prober } from './prober';

function probe(name: string, extra: Partial<ResolvedProbe> = {}): ResolvedProbe {
  return {
    exec: { command: [name] },
    initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3, ...extra,
  };
}

/** Each check answers from `outcomes[probe name]` (true passes) and is logged with the time. */
function harness(probes: Probes<ResolvedProbe>, outcomes: Record<string, boolean>) {
  const clock = new ManualClock();
  const checks: string[] = [];
  const changes: string[] = [];
  const prober = new Prober({
    clock,
    onChange: (key) => changes.push(key),
    check: async (_target: CheckTarget, p: ResolvedProbe): Promise<CheckOutcome> => {
      const name = p.exec!.command[0];
      checks.push(`${clock.now() - 1_000_000}:${name}`);
      return outcomes[name] ? { passed: true } : { passed: false, message: `${name} said no` };
    },
  });
  const container: ProbedContainer = {
    key: 'default/web-1', containerId: 'default.web-1', host: '100.64.0.2', startedAt: clock.now(),
    probes,
  };
  /** Advances time and lets the (async) checks record their outcomes. */
  const advance = async (ms: number) => {
    for (let i = 0; i < ms / 100; i++) {
      clock.advance(100);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { prober, container, checks, changes, outcomes, advance };
}

describe('Prober', () => {
  it('makes a replica ready at its first passing check, after the initial delay', async () => {
    const h = harness({ readiness: probe('ready', { initialDelaySeconds: 2, periodSeconds: 5 }) }, { ready: true });
    h.prober.sync([h.container]);
    assert.equal(h.prober.verdict('default/web-1')?.ready, false, 'not ready before the first check');
    await h.advance(1900);
    assert.deepEqual(h.checks, []);
    await h.advance(200);
    assert.deepEqual(h.checks, ['2000:ready']);
    assert.equal(h.prober.verdict('default/web-1')?.ready, true);
    assert.deepEqual(h.changes, ['default/web-1']);
    await h.advance(5000);
    assert.deepEqual(h.checks, ['2000:ready', '7000:ready'], 'then every periodSeconds');
  });

  it('takes the replica out after failureThreshold failures in a row and back at the next pass', async () => {
    const h = harness({ readiness: probe('ready') }, { ready: true });
    h.prober.sync([h.container]);
    await h.advance(100);
    h.outcomes.ready = false;
    await h.advance(2000);
    assert.equal(h.prober.verdict('default/web-1')?.ready, true, 'two failures are not three');
    await h.advance(1000);
    assert.deepEqual(h.prober.verdict('default/web-1'), { started: true, ready: false, message: 'readiness probe failed: ready said no' });
    h.outcomes.ready = true;
    await h.advance(1000);
    assert.equal(h.prober.verdict('default/web-1')?.ready, true);
  });

  it('runs liveness and readiness only once the startup probe passed, and never startup again', async () => {
    const h = harness({ startup: probe('started'), liveness: probe('alive'), readiness: probe('ready') }, { started: false, alive: true, ready: true });
    h.prober.sync([h.container]);
    await h.advance(1500);
    assert.deepEqual(h.checks, ['0:started', '1000:started']);
    h.outcomes.started = true;
    await h.advance(1000);
    assert.deepEqual(h.checks.slice(2), ['2000:started', '2000:alive', '2000:ready']);
    await h.advance(1000);
    assert.deepEqual(h.checks.slice(5), ['3000:alive', '3000:ready']);
    assert.equal(h.prober.verdict('default/web-1')?.ready, true);
  });

  it('asks for a kill when liveness fails failureThreshold times, and stops probing that container', async () => {
    const h = harness({ liveness: probe('alive', { failureThreshold: 2 }) }, { alive: false });
    h.prober.sync([h.container]);
    await h.advance(1500);
    assert.deepEqual(h.prober.verdict('default/web-1')?.kill, { kind: 'liveness', message: 'liveness probe failed 2 time(s) in a row: alive said no' });
    await h.advance(5000);
    assert.equal(h.checks.length, 2);
  });

  it('starts over for a restarted container and forgets one that is gone', async () => {
    const h = harness({ readiness: probe('ready') }, { ready: true });
    h.prober.sync([h.container]);
    await h.advance(100);
    assert.equal(h.prober.verdict('default/web-1')?.ready, true);
    h.prober.sync([{ ...h.container, startedAt: h.container.startedAt + 5000 }]);
    assert.equal(h.prober.verdict('default/web-1')?.ready, false, 'a new container is not ready until it passes');
    h.prober.sync([]);
    assert.equal(h.prober.verdict('default/web-1'), undefined);
    const before = h.checks.length;
    await h.advance(3000);
    assert.equal(h.checks.length, before, 'no check of a gone container');
  });
});
