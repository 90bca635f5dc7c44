/**
 * The build context: the directory COPY and ADD read from, minus what .dockerignore excludes.
 * Sources are resolved inside it only (`COPY ../x` is refused); their content hash is the cache key
 * of the step.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageError } from '../image/image.types';

export interface ContextEntry {
  /** Relative to the source it was found under ("" for the source itself). */
  rel: string;
  abs: string;
  stat: fs.Stats;
}

interface IgnoreRule {
  regex: RegExp;
  exclude: boolean;
}

export class BuildContext {
  private constructor(
    readonly root: string,
    private readonly rules: IgnoreRule[],
  ) {}

  /** A tree read as it is (an earlier stage's files): no .dockerignore applies. */
  static plain(root: string): BuildContext {
    return new BuildContext(path.resolve(root), []);
  }

  static async open(root: string): Promise<BuildContext> {
    const text = await fs.promises.readFile(path.join(root, '.dockerignore'), 'utf8').catch(() => '');
    return new BuildContext(path.resolve(root), parseDockerignore(text));
  }

  /** A path (relative to the context) excluded by .dockerignore: the last matching rule wins; a
   *  rule matching a directory covers everything under it. */
  isIgnored(rel: string): boolean {
    const parts = rel.split('/');
    let ignored = false;
    for (const rule of this.rules) {
      for (let k = 1; k <= parts.length; k++) {
        if (rule.regex.test(parts.slice(0, k).join('/'))) {
          ignored = rule.exclude;
          break;
        }
      }
    }
    return ignored;
  }

  /** Context paths named by a COPY/ADD source (a path, or a wildcard in its last component). */
  async resolve(source: string, where: string): Promise<string[]> {
    const clean = path.posix.normalize(`/${source}`).slice(1).replace(/\/$/, '');
    if (source.split('/').includes('..') && path.posix.normalize(source).startsWith('..')) {
      throw new ImageError('Invalid', `${where}: source "${source}" is outside the build context`);
    }
    const dir = path.posix.dirname(clean) === '.' ? '' : path.posix.dirname(clean);
    const base = path.posix.basename(clean);
    let found: string[];
    if (/[*?[]/.test(base)) {
      const regex = globRegex(base);
      const names = await fs.promises.readdir(path.join(this.root, dir)).catch(() => [] as string[]);
      found = names.filter((n) => regex.test(n)).sort().map((n) => (dir ? `${dir}/${n}` : n));
    } else {
      found = fs.existsSync(path.join(this.root, clean)) || clean === '' ? [clean] : [];
    }
    found = found.filter((rel) => rel === '' || !this.isIgnored(rel));
    for (const rel of found) {
      // A symlinked parent (`link -> /etc`, then `COPY link/passwd`) must not reach out of the context.
      const parent = fs.realpathSync(path.join(this.root, path.posix.dirname(rel)));
      if (parent !== this.root && !parent.startsWith(`${this.root}${path.sep}`)) {
        throw new ImageError('Invalid', `${where}: source "${source}" is outside the build context (through a symlink)`);
      }
    }
    if (found.length === 0) throw new ImageError('Invalid', `${where}: source "${source}" not found in the build context ${this.root}`);
    return found;
  }

  /** The source and, for a directory, everything under it that is not ignored, sorted, parents first. */
  async *walk(source: string): AsyncGenerator<ContextEntry> {
    const abs = path.join(this.root, source);
    const stat = await fs.promises.lstat(abs);
    yield { rel: '', abs, stat };
    if (!stat.isDirectory()) return;
    const visit = async function* (this: BuildContext, rel: string): AsyncGenerator<ContextEntry> {
      for (const name of (await fs.promises.readdir(path.join(abs, rel))).sort()) {
        const childRel = rel ? `${rel}/${name}` : name;
        const contextRel = source ? `${source}/${childRel}` : childRel;
        if (this.isIgnored(contextRel)) continue;
        const childAbs = path.join(abs, childRel);
        const childStat = await fs.promises.lstat(childAbs);
        yield { rel: childRel, abs: childAbs, stat: childStat };
        if (childStat.isDirectory()) yield* visit.call(this, childRel);
      }
    };
    yield* visit.call(this, '');
  }

  /** Content hash of sources: names, types, modes and contents (not times, as Docker's cache). */
  async hash(sources: string[]): Promise<string> {
    const hash = createHash('sha256');
    for (const source of sources) {
      for await (const { rel, abs, stat } of this.walk(source)) {
        hash.update(`${source}\0${rel}\0${stat.mode}\0`);
        if (stat.isSymbolicLink()) hash.update(`link\0${await fs.promises.readlink(abs)}\0`);
        else if (stat.isFile()) for await (const chunk of fs.createReadStream(abs)) hash.update(chunk as Buffer);
      }
    }
    return hash.digest('hex');
  }
}

function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const exclude = !line.startsWith('!');
      const pattern = path.posix.normalize((exclude ? line : line.slice(1)).trim().replace(/^\/+/, '')).replace(/\/$/, '');
      return { regex: globRegex(pattern), exclude };
    });
}

/** Go filepath.Match-style globs plus `**` (any number of directories). */
function globRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      out += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
