/** A RUN step's container: started from the step's layers, its output passed to the build log line
 *  by line while it runs; a non-zero exit fails the build with the output's tail. */
import * as fs from 'node:fs';
import { ImageError } from '../image/image.types';
import { ContainerRuntime } from '../runtime.types';

export interface RunStepOptions {
  id: string;
  logPath: string;
  layerDirs: string[];
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
  user?: string;
  where: string;
}

/** Runs the step; resolves with the exited container's upper directory (removing it is the caller's). */
export async function runStep(runtime: ContainerRuntime, log: (line: string) => void, step: RunStepOptions): Promise<{ dir: string }> {
  const info = await runtime.start({
    id: step.id, hostname: 'build', image: 'build-step', rootfsLayers: step.layerDirs, argv: step.argv, env: step.env,
    workingDir: step.workingDir, limits: {}, labels: { 'tide.build': 'true' }, logPath: step.logPath, network: 'host',
    ...(step.user ? { user: step.user } : {}),
  });
  if (!info.upperDir) throw new ImageError('BuildFailed', `${step.where}: this runtime cannot hand over a container's layer for RUN`);
  const follower = followLog(step.logPath, log);
  const exit = await runtime.wait(step.id);
  const tail = await follower.stop();
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    throw new ImageError('BuildFailed', `${step.where}: RUN ${JSON.stringify(step.argv)} ${how}${tail ? `:\n${tail}` : ''}`);
  }
  return { dir: info.upperDir };
}

/** Polls the log file and hands out complete lines; stop() flushes the rest and returns the last lines. */
function followLog(file: string, log: (line: string) => void): { stop(): Promise<string> } {
  let offset = 0;
  let partial = '';
  const recent: string[] = [];
  const pump = () => {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      return;
    }
    const text = partial + data.subarray(offset).toString('utf8');
    offset = data.length;
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      log(`  ${line}`);
      recent.push(line);
      if (recent.length > 20) recent.shift();
    }
  };
  const timer = setInterval(pump, 100);
  return {
    async stop() {
      clearInterval(timer);
      pump();
      if (partial) {
        log(`  ${partial}`);
        recent.push(partial);
      }
      return recent.join('\n');
    },
  };
}
