/**
 * The overlay lower directories mounted by running containers. They live in the containers' own
 * mount namespaces (nothing is mounted on the host), so they are read from /proc/<pid>/mountinfo,
 * once per mount namespace. Garbage collection keeps these even when no image references them.
 */
import * as fs from 'node:fs';

export function mountedLowerDirs(): Set<string> {
  const dirs = new Set<string>();
  const seen = new Set<string>();
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const ns = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      for (const dir of overlayLowerDirs(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))) dirs.add(dir);
    } catch {
      /* the process exited meanwhile */
    }
  }
  return dirs;
}

/** lowerdir entries of the overlay mounts in a mountinfo text (super options, after " - overlay "). */
export function overlayLowerDirs(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' - ')[1]?.split(' ');
    if (fields?.[0] !== 'overlay') continue;
    const lower = fields[2]?.split(',').find((option) => option.startsWith('lowerdir='));
    if (lower) out.push(...lower.slice('lowerdir='.length).split(':').filter(Boolean));
  }
  return out;
}
