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

/** rmdir retried while the kernel finishes reaping the group's last tasks. */
export async function removeGroupDir(dir: string, pidsOf: () => Promise<number[]>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!fs.existsSync(dir)) return;
    const pids = await pidsOf();
    if (pids.length > 0) await killPids(pids);
    try {
      await fs.promises.rmdir(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`cannot remove cgroup ${dir}: still busy`);
}
