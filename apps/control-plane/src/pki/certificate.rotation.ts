/**
 * Keeps the control plane's certificates current without a restart: its HTTPS and gRPC serving
 * certificate, its client certificate (towards agents), etcd's serving, peer and client certificates
 * and the embedded registry's. It sleeps until the first of them is due (two thirds of its lifetime,
 * libs/pki renewalDecision), has the missing and due ones issued again (`renew`: ensureClusterPki,
 * ensureEtcdPki, ensureRegistryPki), then tells each user of a renewed file (`onRenewed`): the API
 * swaps its secure context, the gRPC endpoint its certificate provider, the etcd client its credentials
 * for new connections. etcd reads its files at every new connection (checked on etcd 3.4) and needs
 * nothing. Each renewal is logged with its serials; keys are never logged.
 */
import { describeCertificate, readCertificateFile, renewalDecision } from '@tide/pki';

/** A certificate file the loop watches, and what it is (for the logs). */
export interface WatchedCertificate {
  what: string;
  file: string;
}

/** One certificate renewed by a pass. */
export interface RenewedCertificate extends WatchedCertificate {
  previousSerial: string;
  serial: string;
  notAfter: Date;
}

export interface CertificateRotationOptions {
  /** The files to watch (read again on every pass: a file replaced by hand counts too). */
  certificates: () => WatchedCertificate[];
  /** Issues what is missing or due; writes the files. */
  renew: () => Promise<void>;
  /** Called with the certificates whose serial changed in a pass. */
  onRenewed: (renewed: RenewedCertificate[]) => Promise<void>;
  log: (line: string) => void;
  warn: (line: string) => void;
}

/** setTimeout's limit (about 24.8 days): a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Retry after a failed pass: a minute, sooner for short-lived certificates (a tenth of the time left). */
const RETRY_MS = 60_000;

export class CertificateRotation {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private serials = new Map<string, string>();

  constructor(private readonly options: CertificateRotationOptions) {}

  async start(): Promise<void> {
    const seen = await this.read();
    this.serials = new Map(seen.map((c) => [c.file, c.serial]));
    this.schedule(seen);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One pass: renew what is due, report what changed. Public for tests and for a manual trigger. */
  async pass(): Promise<RenewedCertificate[]> {
    await this.options.renew();
    const now = await this.read();
    const renewed: RenewedCertificate[] = [];
    for (const current of now) {
      const previousSerial = this.serials.get(current.file);
      if (previousSerial !== undefined && previousSerial !== current.serial) {
        renewed.push({ what: current.what, file: current.file, previousSerial, serial: current.serial, notAfter: current.notAfter });
      }
    }
    this.serials = new Map(now.map((c) => [c.file, c.serial]));
    for (const r of renewed) {
      this.options.log(`certificate renewed: ${r.what} (${r.file}), serial ${r.previousSerial} → ${r.serial}, valid until ${r.notAfter.toISOString()}`);
    }
    if (renewed.length > 0) await this.options.onRenewed(renewed);
    return renewed;
  }

  private schedule(seen: Array<{ renewAt: Date; notAfter: Date }>, retry = false): void {
    if (this.stopped || seen.length === 0) return;
    const now = Date.now();
    const due = Math.min(...seen.map((c) => c.renewAt.getTime())) - now;
    const soonestEnd = Math.min(...seen.map((c) => c.notAfter.getTime())) - now;
    const wait = retry ? Math.min(RETRY_MS, Math.max(1000, soonestEnd / 10)) : due;
    this.timer = setTimeout(() => void this.run(), Math.min(MAX_TIMER_MS, Math.max(wait, 1000)));
    this.timer.unref();
  }

  private async run(): Promise<void> {
    let failed = false;
    try {
      await this.pass();
    } catch (error) {
      failed = true;
      this.options.warn(`renewing certificates failed, trying again soon: ${(error as Error).message}`);
    }
    if (this.stopped) return;
    try {
      this.schedule(await this.read(), failed);
    } catch (error) {
      this.options.warn(`reading the certificates failed, trying again soon: ${(error as Error).message}`);
      this.timer = setTimeout(() => void this.run(), RETRY_MS);
      this.timer.unref();
    }
  }

  private async read(): Promise<Array<WatchedCertificate & { serial: string; renewAt: Date; notAfter: Date }>> {
    return Promise.all(this.options.certificates().map(async (c) => {
      const pem = await readCertificateFile(c.file);
      const { renewAt, notAfter } = renewalDecision(pem);
      return { ...c, serial: describeCertificate(pem).serialNumber.toLowerCase(), renewAt, notAfter };
    }));
  }
}
