/**
 * Pure parsers of the /proc files node_exporter reads, producing its metric names and units, so
 * that dashboards made for node_exporter work on Tide's agents unchanged.
 */

/** Clock ticks per second of /proc/stat; Linux reports USER_HZ = 100 on every architecture (as procfs assumes). */
export const USER_HZ = 100;

/** node_exporter's modes, in the order of the /proc/stat columns (guest time is already in user/nice). */
const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

export interface CpuTime {
  cpu: string;
  mode: string;
  seconds: number;
}

/** "cpu0 4705 356 584 3699 23 23 0 0 0 0" → one entry per mode; the "cpu" total line is skipped, as node_exporter does. */
export function parseProcStat(text: string): CpuTime[] {
  const out: CpuTime[] = [];
  for (const line of text.split('\n')) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const ticks = match[2].trim().split(/\s+/).map(Number);
    CPU_MODES.forEach((mode, i) => out.push({ cpu: match[1], mode, seconds: (ticks[i] ?? 0) / USER_HZ }));
  }
  return out;
}

export interface MeminfoField {
  /** node_exporter's name: "node_memory_MemAvailable_bytes", "node_memory_Active_anon_bytes", "node_memory_HugePages_Total". */
  metric: string;
  field: string;
  value: number;
}

/** "MemAvailable:   12345 kB" → bytes; fields without a unit (HugePages_Total) are counts, without "_bytes". */
export function parseMeminfo(text: string): MeminfoField[] {
  const out: MeminfoField[] = [];
  for (const line of text.split('\n')) {
    const match = /^([^:]+):\s+(\d+)(\s+kB)?\s*$/.exec(line);
    if (!match) continue;
    const name = match[1].replace(/[()]/g, '_').replace(/_$/, '');
    out.push({ field: match[1], metric: `node_memory_${name}${match[3] ? '_bytes' : ''}`, value: Number(match[2]) * (match[3] ? 1024 : 1) });
  }
  return out;
}

export interface LoadAverage {
  load1: number;
  load5: number;
  load15: number;
}

export function parseLoadavg(text: string): LoadAverage {
  const [load1, load5, load15] = text.trim().split(/\s+/).map(Number);
  return { load1, load5, load15 };
}

export interface InterfaceCounters {
  device: string;
  receiveBytes: number;
  receivePackets: number;
  receiveErrs: number;
  receiveDrop: number;
  transmitBytes: number;
  transmitPackets: number;
  transmitErrs: number;
  transmitDrop: number;
}

/** /proc/net/dev: two header lines, then "  eth0: rx bytes packets errs drop fifo frame compressed multicast, tx bytes packets errs drop ...". */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    out.push({
      device: line.slice(0, colon).trim(),
      receiveBytes: f[0], receivePackets: f[1], receiveErrs: f[2], receiveDrop: f[3],
      transmitBytes: f[8], transmitPackets: f[9], transmitErrs: f[10], transmitDrop: f[11],
    });
  }
  return out;
}

export interface MountEntry {
  device: string;
  mountpoint: string;
  fstype: string;
}

/** /proc/self/mounts; spaces and other characters in paths are octal escapes ("\040"). */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (value: string) => value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text.split('\n').filter(Boolean).map((line) => {
    const [device, mountpoint, fstype] = line.split(' ');
    return { device: unescape(device), mountpoint: unescape(mountpoint), fstype };
  });
}

/** The mount holding a path: the longest mount point that is the path or one of its parents (the last one mounted wins a tie). */
export function mountOf(file: string, mounts: MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const mount of mounts) {
    const prefix = mount.mountpoint === '/' ? '/' : `${mount.mountpoint}/`;
    const holds = file === mount.mountpoint || file.startsWith(prefix);
    if (holds && (!best || mount.mountpoint.length >= best.mountpoint.length)) best = mount;
  }
  return best;
}
