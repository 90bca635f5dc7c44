/**
 * Where the density benchmark's `all_running_s` goes: the CPU seconds each party spent between the
 * apply and the last replica Running, on this machine where all of them share two cores. `agent_user`
 * and `agent_system` are the agent's process (its threads; system time is mostly cgroup, mount and
 * network set-up, and the spawns of launchers and tools); `containers` is the containers' parent cgroup
 * (`/tide`: every init's boot from the moment it joins its group, then the user's command);
 * `control_plane` and `etcd` their processes; `machine_busy` and `machine_system` all CPUs' non-idle
 * and kernel time from /proc/stat (other work on the machine included).
 */
import * as fs from 'node:fs';
import { pidsMentioning } from '../harness';

interface CpuPoint {
  agent: { user: number; system: number };
  controlPlane: number;
  etcd: number;
  containers: number;
  machine: { busy: number; system: number };
}

export type StartCpu = Record<'agent_user' | 'agent_system' | 'containers' | 'control_plane' | 'etcd' | 'machine_busy' | 'machine_system', number>;

const TICK = 100; // USER_HZ

/** utime and stime in seconds (fields 14 and 15 of /proc/PID/stat). */
function processCpu(pid: number): { user: number; system: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / TICK, system: Number(fields[12]) / TICK };
  } catch {
    return { user: 0, system: 0 };
  }
}

function machineCpu(): { busy: number; system: number } {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return { busy: (user + nice + system + irq + softirq + steal) / TICK, system: (system + irq + softirq) / TICK };
}

/** The containers' parent group's CPU time (cgroup v1 cpuacct, or v2 cpu.stat). */
function containersCpu(): number {
  const v1 = '/sys/fs/cgroup/cpuacct/tide/cpuacct.usage';
  if (fs.existsSync(v1)) return Number(fs.readFileSync(v1, 'utf8')) / 1e9;
  const v2 = /usage_usec (\d+)/.exec(fs.existsSync('/sys/fs/cgroup/tide/cpu.stat') ? fs.readFileSync('/sys/fs/cgroup/tide/cpu.stat', 'utf8') : '');
  return v2 ? Number(v2[1]) / 1e6 : 0;
}

function pidOf(text: string, stateDir: string): number | undefined {
  return pidsMentioning(text).find((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(stateDir);
    } catch {
      return false;
    }
  });
}

/** A reading of every party's CPU so far; `agent` is the agent's pid. */
export function cpuPoint(agent: number, stateDir: string): CpuPoint {
  const controlPlane = pidOf('control-plane/dist/main.js', stateDir);
  const etcd = pidsMentioning('--data-dir').find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(stateDir) && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('etcd'));
  const total = (pid?: number) => (pid ? ((c) => c.user + c.system)(processCpu(pid)) : 0);
  return { agent: processCpu(agent), controlPlane: total(controlPlane), etcd: total(etcd), containers: containersCpu(), machine: machineCpu() };
}

/** CPU seconds spent by each party between two readings. */
export function cpuSpent(before: CpuPoint, after: CpuPoint): StartCpu {
  const r = (n: number) => Math.round(n * 10) / 10;
  return {
    agent_user: r(after.agent.user - before.agent.user),
    agent_system: r(after.agent.system - before.agent.system),
    containers: r(after.containers - before.containers),
    control_plane: r(after.controlPlane - before.controlPlane),
    etcd: r(after.etcd - before.etcd),
    machine_busy: r(after.machine.busy - before.machine.busy),
    machine_system: r(after.machine.system - before.machine.system),
  };
}
