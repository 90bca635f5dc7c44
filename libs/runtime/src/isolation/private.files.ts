/**
 * The CVE-2021-41091 class: a host user who can traverse the state or image dir reaches the files of
 * every layer and every container's upperdir, setuid binaries included (a container's root can make
 * one in its upperdir), and runs them as root. The state dir, the image dir and the directories
 * under them that lead to layers, containers and logs are 0700, owned by root; state files and logs
 * are 0600. Below those, a layer's and an upperdir's own modes stay as the image says: containers
 * see them, host users cannot reach them.
 */
import * as fs from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** mkdir -p, then 0700 also for a directory an older version made with 0755. */
export function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  fs.chmodSync(dir, PRIVATE_DIR_MODE);
}
