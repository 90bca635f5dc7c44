import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NOW, ago, node, replica, service } from './fixtures';
import { nodeStatusText, nodesTable, replicasTable, servicesTable } from './resource.tables';
import { formatAge, formatStructured, formatTable, parseOutputFormat } from './table';
import { volumesTable } from './config.tables';

const plain = { wide: false, withNamespace: false, nowMs: NOW };

describe('tables', () => {
  it('pads columns to the widest cell, three spaces apart, no trailing blanks', () => {
    assert.equal(formatTable(['NAME', 'READY'], [['hello', '2/2'], ['a', '']]), 'NAME    READY\nhello   2/2\na');
  });

  it('prints named local volumes: NAME NODE SIZE USERS, unknown until the node reports a size', () => {
    assert.equal(volumesTable([
      { namespace: 'shop', name: 'pgdata', node: 'node-1', sizeBytes: 80 * 2 ** 20, users: ['db-a', 'db-b'] },
      { namespace: 'shop', name: 'cache', node: 'node-2', users: [] },
    ], false), [
      'NAME     NODE     SIZE        USERS',
      'pgdata   node-1   80Mi        db-a,db-b',
      'cache    node-2   <unknown>   <none>',
    ].join('\n'));
  });

  it('prints services: NAME READY AGE IMAGE', () => {
    assert.equal(servicesTable([service('hello', 2, 1, 30), service('web', 3, 3, 7200)], plain), [
      'NAME    READY   AGE    IMAGE',
      'hello   1/2     30s    busybox',
      'web     3/3     120m   busybox',
    ].join('\n'));
  });

  it('adds a NAMESPACE column for all namespaces, and IP, ports, command and policy when wide', () => {
    const text = servicesTable([service('hello', 1, 1, 5)], { wide: true, withNamespace: true, nowMs: NOW });
    assert.equal(text, 'NAMESPACE   NAME    READY   AGE   IMAGE     CLUSTER-IP   PORTS    RESTART   COMMAND\n'
      + 'default     hello   1/1     5s    busybox   <pending>    <none>   Always    sh -c "echo hi; sleep 9"');
    const web = { ...service('web', 1, 1, 5), status: { ...service('web', 1, 1, 5).status!, clusterIP: '100.96.0.7' } };
    web.spec = { ...web.spec, ports: [{ containerPort: 8080, port: 80, protocol: 'HTTP' }, { containerPort: 9000, publish: 19000 }] };
    assert.match(servicesTable([web], { wide: true, withNamespace: false, nowMs: NOW }), /100\.96\.0\.7 +80\/HTTP,19000:9000\/TCP /);
  });

  it('prints replicas with phase, restarts and the last exit', () => {
    const rows = [
      replica('web-1', 'node-1', { restartCount: 2, lastExit: { code: null, signal: 'SIGKILL', reason: 'OOMKilled', finishedAt: ago(10) } }),
      replica('web-2', 'node-2', { phase: 'Starting', ready: false, restartCount: 1, lastExit: { code: 1, signal: null, reason: 'Error', finishedAt: ago(5) } }),
      replica('web-3', undefined),
    ];
    assert.equal(replicasTable(rows, plain), [
      'NAME    SERVICE   NODE     PHASE      READY   RESTARTS   LAST-EXIT             AGE',
      'web-1   web       node-1   Running    1/1     2          OOMKilled (SIGKILL)   90s',
      'web-2   web       node-2   Starting   0/1     1          Error (1)             90s',
      'web-3   web       <none>   Pending    0/1     0          -                     90s',
    ].join('\n'));
  });

  it('prints nodes with requested/allocatable cpu and memory, not counting finished replicas', () => {
    const replicas = [
      replica('a-1', 'node-1'), replica('a-2', 'node-1', {}, { cpuMillis: 250, memoryBytes: 64 * 2 ** 20 }),
      replica('a-3', 'node-1', { phase: 'Succeeded' }), replica('a-4', 'node-2'),
    ];
    // node-1: 100m + 250m = 350m of 900m; 32Mi + 64Mi = 96Mi of 1Gi - 128Mi = 896Mi
    assert.equal(nodesTable([node('node-1', true), node('node-2', false, true)], replicas, plain), [
      'NAME     STATUS                        ADDRESS     CPU         MEMORY       AGE',
      'node-1   Ready                         127.0.1.1   350m/900m   96Mi/896Mi   60m',
      'node-2   NotReady,SchedulingDisabled   127.0.1.2   100m/900m   32Mi/896Mi   60m',
    ].join('\n'));
  });

  it('shows a node\'s DiskPressure condition in its status', () => {
    const pressed = node('node-1', true);
    pressed.status!.conditions = [{ type: 'DiskPressure', status: 'True', message: 'nodefs.available 1.0Gi (4%) < 10%', lastTransitionTime: ago(5) }];
    assert.equal(nodeStatusText(pressed), 'Ready,DiskPressure');
    assert.equal(nodeStatusText({ ...pressed, spec: { ...pressed.spec, cordoned: true } }), 'Ready,DiskPressure,SchedulingDisabled');
  });
});

describe('wide tables', () => {
  const wide = { ...plain, wide: true };
  it('show a replica\'s pid and address (none for host networking)', () => {
    const text = replicasTable([replica('web-1', 'node-1', { pid: 42, ip: '100.64.1.7' }), replica('web-2', 'node-1', { pid: 43 })], wide);
    assert.deepEqual(text.split('\n').map((line) => line.split(/\s{2,}/).slice(8)), [['PID', 'IP', 'MESSAGE'], ['42', '100.64.1.7'], ['43', '-']]);
  });
  it('show a node\'s replica count and pod CIDR', () => {
    const withSlice = { ...node('node-1', true), spec: { ...node('node-1', true).spec, podCIDR: '100.64.0.0/24' } };
    const text = nodesTable([withSlice, node('node-2', true)], [replica('a-1', 'node-1')], wide);
    assert.deepEqual(text.split('\n').map((line) => line.split(/\s{2,}/).slice(6)), [['REPLICAS', 'POD-CIDR', 'LABELS'], ['1', '100.64.0.0/24', 'zone=a'], ['0', '-', 'zone=a']]);
  });
});

describe('ages', () => {
  const table: [number, string][] = [
    [0, '0s'], [45, '45s'], [119, '119s'], [150, '2m30s'], [600, '10m'], [7199, '119m'],
    [3 * 3600 + 120, '3h2m'], [10 * 3600, '10h'], [50 * 3600, '2d2h'], [30 * 86400, '30d'],
  ];
  for (const [seconds, expected] of table) it(`${seconds} s is ${expected}`, () => assert.equal(formatAge(ago(seconds), NOW), expected));
  it('has no age without a timestamp', () => assert.equal(formatAge(undefined, NOW), '<unknown>'));
});

describe('output formats', () => {
  it('accepts wide, json and yaml only', () => {
    assert.deepEqual([undefined, 'wide', 'json', 'yaml'].map(parseOutputFormat), ['table', 'wide', 'json', 'yaml']);
    assert.throws(() => parseOutputFormat('xml'), /unknown output format "xml" \(use -o wide, -o json or -o yaml\)/);
  });
  it('prints json and yaml', () => {
    assert.equal(formatStructured({ a: [1] }, 'json'), '{\n  "a": [\n    1\n  ]\n}');
    assert.equal(formatStructured({ a: [1] }, 'yaml'), 'a:\n  - 1');
  });
});
