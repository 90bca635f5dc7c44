/**
 * Argument parsing for tsctl. Each command declares its options, so a letter can mean different
 * things to different commands as in kubectl (`-f FILE` for apply, `-f` = follow for logs).
 * Global options (`--server URL`, `-h`) may appear anywhere.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  long: string;
  short?: string;
  /** A boolean option takes no value (`--follow`); a string option takes one. */
  boolean?: boolean;
  /** May be given several times (`--build-arg A=1 --build-arg B=2`): the values are kept, joined by REPEATED_SEPARATOR. */
  repeatable?: boolean;
  help?: string;
}

/** Joins the values of a repeatable option in the options map (a NUL never comes from a command line). */
export const REPEATED_SEPARATOR = '\0';

/** The values of a repeatable option, in order. */
export function repeatedValues(options: Map<string, string>, name: string): string[] {
  const value = options.get(name);
  return value === undefined ? [] : value.split(REPEATED_SEPARATOR);
}

export interface ParsedCommandLine {
  command?: string;
  args: string[];
  options: Map<string, string>;
}

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { long: 'server', help: 'URL of the Tide API (default: the config file, $TIDE_CONFIG or ~/.tide/config, else https://127.0.0.1:7070)' },
  { long: 'token', help: 'bearer token (default: the config file\'s)' },
  { long: 'ca-file', help: 'PEM file of the CA that signed the API\'s certificate (default: the config file\'s)' },
  { long: 'help', short: 'h', boolean: true },
];

/** `optionsOf(command)` gives the command's own options, or undefined for an unknown command. */
export function parseCommandLine(argv: string[], optionsOf: (command: string) => OptionSpec[] | undefined): ParsedCommandLine {
  const args: string[] = [];
  const options = new Map<string, string>();
  let command: string | undefined;
  let specs = GLOBAL_OPTIONS;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (token === '-' || !token.startsWith('-')) {
      if (command === undefined) {
        command = token;
        specs = [...GLOBAL_OPTIONS, ...(optionsOf(token) ?? [])];
      } else {
        args.push(token);
      }
      continue;
    }
    i = readOption(argv, i, specs, options, command);
  }
  return { command, args, options };
}

/** Reads the option at argv[i] (and its value); returns the index of the last token it used. */
function readOption(argv: string[], i: number, specs: OptionSpec[], options: Map<string, string>, command: string | undefined): number {
  const token = argv[i];
  const long = token.startsWith('--');
  const eq = token.indexOf('=');
  const written = long ? token.slice(2, eq < 0 ? undefined : eq) : token.slice(1, 2);
  const spec = specs.find((s) => (long ? s.long === written : s.short === written));
  if (!spec) throw new UsageError(`unknown option ${long ? `--${written}` : `-${written}`}${command ? ` for "${command}"` : ''} (${describeOptions(specs)})`);
  // Inline values: --name=value, -ojson, -o=json.
  let inline: string | undefined;
  if (long && eq >= 0) inline = token.slice(eq + 1);
  if (!long && token.length > 2) inline = token.slice(token[2] === '=' ? 3 : 2);
  if (spec.boolean) {
    if (inline !== undefined && !long) return readFlagBundle(token, specs, options), i;
    options.set(spec.long, inline ?? 'true');
    return i;
  }
  if (inline !== undefined) {
    setValue(options, spec, inline);
    return i;
  }
  const value = argv[i + 1];
  // "-" is a value (stdin); anything else starting with "-" is the next option, not a value.
  if (value === undefined || (value.startsWith('-') && value !== '-')) throw new UsageError(`${token} needs a value`);
  setValue(options, spec, value);
  return i + 1;
}

function setValue(options: Map<string, string>, spec: OptionSpec, value: string): void {
  const earlier = options.get(spec.long);
  options.set(spec.long, spec.repeatable && earlier !== undefined ? `${earlier}${REPEATED_SEPARATOR}${value}` : value);
}

/** `-it` = `-i -t`, as docker and kubectl read it: every letter must be a flag that takes no value. */
function readFlagBundle(token: string, specs: OptionSpec[], options: Map<string, string>): void {
  const letters = [...token.slice(1)];
  for (const letter of letters) {
    const spec = specs.find((s) => s.short === letter);
    if (!spec?.boolean) {
      const why = spec ? `-${letter} takes a value, so it cannot be combined` : `-${letter} is not an option here (${describeOptions(specs)})`;
      throw new UsageError(`${token}: -${token[1]} takes no value; ${why}`);
    }
    options.set(spec.long, 'true');
  }
}

export function describeOptions(specs: OptionSpec[]): string {
  return `options: ${specs.map((s) => (s.short ? `-${s.short}/--${s.long}` : `--${s.long}`)).join(', ')}`;
}

/** An integer option within [min, max], or the fallback when absent. */
export function intOption(options: Map<string, string>, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = options.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name}: expected an integer ${range}, got "${raw}"`);
  }
  return value;
}

export function isSet(options: Map<string, string>, name: string): boolean {
  const value = options.get(name);
  return value !== undefined && value !== 'false' && value !== '0';
}
