/**
 * The privileges a container process keeps: Docker's default capability set, every other capability
 * dropped from the bounding set, no ambient or inheritable capabilities, and no_new_privs.
 */
import {
  PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, Sys,
} from '@tide/syscall';
import { ProcessUser } from './user';

/** Capability numbers from linux/capability.h, for the ones a container keeps. */
const CAPABILITY_NUMBERS = {
  CHOWN: 0, DAC_OVERRIDE: 1, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8,
  NET_BIND_SERVICE: 10, NET_RAW: 13, SYS_CHROOT: 18, MKNOD: 27, AUDIT_WRITE: 29, SETFCAP: 31,
} as const;

export type CapabilityName = keyof typeof CAPABILITY_NUMBERS;

/** Docker's default set (moby's oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** The set as a bit mask (0xa80425fb, what `CapBnd` shows in a Docker container). */
export function capabilityMask(names: readonly CapabilityName[]): bigint {
  return names.reduce((mask, name) => mask | (1n << BigInt(CAPABILITY_NUMBERS[name])), 0n);
}

export const DEFAULT_CAPABILITY_MASK = capabilityMask(DEFAULT_CAPABILITIES);

/**
 * Becomes `user` with the default capabilities, on the calling thread (the one that will execve).
 * The order is forced by what each step needs:
 * 1. setgroups, setresgid: changing groups needs CAP_SETGID, which a non-root uid no longer has
 *    once setresuid has run; so the groups change first, while the thread is still uid 0.
 * 2. PR_CAPBSET_DROP of every capability outside the set: needs CAP_SETPCAP in the effective set,
 *    which a change to a non-zero uid clears; so before setresuid as well.
 * 3. PR_SET_KEEPCAPS, setresuid, keepcaps off: without keepcaps the kernel empties the permitted
 *    set when all uids leave 0, and capset could then not put anything back; with it, capset below
 *    decides the sets for root and non-root alike (as runc does). Keepcaps is cleared at once so that
 *    it cannot outlive this sequence.
 * 4. capset: effective = permitted = the default set, inheritable empty (a non-empty inheritable set
 *    would let file-inheritable capabilities reach a non-root program: CVE-2022-24769). At execve the
 *    kernel then gives uid 0 its bounding set and any other uid nothing, as in Docker.
 * 5. Ambient cleared: ambient capabilities are the one way capabilities survive an execve into a
 *    non-root program.
 * 6. no_new_privs last: from here on no execve can add privileges (setuid binaries, file capabilities).
 */
export function dropPrivileges(sys: Sys, user: ProcessUser, lastCapability: number, keep = DEFAULT_CAPABILITY_MASK): void {
  sys.setgroups(user.groups);
  sys.setresgid(user.gid, user.gid, user.gid);
  for (let cap = 0; cap <= lastCapability; cap++) {
    if (((keep >> BigInt(cap)) & 1n) === 0n) sys.prctlValue(PR_CAPBSET_DROP, cap, 0);
  }
  sys.prctlValue(PR_SET_KEEPCAPS, 1, 0);
  sys.setresuid(user.uid, user.uid, user.uid);
  sys.prctlValue(PR_SET_KEEPCAPS, 0, 0);
  sys.capset({ effective: keep, permitted: keep, inheritable: 0n });
  sys.prctlValue(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);
  sys.prctlValue(PR_SET_NO_NEW_PRIVS, 1, 0);
}
