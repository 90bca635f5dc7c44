import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { TideEvent } from '@tide/api';
import { describeNode, describeReplica, describeService } from './describe.format';
import { NOW, ago, node, replica, service } from './fixtures';
import { fields } from './table';

const event: TideEvent = {
  apiVersion: 'tide/v1', kind: 'Event', metadata: { name: 'e1', namespace: 'default' },
  spec: { involvedObject: { kind: 'Replica', namespace: 'default', name: 'web-1' }, type: 'Warning', reason: 'FailedScheduling', message: '0/2 nodes available: 2 insufficient cpu', timestamp: ago(20), source: 'scheduler' },
};

describe('describe', () => {
  it('aligns fields and leaves out empty ones', () => {
    assert.deepEqual(fields([['Name', 'x'], ['Restart policy', 'Always'], ['Empty', undefined]]), ['Name:            x', 'Restart policy:  Always']);
  });

  it('explains a Pending replica: the summary and the reason per node, then the events', () => {
    const pending = replica('web-1', undefined, {
      phase: 'Pending', unschedulable: { summary: '0/2 nodes available: 2 insufficient cpu', nodes: { 'node-2': 'insufficient cpu', 'node-1': 'insufficient cpu' } },
    });
    const text = describeReplica(pending, [event], NOW);
    assert.match(text, /^Name: +web-1$/m);
    assert.match(text, /^Phase: +Pending$/m);
    assert.match(text, /^Node: +<none>$/m);
    assert.match(text, /Unschedulable: 0\/2 nodes available: 2 insufficient cpu\n  node-1: insufficient cpu\n  node-2: insufficient cpu\nEvents:/);
    assert.match(text, /20s +Warning +FailedScheduling +replica\/web-1 +0\/2 nodes available/);
  });

  it('groups the reasons by reason on a large cluster, naming every node once, and does not repeat the summary as the message', () => {
    const nodes: Record<string, string> = {};
    for (let i = 1; i <= 30; i++) nodes[`node-${String(i).padStart(2, '0')}`] = i <= 25 ? 'insufficient memory' : i <= 28 ? 'cordoned' : 'not ready';
    const summary = '0/30 nodes available: 25 insufficient memory, 3 cordoned, 2 not ready';
    const text = describeReplica(replica('web-1', undefined, { phase: 'Pending', message: summary, unschedulable: { summary, nodes } }), [], NOW);
    const lines = text.split('\n');
    const at = lines.indexOf(`Unschedulable: ${summary}`);
    assert.ok(at >= 0, text);
    assert.match(lines[at + 1], /^  insufficient memory \(25\): node-01, node-02, .*, node-25$/);
    assert.equal(lines[at + 2], '  cordoned (3): node-26, node-27, node-28');
    assert.equal(lines[at + 3], '  not ready (2): node-29, node-30');
    assert.doesNotMatch(text, /^Message:/m);
    for (const name of Object.keys(nodes)) assert.equal(text.split(name).length - 1, 1, `${name} named once`);
  });

  it('shows restarts and the last exit of a running replica', () => {
    const text = describeReplica(replica('web-1', 'node-1', { restartCount: 3, lastExit: { code: 137, signal: null, reason: 'OOMKilled', finishedAt: ago(5) } }), [], NOW);
    assert.match(text, /^Restarts: +3$/m);
    assert.match(text, /^Last exit: +OOMKilled \(137\) at /m);
    assert.match(text, /^Events: +<none>$/m);
  });

  it('shows the network mode and address of a replica, and the pod CIDR of a node', () => {
    const bridged = replica('web-1', 'node-1', { ip: '100.64.0.7' });
    bridged.spec.template.network = 'bridge';
    const text = describeReplica(bridged, [], NOW);
    assert.match(text, /^Network: +bridge$/m);
    assert.match(text, /^IP: +100\.64\.0\.7$/m);
    const withSlice = node('node-1', true);
    withSlice.spec.podCIDR = '100.64.0.0/24';
    assert.match(describeNode(withSlice, [], [], NOW), /^Pod CIDR: +100\.64\.0\.0\/24$/m);
  });

  it('describes a node under disk pressure: its status, and why', () => {
    const pressed = node('node-1', true);
    pressed.status!.conditions = [{ type: 'DiskPressure', status: 'True', message: 'nodefs.available 1.0Gi (4%) < 10%', lastTransitionTime: ago(30) }];
    const text = describeNode(pressed, [], [], NOW);
    assert.match(text, /^Status: +Ready,DiskPressure$/m);
    assert.match(text, new RegExp(`^DiskPressure: +since ${ago(30)}: nodefs.available 1.0Gi \\(4%\\) < 10%$`, 'm'));
  });

  it('describes a service with its replicas', () => {
    const text = describeService(service('web', 2, 1, 60), [replica('web-1', 'node-1')], [], NOW);
    assert.match(text, /^Replicas: +2 desired \| 1 running \| 1 ready \| 0 pending$/m);
    assert.match(text, /^Command: +sh -c "echo hi; sleep 9"$/m);
    assert.match(text, /^Replicas:\n  NAME +SERVICE/m);
  });

  it('shows where a variable comes from instead of a value it does not have', () => {
    const web = service('web', 2, 1, 60);
    web.spec.env = { MODE: 'fast', DB_PASSWORD: { valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } } };
    const text = describeService(web, [], [], NOW);
    assert.match(text, /^Env: +MODE=fast, DB_PASSWORD=<set to the key 'password' of secret 'db'>$/m);
  });

  it('describes a node with what is requested of it', () => {
    const text = describeNode(node('node-1', true), [replica('a-1', 'node-1'), replica('a-2', 'node-1')], [], NOW);
    // 200m of 900m = 22%; 64Mi of 896Mi = 7%
    assert.match(text, /^Requested: +cpu 200m \(22%\), memory 64Mi \(7%\)$/m);
    assert.match(text, /^Replicas \(2\):$/m);
  });

  it('shows an autoscaled service\'s bounds, targets, current metrics and last decisions, newest first', () => {
    const shop = service('shop', 6, 6, 600);
    shop.spec.autoscale = {
      minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 50,
      schedules: [{ name: 'sale', cron: '0 0 11 11 *', timeZone: 'Asia/Shanghai', minReplicas: 8, durationSeconds: 7200 }],
    };
    shop.status = {
      ...shop.status!,
      autoscale: {
        observedAt: ago(1), currentReplicas: 6, desiredReplicas: 6, floor: 2, measuredReplicas: 6, cpuUtilizationPercentage: 48.5,
        panicUntil: ago(-4), lastScaleTime: ago(2),
        lastDecisions: [
          { time: ago(30), from: 2, to: 3, reason: 'ScaleUp', message: '2 → 3 replicas (ScaleUp); cpu 70% ...' },
          { time: ago(2), from: 3, to: 6, reason: 'Panic', message: '3 → 6 replicas (Panic); cpu 190% ...' },
        ],
      },
    };
    const text = describeService(shop, [], [], NOW);
    assert.match(text, /^Autoscale: +2-10 replicas, policy tide$/m);
    assert.match(text, /^ {2}Targets: +cpu 50% of the request$/m);
    assert.match(text, /^ {2}Schedules: +sale "0 0 11 11 \*" Asia\/Shanghai: 8 for 7200s$/m);
    assert.match(text, /^ {2}Now: +6 current, 6 desired; floor 2; PANIC until 2026-01-01T12:00:04.000Z$/m);
    assert.match(text, /^ {2}Metrics: +cpu 48.5% of the request \(target 50%\) over 6 replica\(s\), 1s ago$/m);
    assert.match(text, / {2}Last decisions:\n {4}AGE +SCALE +REASON +WHY\n {4}2s +3 → 6 +Panic +3 → 6 replicas \(Panic\); cpu 190% \.\.\.\n {4}30s +2 → 3 +ScaleUp/);
  });

  it('says so when the autoscaler has not looked yet', () => {
    const fresh = service('shop', 1, 0, 5);
    fresh.spec.autoscale = { maxReplicas: 4, targetRequestsPerSecond: 20 };
    const text = describeService(fresh, [], [], NOW);
    assert.match(text, /^ {2}Targets: +20 requests\/s per replica$/m);
    assert.match(text, /^ {2}Now: +<not observed yet>$/m);
    assert.match(text, /^ {2}Last decisions: +<none>$/m);
  });
});
