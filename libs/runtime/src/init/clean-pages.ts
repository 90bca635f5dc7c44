/**
 * A pooled init, before it waits, unmaps the clean pages of its read-only file mappings: the node
 * binary's code and read-only data (ICU data, V8's startup snapshot, already deserialised) and
 * shared libraries. The execve at the end of every start has to tear down the init's whole address
 * space, and for a Node process that is the larger part of the execve: about half of its page-table
 * entries are these mappings (execve took 1.5 instead of 3 ms here without them). MADV_DONTNEED
 * on a private file mapping none of whose pages was ever written only unmaps: the page cache keeps
 * the pages, and an access maps them back (the init touches few of them after this point). A mapping
 * with any anonymous (copied-on-write) page is left alone: dropping it would lose what the process
 * wrote there (relocated RELRO data, say).
 */
import * as fs from 'node:fs';
import { MADV_DONTNEED, Sys } from '@tide/syscall';

/** A mapping header ("start-end perms offset dev inode path") of a file, or the Anonymous line after it. */
const SMAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+ +(\/.*)$|^Anonymous: +(\d+) kB$/.source;

export interface Mapping {
  start: number;
  end: number;
}

/** The read-only file mappings of /proc/<pid>/smaps text that hold no anonymous page. */
export function cleanFileMappings(smaps: string): Mapping[] {
  const clean: Mapping[] = [];
  let header: RegExpExecArray | undefined;
  const lines = new RegExp(SMAPS_LINE, 'gm');
  for (let match = lines.exec(smaps); match; match = lines.exec(smaps)) {
    if (match[1] !== undefined) {
      header = match;
      continue;
    }
    if (header && match[5] === '0' && !header[3].includes('w')) {
      clean.push({ start: parseInt(header[1], 16), end: parseInt(header[2], 16) });
    }
    header = undefined;
  }
  return clean;
}

/** Reading smaps costs about 2 ms (the kernel walks the page tables): done while the init waits. */
export function dropCleanFilePages(sys: Sys): void {
  for (const { start, end } of cleanFileMappings(fs.readFileSync('/proc/self/smaps', 'utf8'))) {
    try {
      sys.madvise(start, end - start, MADV_DONTNEED);
    } catch {
      // Not worth failing a start for: the pages stay, execve takes a little longer.
    }
  }
}
