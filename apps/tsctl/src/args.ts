/** Argument parsing for tsctl: positionals, `--flag value`, `--flag=value`, `-f FILE`, `-o FORMAT`, `-n NS`. */

export class UsageError extends Error {}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string>;
}

const SHORT: Record<string, string> = { f: 'filename', o: 'output', n: 'namespace' };
const BOOLEAN = new Set(['follow', 'purge', 'help', 'all-namespaces']);
const SHORT_BOOLEAN: Record<string, string> = { F: 'follow', A: 'all-namespaces', h: 'help' };

export function parseArgs(argv: string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    if (arg === '-f' && argv[i + 1] === undefined) throw new UsageError('-f needs a file name (or - for stdin)');
    const long = arg.startsWith('--');
    const [written, inline] = (long ? arg.slice(2) : arg.slice(1)).split(/=(.*)/s, 2);
    let name = written;
    if (!long) {
      if (name === 'f' && argv[i + 1] === '-') {
        flags.set('filename', '-');
        i++;
        continue;
      }
      if (SHORT_BOOLEAN[name]) {
        flags.set(SHORT_BOOLEAN[name], 'true');
        continue;
      }
      if (!SHORT[name]) throw new UsageError(`unknown option ${arg}`);
      name = SHORT[name];
    }
    if (BOOLEAN.has(name)) {
      flags.set(name, inline ?? 'true');
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`);
    flags.set(name, value);
  }
  return { positionals, flags };
}

export function intFlag(flags: Map<string, string>, name: string, fallback: number, min = 0): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name}: expected an integer ≥ ${min}, got "${raw}"`);
  return value;
}
