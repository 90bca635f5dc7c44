/**
 * The Dockerfile subset Tide builds: FROM (several, `AS name`: multi-stage), ARG (also before the
 * first FROM), COPY (`--from=stage|index|image`), ADD, RUN, ENV, LABEL, VOLUME, WORKDIR, USER,
 * EXPOSE, CMD, ENTRYPOINT. Pure: text in, instructions out; every error names its line.
 */

export type Instruction =
  | { kind: 'FROM'; line: number; text: string; image: string; stage?: string }
  | { kind: 'COPY' | 'ADD'; line: number; text: string; sources: string[]; dest: string; chown?: string; from?: string }
  | { kind: 'ARG'; line: number; text: string; args: { name: string; value?: string }[] }
  | { kind: 'LABEL'; line: number; text: string; pairs: [string, string][] }
  | { kind: 'VOLUME'; line: number; text: string; paths: string[] }
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

const KEYWORDS = ['FROM', 'ARG', 'COPY', 'ADD', 'RUN', 'ENV', 'LABEL', 'VOLUME', 'WORKDIR', 'USER', 'EXPOSE', 'CMD', 'ENTRYPOINT'] as const;

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
  // Only ARG may come before the first FROM (its values serve FROM lines).
  const first = instructions.find((i) => i.kind !== 'ARG');
  if (first?.kind !== 'FROM') throw new DockerfileError(first?.line ?? instructions[0].line, 'the first instruction must be FROM (only ARG may come before it)');
  const stages = new Set<string>();
  for (const instruction of instructions) {
    if (instruction.kind !== 'FROM' || !instruction.stage) continue;
    if (stages.has(instruction.stage)) throw new DockerfileError(instruction.line, `stage name "${instruction.stage}" is used twice`);
    stages.add(instruction.stage);
  }
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
      if (words.length === 3 && !/^[a-z][a-z0-9._-]*$/i.test(words[2])) throw new DockerfileError(line, `"${words[2]}" is not a stage name (a letter, then letters, digits, . _ -)`);
      return { kind, line, text, image: words[0], ...(words.length === 3 ? { stage: words[2].toLowerCase() } : {}) };
    }
    case 'ARG':
      return { kind, line, text, args: shellWords(line, rest).map((word) => argOf(line, word)) };
    case 'LABEL':
      return { kind, line, text, pairs: keyValues(line, 'LABEL', rest) };
    case 'VOLUME': {
      const paths = jsonArray(line, rest) ?? rest.split(/\s+/);
      if (paths.some((p) => p === '')) throw new DockerfileError(line, 'VOLUME paths must not be empty');
      return { kind, line, text, paths };
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
  let from: string | undefined;
  let args = rest;
  for (let flag = /^--(\S+?)=(\S+)\s+/.exec(args); flag; flag = /^--(\S+?)=(\S+)\s+/.exec(args)) {
    if (flag[1] === 'chown') chown = flag[2];
    else if (flag[1] === 'from' && kind === 'COPY') from = flag[2].toLowerCase();
    else throw new DockerfileError(line, `${kind} --${flag[1]} is not supported (only --chown${kind === 'COPY' ? ' and --from' : ''})`);
    args = args.slice(flag[0].length);
  }
  const words = jsonArray(line, args) ?? args.split(/\s+/);
  if (words.length < 2) throw new DockerfileError(line, `${kind} needs at least one source and a destination`);
  return { kind, line, text, sources: words.slice(0, -1), dest: words[words.length - 1], ...(chown ? { chown } : {}), ...(from ? { from } : {}) };
}

/** `NAME` or `NAME=default`. */
function argOf(line: number, word: string): { name: string; value?: string } {
  const eq = word.indexOf('=');
  const name = eq < 0 ? word : word.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DockerfileError(line, `ARG: "${name}" is not a variable name`);
  return eq < 0 ? { name } : { name, value: word.slice(eq + 1) };
}

/** `ENV K=V K2="v 2"` or the legacy `ENV K value with spaces`. */
function parseEnv(line: number, rest: string): [string, string][] {
  if (!/^[^\s=]+=/.test(rest)) {
    const legacy = /^(\S+)\s+(.*)$/s.exec(rest);
    if (!legacy) throw new DockerfileError(line, 'ENV needs KEY=VALUE (or KEY VALUE)');
    return [[legacy[1], legacy[2]]];
  }
  return keyValues(line, 'ENV', rest);
}

/** `K=V K2="v 2"` (ENV, LABEL). */
function keyValues(line: number, kind: string, rest: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const word of shellWords(line, rest)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new DockerfileError(line, `${kind} expects KEY=VALUE, got "${word}"`);
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
