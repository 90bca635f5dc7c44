import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mountOf, parseLoadavg, parseMeminfo, parseMounts, parseNetDev, parseProcStat } from './proc.parsers';

describe('/proc parsers (node_exporter names and units)', () => {
  it('turns /proc/stat ticks into seconds per cpu and mode, without the total line', () => {
    const cpu = parseProcStat('cpu  170275 0 47977 588181 1692 0 3134 138 0 0\ncpu0 82539 0 22881 298406 390 0 1422 68 0 0\ncpu1 1 2 3 4 5 6 7 8 9 10\nintr 1 2\n');
    assert.equal(cpu.length, 16); // 2 cpus × 8 modes
    assert.deepEqual(cpu.slice(0, 4), [
      { cpu: '0', mode: 'user', seconds: 825.39 }, // 82539 ticks / USER_HZ 100
      { cpu: '0', mode: 'nice', seconds: 0 },
      { cpu: '0', mode: 'system', seconds: 228.81 },
      { cpu: '0', mode: 'idle', seconds: 2984.06 },
    ]);
    assert.deepEqual(cpu.filter((c) => c.cpu === '1').map((c) => c.mode), ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal']);
    assert.equal(cpu.find((c) => c.cpu === '1' && c.mode === 'steal')?.seconds, 0.08);
  });

  it('names /proc/meminfo fields as node_exporter does, kB in bytes', () => {
    const fields = parseMeminfo('MemTotal:       24576000 kB\nMemAvailable:   12288000 kB\nActive(anon):     1024 kB\nHugePages_Total:       0\n');
    assert.deepEqual(fields.map((f) => [f.metric, f.value]), [
      ['node_memory_MemTotal_bytes', 24576000 * 1024],
      ['node_memory_MemAvailable_bytes', 12288000 * 1024],
      ['node_memory_Active_anon_bytes', 1024 * 1024],
      ['node_memory_HugePages_Total', 0],
    ]);
  });

  it('reads load averages and interface counters', () => {
    assert.deepEqual(parseLoadavg('1.64 1.98 1.66 1/192 21496\n'), { load1: 1.64, load5: 1.98, load15: 1.66 });
    const dev = parseNetDev([
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo: 1864946448 9044975    0    0    0     0          0         0 1864946448 9044975    0    0    0     0       0          0',
      '  eth0:    1000      10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0',
    ].join('\n'));
    assert.deepEqual(dev[1], {
      device: 'eth0', receiveBytes: 1000, receivePackets: 10, receiveErrs: 1, receiveDrop: 2,
      transmitBytes: 2000, transmitPackets: 20, transmitErrs: 3, transmitDrop: 4,
    });
  });

  it('finds the mount holding a path: the longest mount point, escapes decoded', () => {
    const mounts = parseMounts('overlay / overlay rw 0 0\n/dev/sda1 /var/lib ext4 rw 0 0\ntmpfs /var/lib/my\\040dir tmpfs rw 0 0\n/dev/sdb /var/lib2 xfs rw 0 0\n');
    assert.equal(mountOf('/var/lib/tide/images', mounts)?.mountpoint, '/var/lib');
    assert.equal(mountOf('/var/lib/my dir/x', mounts)?.device, 'tmpfs');
    assert.equal(mountOf('/var/lib2', mounts)?.fstype, 'xfs');
    assert.equal(mountOf('/var/lib22', mounts)?.mountpoint, '/', 'a mount point is a whole path component');
    assert.equal(mountOf('/tmp', mounts)?.mountpoint, '/');
  });
});
