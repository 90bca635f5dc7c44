/** docker events from what two reads of the containers show: the actions dockerd would send, filters, times. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DockerError } from './docker.errors';
import { parseFilters } from './docker.filters';
import { ContainerSighting, EVENT_FILTERS, eventPasses, eventTime, eventsBetween, heldBack } from './docker.events';

const box = (status: ContainerSighting['status'], run?: string, exitCode = 0): ContainerSighting => ({
  id: 'ab'.repeat(32), name: 'box', image: 'busybox', labels: { team: 'a' }, status, ...(run ? { run } : {}), exitCode,
});
const seen = (...sightings: ContainerSighting[]) => new Map(sightings.map((s) => [s.id, s]));
const actions = (before: Map<string, ContainerSighting>, after: Map<string, ContainerSighting>) => eventsBetween(before, after, 1_700_000_000_123).map((e) => e.Action);

describe('docker events between two reads', () => {
  it("tells a container's life as dockerd does: create, start, pause, unpause, die, destroy", () => {
    assert.deepEqual(actions(seen(), seen(box('created'))), ['create']);
    assert.deepEqual(actions(seen(), seen(box('running', 'r1'))), ['create', 'start']);
    assert.deepEqual(actions(seen(box('created')), seen(box('running', 'r1'))), ['start']);
    assert.deepEqual(actions(seen(box('running', 'r1')), seen(box('paused', 'r1'))), ['pause']);
    assert.deepEqual(actions(seen(box('paused', 'r1')), seen(box('running', 'r1'))), ['unpause']);
    assert.deepEqual(actions(seen(box('running', 'r1')), seen(box('exited', 'r1', 3))), ['die']);
    assert.deepEqual(actions(seen(box('exited', 'r1', 3)), seen()), ['destroy']);
    assert.deepEqual(actions(seen(box('running', 'r1')), seen()), ['die', 'destroy']);
    assert.deepEqual(actions(seen(box('running', 'r1')), seen(box('running', 'r1'))), []);
  });

  it('tells a restart between two reads as die then start, and the exit code on die', () => {
    assert.deepEqual(actions(seen(box('running', 'r1')), seen(box('running', 'r2'))), ['die', 'start']);
    assert.deepEqual(actions(seen(box('exited', 'r1', 1)), seen(box('running', 'r2'))), ['start']);
    const [die] = eventsBetween(seen(box('running', 'r1')), seen(box('exited', 'r1', 7)), 1_700_000_000_123);
    assert.deepEqual(die, {
      status: 'die', id: 'ab'.repeat(32), from: 'busybox', Type: 'container', Action: 'die',
      Actor: { ID: 'ab'.repeat(32), Attributes: { team: 'a', image: 'busybox', name: 'box', exitCode: '7' } },
      scope: 'local', time: 1_700_000_000, timeNano: 1_700_000_000_123_000_000,
    });
  });

  it('holds a die (and the destroy after it) while a client follows the container, at most 10 s', () => {
    const heldSince = new Map<string, number>();
    const before = seen(box('running', 'r1'));
    const gone = seen();
    let followed = true;
    const tell = (nowMs: number) => heldBack(before, gone, () => followed, heldSince, nowMs);
    assert.deepEqual(actions(before, tell(1_000)), []);
    assert.deepEqual(actions(before, tell(5_000)), []);
    followed = false;
    assert.deepEqual(actions(before, tell(5_500)), ['die', 'destroy']);
    assert.equal(heldSince.size, 0);
    followed = true;
    assert.deepEqual(actions(before, tell(20_000)), []);
    assert.deepEqual(actions(before, tell(30_000)), ['die', 'destroy'], 'a client that never lets go holds it 10 s only');
    // Nothing else is held: a start, and a container still running, are told at once.
    assert.deepEqual(actions(seen(box('created')), heldBack(seen(box('created')), seen(box('running', 'r1')), () => true, new Map(), 0)), ['start']);
  });

  it('filters by type, container, event, image and label; a filter of another type passes none', () => {
    const [create] = eventsBetween(seen(), seen(box('created')), 0);
    const passes = (filters: object) => eventPasses(create, parseFilters(JSON.stringify(filters), EVENT_FILTERS, 'events'));
    assert.ok(passes({}));
    assert.ok(passes({ type: ['container'], container: ['box'], event: ['create', 'start'], image: ['busybox'], label: ['team=a'] }));
    assert.ok(passes({ container: ['abab'] }));
    assert.ok(!passes({ label: ['team=a', 'tier'] }));
    assert.ok(!passes({ type: ['network'] }));
    assert.ok(!passes({ network: ['bridge'] }));
    assert.throws(() => passes({ colour: ['red'] }), (e: unknown) => e instanceof DockerError && e.status === 400);
  });

  it('reads since and until as unix seconds', () => {
    assert.equal(eventTime('1700000000.5', 'until'), 1_700_000_000_500);
    assert.equal(eventTime(null, 'until'), undefined);
    assert.throws(() => eventTime('10m', 'since'), /since: "10m" is not a time in unix seconds/);
  });
});
