/**
 * The CVE-2019-5736 class: a container process that can reach the host binary that started it
 * (through /proc/PID/exe of the init or exec init, or by making its own command /proc/self/exe or a
 * script whose interpreter is) could open it for writing, chmod or chown it (the container's root
 * has CAP_FOWNER and CAP_CHOWN), and so take the host over when it next runs. Tide's inits are the
 * node binary the agent runs: each is spawned from a read-only bind mount of that binary, made in
 * the spawning thread's own mount namespace, so that every such path ends on a read-only mount:
 * EROFS (runc's "read-only bind" defence; runc now prefers a sealed memfd copy, too costly for a
 * 100 MB Node binary on every start). The container init's launcher makes the same three mounts in C
 * (native/tide-launch.c); this one serves the exec worker. The bind never reaches the host's namespace, and disappears
 * with the last process that uses it.
 */
import { MS_BIND, MS_NODEV, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, Sys } from '@tide/syscall';

/**
 * Call from a thread that has its own mount namespace (after unshare(CLONE_NEWNS)); returns the path
 * to spawn the init from. The namespace's mounts are made private first: a bind made under a shared
 * mount would propagate to its peers, the host's mounts included.
 */
export function sealRuntimeBinary(sys: Sys, executable: string = process.execPath): string {
  sys.mount(null, '/', null, MS_REC | MS_PRIVATE, null);
  sys.mount(executable, executable, null, MS_BIND, null);
  sys.mount(null, executable, null, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, null);
  return executable;
}
