/** File helpers shared by cgroup v1 and v2: keyed and pid lists, killing a group's tasks, removing it. */
import * as fs from 'node:fs';

/** Reads "key value" lines (memory.stat, memory.events, cpu.stat, memory.oom_control). */
export async function readKeyed(file: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const text = await fs.promises.readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key) out[key] = Number(value);
  }
  return out;
}

export async function readPids(file: string): Promise<number[]> {
  const text = await fs.promises.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

export async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** How long a removal waits for the kernel to reap a group's last tasks: on a busy machine the exit
 *  of a killed PID namespace's init (which first reaps all of its namespace) can take seconds. */
const REMOVE_DEADLINE_MS = 15_000;

/** rmdir retried while the kernel finishes reaping the group's last tasks (killed again each time). */
export async function removeGroupDir(dir: string, pidsOf: () => Promise<number[]>): Promise<void> {
  const deadline = Date.now() + REMOVE_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    if (!fs.existsSync(dir)) return;
    const pids = await pidsOf();
    if (pids.length > 0) await killPids(pids);
    try {
      await fs.promises.rmdir(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (Date.now() > deadline) throw new Error(`cannot remove cgroup ${dir}: still busy (${pids.length} tasks: ${pids.slice(0, 5).join(' ')})`);
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** Math.min(attempt, 3))); // 20 ms, doubling to 160 ms
    }
  }
}
