/**
 * A lock on the image dir shared by the agents of one machine (the local cluster's agents share one
 * image dir). Imports and builds hold it shared for their whole run; garbage collection takes it
 * exclusively and only when nobody holds it, so a layer an import has just found present (and is
 * about to reference) is never collected under it. flock(2) locks die with their process, so an
 * agent killed in the middle leaves no stale lock.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, Sys } from '@tide/syscall';

const POLL_MS = 20;

export class StoreLock {
  constructor(
    private readonly sys: Sys,
    private readonly file: string,
  ) {}

  /** Runs fn holding the lock shared; waits while a collection holds it exclusively. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    const fd = this.open();
    try {
      while (!this.sys.flock(fd, LOCK_SH | LOCK_NB)) await new Promise((r) => setTimeout(r, POLL_MS));
      return await fn();
    } finally {
      this.release(fd);
    }
  }

  /** Runs fn holding the lock exclusively, waiting for it. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const fd = this.open();
    try {
      while (!this.sys.flock(fd, LOCK_EX | LOCK_NB)) await new Promise((r) => setTimeout(r, POLL_MS));
      return await fn();
    } finally {
      this.release(fd);
    }
  }

  /** Runs fn holding the lock exclusively if nobody holds it now; undefined otherwise. */
  async tryExclusive<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const fd = this.open();
    try {
      if (!this.sys.flock(fd, LOCK_EX | LOCK_NB)) return undefined;
      return await fn();
    } finally {
      this.release(fd);
    }
  }

  /** Its own open file description each time: flock excludes descriptions, also within one process. */
  private open(): number {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    return fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o600);
  }

  private release(fd: number): void {
    try {
      this.sys.flock(fd, LOCK_UN);
    } finally {
      fs.closeSync(fd);
    }
  }
}
