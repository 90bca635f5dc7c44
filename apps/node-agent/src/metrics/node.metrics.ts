/**
 * node_exporter's node metrics (same names, labels and units) read from /proc and statfs when
 * scraped: CPU time per cpu and mode, memory (every /proc/meminfo field), load averages, the
 * filesystems of the agent's state and image directories, network interface counters.
 */
import * as fs from 'node:fs';
import { Counter, Gauge, Registry } from 'prom-client';
import { readSmallFile } from '@tide/runtime';
import {
  CpuTime, InterfaceCounters, LoadAverage, MeminfoField, MountEntry, mountOf, parseLoadavg, parseMeminfo, parseMounts, parseNetDev,
  parseProcStat,
} from './proc.parsers';
import { ScrapeCache } from './scrape.cache';

export interface FilesystemStats extends MountEntry {
  sizeBytes: number;
  freeBytes: number;
  availBytes: number;
  files: number;
  filesFree: number;
}

export interface NodeStats {
  cpu: CpuTime[];
  memory: MeminfoField[];
  load: LoadAverage;
  filesystems: FilesystemStats[];
  interfaces: InterfaceCounters[];
}

export interface NodeStatsSource {
  /** /proc (a test points it at a fixture directory). */
  procDir?: string;
  /** Directories whose filesystems are reported (the agent's state and image dirs). */
  paths: string[];
}

export function readNodeStats(source: NodeStatsSource): NodeStats {
  const proc = source.procDir ?? '/proc';
  const read = (file: string) => readSmallFile(`${proc}/${file}`) ?? '';
  return {
    cpu: parseProcStat(read('stat')),
    memory: parseMeminfo(read('meminfo')),
    load: parseLoadavg(read('loadavg')),
    filesystems: filesystemsOf(source.paths, parseMounts(read('self/mounts'))),
    interfaces: parseNetDev(read('net/dev')),
  };
}

/** One entry per distinct mount holding one of the paths; a path that cannot be statfs'd is left out. */
function filesystemsOf(paths: string[], mounts: MountEntry[]): FilesystemStats[] {
  const out = new Map<string, FilesystemStats>();
  for (const dir of paths) {
    const mount = mountOf(dir, mounts);
    if (!mount || out.has(mount.mountpoint)) continue;
    try {
      const s = fs.statfsSync(mount.mountpoint);
      out.set(mount.mountpoint, {
        ...mount, sizeBytes: s.blocks * s.bsize, freeBytes: s.bfree * s.bsize, availBytes: s.bavail * s.bsize, files: s.files, filesFree: s.ffree,
      });
    } catch {
      /* unmounted meanwhile */
    }
  }
  return [...out.values()];
}

/** Returns the cache of the node's readings (expire() makes the next scrape read them anew). */
export function registerNodeMetrics(registry: Registry, source: NodeStatsSource): ScrapeCache<NodeStats> {
  const stats = new ScrapeCache(() => readNodeStats(source));
  const registers = [registry];
  new Counter({
    name: 'node_cpu_seconds_total', help: 'Seconds the CPUs spent in each mode.', labelNames: ['cpu', 'mode'], registers,
    async collect() {
      const { cpu } = await stats.get();
      this.reset();
      for (const c of cpu) this.inc({ cpu: c.cpu, mode: c.mode }, c.seconds);
    },
  });
  registerMemoryGauges(registry, stats);
  for (const window of ['1', '5', '15'] as const) {
    new Gauge({
      name: `node_load${window}`, help: `${window}m load average.`, registers,
      async collect() {
        this.set((await stats.get()).load[`load${window}`]);
      },
    });
  }
  registerFilesystemGauges(registry, stats);
  registerNetworkCounters(registry, stats);
  return stats;
}

/** Every /proc/meminfo field, as node_exporter names them; the set is known after the first read. */
function registerMemoryGauges(registry: Registry, stats: ScrapeCache<NodeStats>): void {
  const fields = parseMeminfo(readSmallFile('/proc/meminfo') ?? '');
  for (const { metric, field } of fields) {
    new Gauge({
      name: metric, help: `Memory information field ${field}.`, registers: [registry],
      async collect() {
        const value = (await stats.get()).memory.find((m) => m.field === field)?.value;
        if (value !== undefined) this.set(value);
      },
    });
  }
}

const FILESYSTEM_GAUGES: [string, string, keyof FilesystemStats][] = [
  ['node_filesystem_size_bytes', 'Filesystem size in bytes.', 'sizeBytes'],
  ['node_filesystem_free_bytes', 'Filesystem free space in bytes.', 'freeBytes'],
  ['node_filesystem_avail_bytes', 'Filesystem space available to non-root users in bytes.', 'availBytes'],
  ['node_filesystem_files', 'Filesystem total file nodes.', 'files'],
  ['node_filesystem_files_free', 'Filesystem total free file nodes.', 'filesFree'],
];

function registerFilesystemGauges(registry: Registry, stats: ScrapeCache<NodeStats>): void {
  for (const [name, help, field] of FILESYSTEM_GAUGES) {
    new Gauge({
      name, help, labelNames: ['device', 'fstype', 'mountpoint'], registers: [registry],
      async collect() {
        this.reset();
        for (const f of (await stats.get()).filesystems) this.set({ device: f.device, fstype: f.fstype, mountpoint: f.mountpoint }, Number(f[field]));
      },
    });
  }
}

const NETWORK_COUNTERS: [string, keyof InterfaceCounters][] = [
  ['receive_bytes', 'receiveBytes'], ['receive_packets', 'receivePackets'], ['receive_errs', 'receiveErrs'], ['receive_drop', 'receiveDrop'],
  ['transmit_bytes', 'transmitBytes'], ['transmit_packets', 'transmitPackets'], ['transmit_errs', 'transmitErrs'], ['transmit_drop', 'transmitDrop'],
];

function registerNetworkCounters(registry: Registry, stats: ScrapeCache<NodeStats>): void {
  for (const [suffix, field] of NETWORK_COUNTERS) {
    new Counter({
      name: `node_network_${suffix}_total`, help: `Network device statistic ${suffix}.`, labelNames: ['device'], registers: [registry],
      async collect() {
        this.reset();
        for (const i of (await stats.get()).interfaces) this.inc({ device: i.device }, Number(i[field]));
      },
    });
  }
}
