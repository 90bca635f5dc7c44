/**
 * What the default seccomp filter costs, apart from the start it is part of: compiling it (once per
 * agent process, at LinuxRuntime's construction, off every start's path) and installing it (right
 * before execve: on the path). Each is measured in a fresh Node process, as an agent and the exec
 * init would pay it (cold JIT, koffi's first call); the median of a few processes. The container's
 * own init is native (libs/runtime/native/init) and pays the kernel's part alone.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { p50 } from './stats';

export interface SeccompCost {
  /** seccomp(SECCOMP_SET_MODE_FILTER) of the compiled program, after no_new_privs, µs (p50). */
  installUs: number;
  /** Compiling the profile to BPF in a fresh process, ms (p50). */
  compileMs: number;
}

const PROCESSES = 7;

const SCRIPT = `
const { linuxSys, PR_SET_NO_NEW_PRIVS } = require('@tide/syscall');
const { seccompProgramFor } = require('@tide/runtime');
const sys = linuxSys();
let t = process.hrtime.bigint();
const program = seccompProgramFor('RuntimeDefault');
const compileMs = Number(process.hrtime.bigint() - t) / 1e6;
sys.prctlValue(PR_SET_NO_NEW_PRIVS, 1, 0);
t = process.hrtime.bigint();
sys.seccompSetFilter(program);
const installUs = Number(process.hrtime.bigint() - t) / 1e3;
console.log(JSON.stringify({ compileMs, installUs }));
`;

export function measureSeccompCost(): SeccompCost {
  const samples: SeccompCost[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    // From the workspace's root, where `node -e` finds the @tide packages (bench/dist/start → root).
    const run = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', cwd: path.resolve(__dirname, '../../..') });
    if (run.status !== 0) throw new Error(`measuring the seccomp filter failed: ${run.stderr}`);
    samples.push(JSON.parse(run.stdout.trim().split('\n').at(-1)!) as SeccompCost);
  }
  return {
    installUs: Math.round(p50(samples.map((s) => s.installUs)) * 10) / 10,
    compileMs: Math.round(p50(samples.map((s) => s.compileMs)) * 100) / 100,
  };
}
