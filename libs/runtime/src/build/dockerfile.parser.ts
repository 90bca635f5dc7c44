/**
 * The Dockerfile subset Tide builds: FROM, COPY, ADD, RUN, ENV, WORKDIR, USER, EXPOSE, CMD,
 * ENTRYPOINT. Pure: text in, instructions out; every error names its line.
 */

export type Instruction =
  | { kind: 'FROM'; line: number; text: string; image: string }
  | { kind: 'COPY' | 'ADD'; line: number; text: string; sources: string[]; dest: string; chown?: string }
  | { kind: 'RUN' | 'CMD' | 'ENTRYPOINT'; line: number; text: string; argv: string[] }
  | { kind: 'ENV'; line: number; text: string; pairs: [string, string][] }
  | { kind: 'WORKDIR'; line: number; text: string; path: string }
  | { kind: 'USER'; line: number; text: string; user: string }
  | { kind: 'EXPOSE'; line: number; text: string; ports: string[] };

export class DockerfileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`Dockerfile line ${line}: ${message}`);
    this.name = 'DockerfileError';
  }
}

const KEYWORDS = ['FROM', 'COPY', 'ADD', 'RUN', 'ENV', 'WORKDIR', 'USER', 'EXPOSE', 'CMD', 'ENTRYPOINT'] as const;

/** Joins continuation lines (a trailing backslash) and drops comments and blank lines. */
export function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment and blank lines are dropped also inside a continued instruction, as Docker does.
    if (trimmed.startsWith('#') || trimmed === '') return;
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, '') : raw;
    pending = pending ? { line: pending.line, text: `${pending.text}${piece}` } : { line: index + 1, text: piece };
    if (!continued) {
      if (pending.text.trim()) out.push({ line: pending.line, text: pending.text.trim() });
      pending = undefined;
    }
  });
  if (pending?.text.trim()) out.push({ line: pending.line, text: pending.text.trim() });
  return out;
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions = logicalLines(text).map(({ line, text: body }) => parseInstruction(line, body));
  if (instructions.length === 0) throw new DockerfileError(1, 'the Dockerfile has no instructions');
  if (instructions[0].kind !== 'FROM') throw new DockerfileError(instructions[0].line, 'the first instruction must be FROM');
  const second = instructions.slice(1).find((i) => i.kind === 'FROM');
  if (second) throw new DockerfileError(second.line, 'multi-stage builds (a second FROM) are not supported');
  return instructions;
}

function parseInstruction(line: number, body: string): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(body)!;
  const keyword = match[1].toUpperCase();
  const rest = match[2].trim();
  if (!(KEYWORDS as readonly string[]).includes(keyword)) {
    throw new DockerfileError(line, `unknown instruction "${match[1]}" (supported: ${KEYWORDS.join(', ')})`);
  }
  const kind = keyword as (typeof KEYWORDS)[number];
  const text = `${kind} ${rest}`;
  if (!rest) throw new DockerfileError(line, `${kind} needs arguments`);
  switch (kind) {
    case 'FROM': {
      const words = rest.split(/\s+/);
      if (words.length !== 1 && !(words.length === 3 && words[1].toUpperCase() === 'AS')) throw new DockerfileError(line, 'FROM takes an image (and optionally AS name)');
      return { kind, line, text, image: words[0] };
    }
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind, line, text, argv: jsonArray(line, rest) ?? ['/bin/sh', '-c', rest] };
    case 'COPY':
    case 'ADD':
      return parseCopy(kind, line, text, rest);
    case 'ENV':
      return { kind, line, text, pairs: parseEnv(line, rest) };
    case 'WORKDIR':
      return { kind, line, text, path: rest };
    case 'USER':
      if (/\s/.test(rest)) throw new DockerfileError(line, 'USER takes one user[:group]');
      return { kind, line, text, user: rest };
    case 'EXPOSE':
      return { kind, line, text, ports: rest.split(/\s+/).map((port) => exposedPort(line, port)) };
  }
}

/** The JSON (exec) form: a JSON array of strings. Undefined when the text is the shell form. */
function jsonArray(line: number, rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    return undefined; // Docker treats a malformed JSON form as the shell form too
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new DockerfileError(line, 'the JSON form must be an array of strings');
  }
  if (parsed.length === 0) throw new DockerfileError(line, 'the JSON form must not be empty');
  return parsed;
}

function parseCopy(kind: 'COPY' | 'ADD', line: number, text: string, rest: string): Instruction {
  let chown: string | undefined;
  let args = rest;
  for (let flag = /^--(\S+?)=(\S+)\s+/.exec(args); flag; flag = /^--(\S+?)=(\S+)\s+/.exec(args)) {
    if (flag[1] !== 'chown') throw new DockerfileError(line, `${kind} --${flag[1]} is not supported (only --chown)`);
    chown = flag[2];
    args = args.slice(flag[0].length);
  }
  const words = jsonArray(line, args) ?? args.split(/\s+/);
  if (words.length < 2) throw new DockerfileError(line, `${kind} needs at least one source and a destination`);
  return { kind, line, text, sources: words.slice(0, -1), dest: words[words.length - 1], ...(chown ? { chown } : {}) };
}

/** `ENV K=V K2="v 2"` or the legacy `ENV K value with spaces`. */
function parseEnv(line: number, rest: string): [string, string][] {
  if (!/^[^\s=]+=/.test(rest)) {
    const legacy = /^(\S+)\s+(.*)$/s.exec(rest);
    if (!legacy) throw new DockerfileError(line, 'ENV needs KEY=VALUE (or KEY VALUE)');
    return [[legacy[1], legacy[2]]];
  }
  const pairs: [string, string][] = [];
  for (const word of shellWords(line, rest)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new DockerfileError(line, `ENV expects KEY=VALUE, got "${word}"`);
    pairs.push([word.slice(0, eq), word.slice(eq + 1)]);
  }
  return pairs;
}

/** Splits on unquoted whitespace; double and single quotes group, a backslash escapes. */
export function shellWords(line: number, text: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new DockerfileError(line, `unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

function exposedPort(line: number, port: string): string {
  const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(port);
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 65535) throw new DockerfileError(line, `EXPOSE: "${port}" is not a port (8080 or 8080/udp)`);
  return `${Number(match[1])}/${(match[2] ?? 'tcp').toLowerCase()}`;
}

/** $VAR and ${VAR} from the build's environment, as Docker substitutes them in ENV, WORKDIR, USER, COPY, ADD, EXPOSE. */
export function expandVariables(text: string, env: Record<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, braced?: string, bare?: string) =>
    all === '\\$' ? '$' : (env[braced ?? bare ?? ''] ?? ''),
  );
}
