/**
 * `docker exec` over Tide's exec (the control plane's `tide-exec` upgrade to the replica's node): an
 * exec instance is created (`POST /containers/{id}/exec`, kept in this process), started on a
 * hijacked connection (`POST /exec/{id}/start`), resized (`POST /exec/{id}/resize`) and inspected
 * for its exit code (`GET /exec/{id}/json`). Without a terminal, stdout and stderr travel as Docker's
 * multiplexed frames (Tide keeps them apart); with one, raw. Client bytes are the process's stdin.
 * A detached start (`docker exec -d`) is a plain POST: the process runs on, held by this server.
 */
import { randomBytes } from 'node:crypto';
import { Duplex, Readable, Writable } from 'node:stream';
import { resizeFrame } from '@tide/api';
import { execPath, openExec, runExecSession } from '../exec/exec.client';
import { ExecRequest } from '../exec/exec.types';
import { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import { containerState, exitCode } from './docker.model';
import { STDERR, STDOUT, frames } from './docker.stream';

export interface ExecCreateBody {
  AttachStdin?: boolean;
  Tty?: boolean;
  Cmd?: string[];
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Privileged?: boolean;
}

interface ExecInstance {
  id: string;
  containerId: string;
  request: ExecRequest;
  running: boolean;
  exitCode: number | null;
  /** The Tide exec connection while it runs (resize frames go there). */
  session?: Duplex;
}

/** Finished instances are forgotten after this long (dockerd keeps them while the container lives). */
const KEEP_FINISHED_MS = 10 * 60_000;
/** A terminal's size until the client's first resize. */
const DEFAULT_SIZE = { rows: 24, cols: 80 };

export class DockerExecs {
  private readonly instances = new Map<string, ExecInstance>();

  constructor(private readonly containers: TideContainers) {}

  async create(ref: string, body: ExecCreateBody): Promise<{ Id: string }> {
    const container = await this.containers.find(ref);
    if (!containerState(container).Running || !container.replica) throw new DockerError(409, `Container ${container.id} is not running`);
    if (!body.Cmd?.length) throw new DockerError(400, 'No exec command specified');
    if (body.Privileged) throw new DockerError(501, "Tide's Docker API does not support exec with --privileged: a container's processes keep its capabilities");
    const id = randomBytes(32).toString('hex');
    const request: ExecRequest = { replica: container.replica.metadata.name, namespace: container.replica.metadata.namespace, argv: body.Cmd, stdin: Boolean(body.AttachStdin), tty: Boolean(body.Tty), ...(body.Tty ? { size: DEFAULT_SIZE } : {}),
      ...(body.Env?.length ? { env: body.Env } : {}), ...(body.WorkingDir ? { workingDir: body.WorkingDir } : {}), ...(body.User ? { user: body.User } : {}),
    };
    this.instances.set(id, { id, containerId: container.id, request, running: false, exitCode: null });
    return { Id: id };
  }

  find(id: string): ExecInstance {
    const instance = this.instances.get(id);
    if (!instance) throw new DockerError(404, `No such exec instance: ${id}`);
    return instance;
  }

  /** Runs the instance with `client` (the hijacked connection, its request body already read past) as its terminal or pipes. */
  async start(id: string, client: Duplex, head: Buffer): Promise<void> {
    const instance = this.startable(id);
    const { socket, head: sessionHead } = await openExec(this.containers.api.credentials, execPath(instance.request));
    client.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    if (head.length) client.unshift(head);
    client.on('close', () => socket.destroy());
    await this.run(instance, socket, sessionHead, {
      stdin: client, stdout: this.output(client, STDOUT, instance.request.tty), stderr: this.output(client, STDERR, instance.request.tty),
    }).finally(() => client.end());
  }

  /**
   * `docker exec -d` (a plain POST with `Detach`): answers once the process runs, which then runs on
   * without stdin, its output dropped, for as long as this server holds its exec connection.
   */
  async startDetached(id: string): Promise<void> {
    const instance = this.startable(id);
    instance.request = { ...instance.request, stdin: false };
    const { socket, head } = await openExec(this.containers.api.credentials, execPath(instance.request));
    const dropped = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    void this.run(instance, socket, head, { stdin: Readable.from([]), stdout: dropped(), stderr: dropped() }).catch(() => undefined);
  }

  private startable(id: string): ExecInstance {
    const instance = this.find(id);
    if (instance.running || instance.exitCode !== null) throw new DockerError(409, `exec instance ${id} has already been started`);
    return instance;
  }

  /** The session to its end: the instance is running meanwhile, then holds the exit code (126: it could not run). */
  private async run(instance: ExecInstance, socket: Duplex, head: Buffer, io: { stdin: Readable; stdout: Writable; stderr: Writable }): Promise<void> {
    instance.running = true;
    instance.session = socket;
    try {
      const exit = await runExecSession(socket, head, instance.request, io);
      instance.exitCode = exit.error ? 126 : exitCode(exit.code, exit.signal);
    } catch (error) {
      instance.exitCode = 126;
      throw error;
    } finally {
      instance.running = false;
      instance.session = undefined;
      socket.destroy();
      setTimeout(() => this.instances.delete(instance.id), KEEP_FINISHED_MS).unref();
    }
  }

  resize(id: string, rows: number, cols: number): void {
    const instance = this.find(id);
    if (!instance.request.tty) throw new DockerError(400, `exec instance ${id} has no terminal to resize`);
    if (instance.session) instance.session.write(resizeFrame(rows, cols));
    else instance.request.size = { rows, cols };
  }

  inspect(id: string): Record<string, unknown> {
    const instance = this.find(id);
    const [entrypoint, ...args] = instance.request.argv;
    return {
      ID: instance.id, ContainerID: instance.containerId, Running: instance.running, ExitCode: instance.exitCode,
      OpenStdin: instance.request.stdin, OpenStdout: true, OpenStderr: true, CanRemove: false, Pid: 0,
      ProcessConfig: { entrypoint, arguments: args, tty: instance.request.tty, privileged: false, user: instance.request.user ?? '' },
    };
  }

  /** The client's side of stdout or stderr: framed without a terminal, raw with one. */
  private output(client: Duplex, stream: number, tty: boolean): Writable {
    return new Writable({
      write(chunk: Buffer, _encoding, done) {
        const data = tty ? [chunk] : frames(stream, chunk);
        let ok = true;
        for (const piece of data) ok = client.write(piece);
        if (ok) done();
        else client.once('drain', () => done());
      },
    });
  }
}
