/**
 * The audit log: one JSON line per mutating request (libs/auth formatAuditLine), appended to a 0600
 * file. Lines go out in order through one stream; a write failure is reported once, never thrown
 * into a request.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatAuditLine, type AuditRecord } from '@tide/auth';

export interface AuditSink {
  write(record: AuditRecord): void;
}

export class AuditLog implements AuditSink {
  private readonly stream: fs.WriteStream;
  private failed = false;

  constructor(readonly file: string, private readonly warn: (line: string) => void = () => undefined) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Created 0600, and tightened if an older file was looser: it names users and what they did.
    const fd = fs.openSync(file, 'a', 0o600);
    fs.fchmodSync(fd, 0o600);
    this.stream = fs.createWriteStream(file, { fd, flags: 'a' });
    this.stream.on('error', (error) => this.report(error));
  }

  write(record: AuditRecord): void {
    if (!this.stream.destroyed) this.stream.write(formatAuditLine(record));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }

  private report(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.warn(`audit log ${this.file}: ${error.message}`);
  }
}
