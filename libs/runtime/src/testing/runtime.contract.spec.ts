/** The ContainerRuntime contract against the fake and, where it can run (root, busybox), the real runtime. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBusyboxImage } from '../image/busybox.image';
import { LinuxRuntime } from '../linux.runtime';
import { FakeRuntime } from './fake.runtime';
import { runtimeContract } from './runtime.contract';

runtimeContract('FakeRuntime', async () => ({
  runtime: new FakeRuntime(),
  argvExiting: (code) => ['sh', '-c', `exit ${code}`],
  argvRunning: () => ['sleep', '3600'],
  cleanup: async () => undefined,
}), (runtime, id, code) => (runtime as FakeRuntime).exit(id, { code }));

const canRunContainers = process.getuid?.() === 0 && fs.existsSync('/bin/busybox');
if (canRunContainers) {
  // Without the warm pool every start is cold; with it, starts take inits booted ahead of time.
  for (const warmPool of [0, 2]) {
    runtimeContract(`LinuxRuntime (warm pool ${warmPool})`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-agent-contract-'));
      const imageDir = path.join(dir, 'images');
      await ensureBusyboxImage(imageDir);
      const runtime = new LinuxRuntime({ stateDir: path.join(dir, 'state'), imageDir, warmPool });
      await runtime.warmUp();
      return {
        runtime,
        argvExiting: (code) => ['sh', '-c', `exit ${code}`],
        // sh as PID 1 ignores SIGTERM without a trap: stop() must fall back to SIGKILL after the grace period.
        argvRunning: () => ['sleep', '3600'],
        cleanup: async () => {
          await runtime.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    });
  }
}
