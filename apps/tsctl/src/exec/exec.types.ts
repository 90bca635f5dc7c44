/** Shapes of the exec client (the wire format is libs/api's exec.protocol.ts). */

export interface TerminalSize {
  rows: number;
  cols: number;
}

export interface ExecRequest {
  replica: string;
  namespace: string;
  argv: string[];
  /** -i: forward stdin, and send EOF when it ends. */
  stdin: boolean;
  /** -t: a terminal for the remote process. */
  tty: boolean;
  size?: TerminalSize;
  /** NAME=VALUE pairs added to the container's environment. */
  env?: string[];
  /** Default: the container's working directory. */
  workingDir?: string;
  /** Default: the container's user. */
  user?: string;
}
