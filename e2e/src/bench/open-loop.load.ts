/** An open-loop HTTP load for the benchmarks that count failed requests (nodeloss, chaos). */
import * as http from 'node:http';

/** Open loop: one request every 1/rate s whatever the answers, each given `timeoutMs` (default 2 s); failures counted with their reason. */
export class OpenLoopLoad {
  private timer?: NodeJS.Timeout;
  private inFlight = new Set<Promise<void>>();
  sent = 0;
  failed = 0;
  readonly failures: Record<string, number> = {};

  constructor(private readonly targets: string[], private readonly rate: number, private readonly timeoutMs = 2000) {}

  start(): void {
    this.timer = setInterval(() => {
      const [host, port] = this.targets[this.sent % this.targets.length].split(':');
      this.sent++;
      const request = this.once(host, Number(port)).finally(() => this.inFlight.delete(request));
      this.inFlight.add(request);
    }, 1000 / this.rate);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }

  private once(host: string, port: number): Promise<void> {
    return new Promise((resolve) => {
      const fail = (reason: string) => {
        this.failed++;
        this.failures[reason] = (this.failures[reason] ?? 0) + 1;
        resolve();
      };
      const request = http.get({ host, port, path: '/', agent: false, timeout: this.timeoutMs }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : fail(`status ${response.statusCode}`)));
        response.on('error', (error) => fail(error.message));
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)));
      request.on('error', (error) => fail(error.message));
    });
  }
}
