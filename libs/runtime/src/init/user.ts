/**
 * The user a container process runs as: "uid", "uid:gid", "name" or "name:group", names looked up in
 * the image's /etc/passwd and /etc/group (read after pivot_root, so they are the image's files), as
 * runc's GetExecUser does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ProcessUser {
  uid: number;
  gid: number;
  /** Supplementary groups: those of /etc/group that list the user's name (only when no group is given). */
  groups: number[];
  /** From the passwd entry; "/" when the user has none. */
  home: string;
}

/** A start error the user can act on: names the entry and the file it was looked up in. */
export class UserLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserLookupError';
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The largest id the kernel accepts; (uid_t)-1 means "unchanged" to the set*id calls. */
const MAX_ID = 2 ** 32 - 2;
const NUMERIC = /^\d+$/;

function parseId(text: string, what: string): number {
  const id = Number(text);
  if (id > MAX_ID) throw new UserLookupError(`${what} ${text} is out of range (at most ${MAX_ID})`);
  return id;
}

/** The colon-separated lines of a file; a missing file is an empty one (images without /etc/passwd exist). */
function readTable(file: string): string[][] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(':'));
}

function passwdEntries(etc: string): PasswdEntry[] {
  return readTable(path.join(etc, 'passwd'))
    .filter((f) => f.length >= 4 && NUMERIC.test(f[2]) && NUMERIC.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

export function groupEntries(etc: string): GroupEntry[] {
  return readTable(path.join(etc, 'group'))
    .filter((f) => f.length >= 3 && NUMERIC.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

/**
 * Resolves a user spec against the image's files under `etc` (default: "/etc" after pivot_root).
 * Undefined or empty means root. A numeric uid needs no passwd entry (as with Docker); a name does.
 */
export function resolveUser(spec: string | undefined, etc = '/etc'): ProcessUser {
  const [userPart, groupPart, extra] = (spec || '0').split(':');
  if (extra !== undefined || userPart === '' || groupPart === '') {
    throw new UserLookupError(`user "${spec}" must be "uid", "uid:gid", "name" or "name:group"`);
  }
  const passwd = passwdEntries(etc);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (NUMERIC.test(userPart)) {
    uid = parseId(userPart, 'uid');
    entry = passwd.find((e) => e.uid === uid);
  } else {
    entry = passwd.find((e) => e.name === userPart);
    if (!entry) throw new UserLookupError(`user "${userPart}" not found in the image's ${path.join(etc, 'passwd')}`);
    uid = entry.uid;
  }
  const groups = groupEntries(etc);
  if (groupPart === undefined) {
    // The implicit form: the passwd entry's group, plus every group that lists the user by name.
    const supplementary = entry ? groups.filter((g) => g.members.includes(entry!.name)).map((g) => g.gid) : [];
    return { uid, gid: entry?.gid ?? 0, groups: [...new Set(supplementary)], home: entry?.home ?? '/' };
  }
  let gid: number;
  if (NUMERIC.test(groupPart)) {
    gid = parseId(groupPart, 'gid');
  } else {
    const group = groups.find((g) => g.name === groupPart);
    if (!group) throw new UserLookupError(`group "${groupPart}" not found in the image's ${path.join(etc, 'group')}`);
    gid = group.gid;
  }
  // An explicit group replaces the supplementary ones, as with runc.
  return { uid, gid, groups: [], home: entry?.home ?? '/' };
}

/** The environment with HOME from the user's passwd entry, unless the image or the spec set one. */
export function withHome(env: string[], user: ProcessUser): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${user.home}`];
}
