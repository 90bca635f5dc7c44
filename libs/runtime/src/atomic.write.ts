/**
 * Writing a state file so that a reader (or a restarted process) finds either the old content or
 * the new one, never a torn one: the text goes to `FILE.tmp` first and is renamed over the file.
 * Not flushed to the device (no fsync): what this guards against is the process dying (kill -9) or
 * the disk filling, and a sync per write would stall the agent's event loop on busy disks (the replica
 * state is written at every change); a power cut may lose the last writes, as before. A full disk (ENOSPC) or any other failure leaves the old file as it was and removes the
 * partial temporary file, which would otherwise hold the very space that ran out; the error goes to
 * the caller, which keeps running on what it has in memory.
 */
import * as fs from 'node:fs';

export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w', mode);
    // A nearly full disk takes part of a write and refuses the rest on the next one: write until all went.
    const bytes = Buffer.from(text);
    for (let offset = 0; offset < bytes.length;) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/** Whether an error is the disk (or its inodes, or a quota) running out. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
