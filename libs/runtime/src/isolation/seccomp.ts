/**
 * The seccomp filter a container gets, compiled once per runtime process and handed to the init in
 * its config as BPF bytes (to the exec init base64-encoded, in its JSON): compiled in the warm agent,
 * not in every init.
 */
import { RuntimeError, SeccompProfileType } from '../runtime.types';
import { SeccompError, compileDefaultProfile, encodeProgram } from './seccomp.filter';

let compiled: Buffer | undefined;

/** The filter for `profile` as BPF (struct sock_filter[]), or undefined for Unconfined. */
export function seccompProgramFor(profile: SeccompProfileType | undefined): Buffer | undefined {
  if (profile === 'Unconfined') return undefined;
  return (compiled ??= encodeProgram(compileDefaultProfile(process.arch)));
}

/** The InitConfig's `seccomp`; an architecture without a syscall table fails the start, saying so. */
export function seccompConfig(profile: SeccompProfileType | undefined): { seccomp?: Buffer } {
  try {
    const seccomp = seccompProgramFor(profile);
    return seccomp ? { seccomp } : {};
  } catch (error) {
    if (error instanceof SeccompError) throw new RuntimeError('InvalidSpec', error.message);
    throw error;
  }
}

/** Compiles the default filter now (a failure is reported by the first start that needs it). */
export function precompileSeccomp(): void {
  try {
    seccompProgramFor('RuntimeDefault');
  } catch {
    /* seccompConfig says why, at start */
  }
}
