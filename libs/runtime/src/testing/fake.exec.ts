/**
 * Exec sessions of the FakeRuntime: a few scripted commands that behave like their busybox namesakes
 * closely enough for the agent's exec endpoint to be tested end to end through a socket (stdin
 * echoed by `cat`, stderr apart from stdout without a tty and merged with one, `exit N`, the terminal
 * size seen by `stty size`, a signal ending `sleep`).
 */
import { PassThrough } from 'node:stream';
import { ExecOptions, ExecSession, TerminalSize } from '../runtime.types';

export interface FakeProcess {
  argv: string[];
  env: Record<string, string>;
  hostname: string;
  tty: boolean;
  stdin: NodeJS.ReadableStream;
  out(text: string | Buffer): void;
  /** With a tty, stderr is the terminal too. */
  err(text: string | Buffer): void;
  size(): TerminalSize | undefined;
  /** Aborted (reason = the signal name) when the session is killed. */
  killed: AbortSignal;
}

/** Runs until done and resolves with the exit code. */
export type FakeCommand = (process: FakeProcess) => Promise<number>;

export interface FakeExecSession extends ExecSession {
  argv: string[];
  tty: boolean;
  /** Terminal sizes in the order they were set (the initial one first). */
  sizes: TerminalSize[];
  signals: string[];
}

export const FAKE_COMMANDS: Record<string, FakeCommand> = {
  echo: async (p) => (p.out(`${p.argv.slice(1).join(' ')}\n`), 0),
  hostname: async (p) => (p.out(`${p.hostname}\n`), 0),
  true: async () => 0,
  false: async () => 1,
  exit: async (p) => Number(p.argv[1] ?? 0),
  cat: async (p) => {
    for await (const chunk of p.stdin) p.out(chunk as Buffer);
    return 0;
  },
  stty: async (p) => {
    const size = p.size();
    if (!p.tty || !size) return (p.err('stty: standard input: Not a tty\n'), 1);
    return (p.out(`${size.rows} ${size.cols}\n`), 0);
  },
  sleep: (p) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(0), Number(p.argv[1] ?? 0) * 1000);
    p.killed.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }),
  /** `sh -c "a; b; exit 3"`: the commands above, one after the other; the last code wins. */
  sh: async (p) => {
    const script = p.argv[1] === '-c' ? p.argv[2] ?? '' : '';
    let code = 0;
    for (const statement of script.split(';').map((s) => s.trim()).filter(Boolean)) {
      const argv = statement.split(/\s+/);
      code = await runCommand({ ...p, argv }, FAKE_COMMANDS);
      if (argv[0] === 'exit') break;
    }
    return code;
  },
};

function runCommand(process: FakeProcess, commands: Record<string, FakeCommand> | Map<string, FakeCommand>): Promise<number> {
  const command = commands instanceof Map ? commands.get(process.argv[0]) : commands[process.argv[0]];
  if (!command) {
    process.err(`fake exec: ${process.argv[0]}: not found\n`);
    return Promise.resolve(127);
  }
  return command(process);
}

export function startFakeExec(options: ExecOptions, container: { hostname: string; pid: number }, commands: Map<string, FakeCommand>): FakeExecSession {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = options.tty ? undefined : new PassThrough();
  const sizes: TerminalSize[] = options.tty && options.size ? [options.size] : [];
  const signals: string[] = [];
  const killed = new AbortController();
  const process: FakeProcess = {
    argv: options.argv, env: options.env ?? {}, hostname: container.hostname, tty: options.tty, stdin,
    out: (text) => void stdout.write(text),
    err: (text) => void (stderr ?? stdout).write(text),
    size: () => sizes.at(-1),
    killed: killed.signal,
  };
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    let done = false;
    const finish = (status: { code: number | null; signal: string | null }) => {
      if (done) return;
      done = true;
      stdout.end();
      stderr?.end();
      resolve(status);
    };
    killed.signal.addEventListener('abort', () => finish({ code: null, signal: String(killed.signal.reason) }), { once: true });
    runCommand(process, commands).then(
      (code) => finish({ code, signal: null }),
      (error: Error) => (process.err(`${error.message}\n`), finish({ code: 1, signal: null })),
    );
  });
  return {
    pid: container.pid, argv: options.argv, tty: options.tty, sizes, signals,
    stdin, stdout, ...(stderr ? { stderr } : {}), exited,
    resize: (size) => void (options.tty && sizes.push(size)),
    kill: (signal) => {
      signals.push(signal);
      killed.abort(signal);
    },
  };
}
