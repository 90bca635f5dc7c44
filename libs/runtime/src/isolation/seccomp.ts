/**
 * The seccomp filter a container gets, compiled once per runtime process and handed to the init
 * (and the exec init) in its config, base64-encoded: compiling in every init would put a few
 * milliseconds of cold JavaScript on each start's path; decoding takes microseconds.
 */
import { RuntimeError, SeccompProfileType } from '../runtime.types';
import { SeccompError, compileDefaultProfile, encodeProgram } from './seccomp.filter';

let compiled: string | undefined;

/** The filter for `profile` as base64 BPF, or undefined for Unconfined. */
export function seccompProgramFor(profile: SeccompProfileType | undefined): string | undefined {
  if (profile === 'Unconfined') return undefined;
  return (compiled ??= encodeProgram(compileDefaultProfile(process.arch)).toString('base64'));
}

/** The InitConfig's `seccomp`; an architecture without a syscall table fails the start, saying so. */
export function seccompConfig(profile: SeccompProfileType | undefined): { seccomp?: string } {
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
