/**
 * The local terminal of `tsctl exec -it`, behind an interface so that the raw-mode logic can be tested
 * with a fake: raw mode while the session runs (keys, Ctrl-C included, go to the remote process),
 * the size at start and on every SIGWINCH, and the terminal restored however tsctl ends.
 */
import { TerminalSize } from './exec.types';

export interface Terminal {
  /** stdin is a terminal (raw mode and sizes make sense). */
  readonly isTTY: boolean;
  setRawMode(raw: boolean): void;
  size(): TerminalSize | undefined;
  /** Calls the listener after each resize; returns the unsubscribe. */
  onResize(listener: (size: TerminalSize) => void): () => void;
}

/** Signals that end tsctl while the terminal may be raw: restore it first, exit as the shell would. */
const FATAL_SIGNALS: [NodeJS.Signals, number][] = [['SIGTERM', 15], ['SIGHUP', 1], ['SIGQUIT', 3]];

export function processTerminal(): Terminal {
  const stdin = process.stdin as NodeJS.ReadStream;
  const stdout = process.stdout as NodeJS.WriteStream;
  let raw = false;
  const restore = () => {
    if (raw && stdin.isTTY) stdin.setRawMode(false);
    raw = false;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.exit(128 + (FATAL_SIGNALS.find(([name]) => name === signal)?.[1] ?? 0));
  };
  return {
    isTTY: Boolean(stdin.isTTY),
    setRawMode(next: boolean) {
      if (!stdin.isTTY || next === raw) return;
      stdin.setRawMode(next);
      raw = next;
      for (const [signal] of FATAL_SIGNALS) {
        if (next) process.on(signal, onSignal);
        else process.off(signal, onSignal);
      }
      if (next) process.once('exit', restore);
      else process.off('exit', restore);
    },
    size: () => (stdout.isTTY && stdout.columns && stdout.rows ? { rows: stdout.rows, cols: stdout.columns } : undefined),
    onResize(listener) {
      // Node turns SIGWINCH into 'resize' on a TTY stdout, with columns and rows already updated.
      const handler = () => {
        const size = this.size();
        if (size) listener(size);
      };
      stdout.on('resize', handler);
      return () => stdout.off('resize', handler);
    },
  };
}
