/**
 * One client connection of an HTTP published port. Requests are read one at a time (pipelined ones
 * wait in `pending`), each sent whole over a keep-alive connection to the backend the port picks,
 * and the answer's bytes are copied back as they come, unchanged: the balancer only reads where
 * heads and bodies end (http.head.ts). A request whose backend fails before answering (refused
 * connect, a pooled connection the backend had just closed) is sent to another one when no byte
 * of an answer was sent yet and it is safe: always for a failed connect, for an idempotent request
 * whose bytes are still held otherwise.
 * Overload: when every replica has the port's limit of outstanding requests the request waits in
 * the port's bounded FIFO queue (full: 503 at once); one without an answer by the port's deadline is
 * answered by the balancer (http.port.ts), so no request hangs until its client gives up.
 */
import type * as net from 'node:net';
import { BUSY, Backend } from './backend.set';
import { ABORTED, CLIENT_CLOSED } from './balancer.metrics';
import { ChunkedBody } from './chunked.body';
import { BodyFraming, MAX_HEAD_BYTES, headEnd, isIdempotent, parseRequestHead, parseResponseHead } from './http.head';
import type { PublishedPort } from './published.port';

/** Request bytes kept for a retry; a larger request is sent once. */
const RETRY_BUFFER_BYTES = 64 * 1024;
/** Pipelined bytes read ahead before the client is paused. */
const READ_AHEAD_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);

/** What a session uses of its port (HttpPort, which makes it): named here so that neither file imports the other. */
export interface SessionPort extends Pick<PublishedPort, 'service' | 'backends' | 'options' | 'traffic' | 'closing' | 'log'> {
  readonly sessions: Set<HttpSession>;
  connectUpstream(backend: Backend): net.Socket;
  renewReadBuffer(): void;
  /** Queues a request until a replica has room (`retry`: its connect failed, it goes back by its arrival); false when the queue is full. */
  enqueue(session: HttpSession, retry: boolean): boolean;
  dequeue(session: HttpSession): void;
  /** A replica finished a request: the first queued one may go. */
  slotFreed(): void;
  /** The request's deadline runs from its head (`began`) until `settled`. */
  awaitAnswer(session: HttpSession): void;
  settled(session: HttpSession): void;
}

export class HttpSession {
  private pending: Buffer | null = null;
  private active = false;
  private closeAfter = false;
  private tunnel = false;
  // The exchange in flight (fields reused from one request to the next).
  private method = '';
  private upgrade = false;
  /** When the head of the request in flight arrived (performance.now()). */
  began = 0;
  /** Waiting in the port's queue for a replica with room. */
  private queued = false;
  private requestBytes: Buffer[] = [];
  private retainBytes = true;
  private requestDone = false;
  private requestRemaining = 0;
  private requestChunks?: ChunkedBody;
  private backend?: Backend;
  private upstream?: net.Socket;
  private connected = false;
  private tried: Backend[] = [];
  private attempts = 0;
  private answered = false;
  private responseHead: Buffer | null = null;
  private responseFraming: BodyFraming['kind'] = 'none';
  private responseRemaining = 0;
  private responseChunks?: ChunkedBody;
  private responseClose = false;
  private status = 0;

  constructor(private readonly port: SessionPort, private readonly client: net.Socket) {
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    client.on('end', () => this.clientEnded());
    client.on('error', () => client.destroy());
    client.on('close', () => this.clientClosed());
    client.on('drain', () => this.upstream?.resume());
  }

  /** The port is going away: idle connections close now, busy ones after their exchange. */
  shutdown(): void {
    this.closeAfter = true;
    if (!this.active) this.client.end();
  }

  private fromClient(chunk: Buffer): void {
    if (this.tunnel) {
      this.upstream?.write(chunk);
      return;
    }
    if (this.active && !this.requestDone) chunk = this.requestBody(chunk);
    if (chunk.length === 0) return;
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.active) {
      if (this.pending.length > READ_AHEAD_BYTES) this.client.pause();
    } else {
      this.nextRequest();
    }
  }

  private nextRequest(): void {
    const buffer = this.pending;
    if (!buffer || this.active || this.closeAfter) return;
    const end = headEnd(buffer);
    if (end < 0) {
      if (buffer.length > MAX_HEAD_BYTES) this.refuse(431, 'Request Header Fields Too Large', 'request head too large\n');
      return;
    }
    const parsed = parseRequestHead(buffer.toString('latin1', 0, end - 4));
    if (!parsed.ok) return this.refuse(400, 'Bad Request', `${parsed.error}\n`);
    const head = parsed.head;
    this.port.traffic.arrived++;
    this.active = true;
    this.began = performance.now();
    this.method = head.method;
    this.upgrade = head.upgrade;
    this.closeAfter = head.close;
    this.retainBytes = isIdempotent(head.method);
    this.requestBytes.length = 0;
    this.requestBytes.push(end === buffer.length ? buffer : buffer.subarray(0, end));
    this.pending = null;
    this.requestDone = head.framing.kind === 'none';
    this.requestRemaining = head.framing.kind === 'length' ? head.framing.length : 0;
    this.requestChunks = head.framing.kind === 'chunked' ? new ChunkedBody() : undefined;
    this.tried.length = 0;
    this.attempts = 0;
    const rest = end === buffer.length ? null : buffer.subarray(end);
    if (rest) {
      const after = this.requestDone ? rest : this.requestBody(rest);
      if (after.length) this.pending = after;
    }
    this.port.awaitAnswer(this);
    this.dispatch();
  }

  /** Sends (or holds) the part of `chunk` that belongs to the current request's body; returns the rest. */
  private requestBody(chunk: Buffer): Buffer {
    let used = chunk.length;
    if (this.requestChunks) {
      const end = this.requestChunks.consume(chunk);
      if (this.requestChunks.error) {
        this.abort();
        return EMPTY;
      }
      if (end >= 0) {
        used = end;
        this.requestDone = true;
      }
    } else {
      used = Math.min(this.requestRemaining, chunk.length);
      this.requestRemaining -= used;
      if (this.requestRemaining === 0) this.requestDone = true;
    }
    const body = used === chunk.length ? chunk : chunk.subarray(0, used);
    if (body.length) this.sendBody(body);
    return used === chunk.length ? EMPTY : chunk.subarray(used);
  }

  private sendBody(body: Buffer): void {
    if (!this.connected || this.retainBytes) {
      this.requestBytes.push(body);
      const held = byteLength(this.requestBytes);
      if (this.retainBytes && held > RETRY_BUFFER_BYTES && this.connected) {
        this.retainBytes = false;
        this.requestBytes.length = 0;
      }
      // Queued or connecting: hold no more than this; the client waits (flushRequest resumes it).
      if (!this.connected && held > RETRY_BUFFER_BYTES) this.client.pause();
    }
    if (this.connected && this.upstream!.write(body) === false) this.client.pause();
  }

  /**
   * Picks a backend (not one already tried) with room and sends the request over an idle or a new
   * connection; when all are full the request waits in the port's queue.
   */
  private dispatch(): void {
    const backend = this.port.backends.pickUnder(this.port.options.maxRequestsPerReplica, this.tried);
    if (backend === BUSY) {
      if (this.port.enqueue(this, this.attempts > 0)) {
        this.queued = true;
        return;
      }
      this.port.traffic.queueFull++;
      return this.refuse(503, 'Service Unavailable', `${this.port.service} is overloaded: too many requests waiting for a replica\n`, this.port.options.retryAfterSeconds);
    }
    if (!backend) {
      if (this.tried.length === 0) return this.refuse(503, 'Service Unavailable', `no ready replica of ${this.port.service}\n`);
      return this.refuse(502, 'Bad Gateway', `no replica of ${this.port.service} answered\n`);
    }
    this.attempts++;
    this.backend = backend;
    backend.outstanding++;
    this.answered = false;
    this.responseHead = null;
    const idle = backend.takeIdle();
    if (idle) {
      this.attach(idle);
      this.connected = true;
      this.flushRequest();
      return;
    }
    this.connected = false;
    this.attach(this.port.connectUpstream(backend));
  }

  /** Called by the port: a replica has room for this queued request. */
  dequeued(): void {
    this.queued = false;
    if (this.active && !this.answered && !this.backend) this.dispatch();
  }

  /**
   * Called by the port when the request still has no answer at its deadline: 503 with Retry-After
   * when no replica has it or it is idempotent (a retry is safe), else 504 (the replica may have
   * acted on it). A request whose body is still being sent to a replica is left to the upstream
   * timeout (a slow upload is not an overload).
   */
  deadlinePassed(): void {
    if (!this.active || this.answered || this.tunnel) return;
    if (this.connected && !this.requestDone) return;
    this.port.traffic.deadlineExpired++;
    const seconds = this.port.options.requestDeadlineMs / 1000;
    if (this.backend) this.port.log(`${this.port.service}: ${this.backend.replica || this.backend.key}: no answer within the ${seconds} s deadline`);
    // A reset, not a FIN: a replica that has not read the request yet (still in its accept queue or
    // socket buffer) never runs it, instead of spending its CPU on an answer nobody reads.
    if (this.connected) this.upstream?.resetAndDestroy();
    if (!this.connected || isIdempotent(this.method)) {
      return this.refuse(503, 'Service Unavailable', `${this.port.service} did not answer within ${seconds} s\n`, this.port.options.retryAfterSeconds);
    }
    this.refuse(504, 'Gateway Timeout', `${this.port.service} did not answer within ${seconds} s\n`);
  }

  private attach(socket: net.Socket): void {
    this.upstream = socket;
    (socket as UpstreamSocket).session = this;
  }

  /** Called by the port when a new upstream connection is established. */
  upstreamConnected(socket: net.Socket): void {
    if (socket !== this.upstream) return;
    // One timeout for the connection's life (answers and idling in the pool alike): no timer reset per request.
    socket.setTimeout(this.port.options.upstreamTimeoutMs);
    this.connected = true;
    this.flushRequest();
  }

  private flushRequest(): void {
    const socket = this.upstream!;
    const bytes = this.requestBytes;
    if (bytes.length === 1) socket.write(bytes[0]);
    else {
      socket.cork();
      for (const part of bytes) socket.write(part);
      socket.uncork();
    }
    if (!this.retainBytes) bytes.length = 0;
    if (this.client.isPaused() && !this.requestDone && socket.writableLength === 0) this.client.resume();
  }

  upstreamDrained(): void {
    this.client.resume();
  }

  /**
   * Bytes of the answer from the upstream connection. They live in the port's shared read buffer
   * (http.port.ts): whatever is kept past this call is copied, and a write the kernel did not take
   * at once hands the buffer over to that write.
   */
  fromUpstream(chunk: Buffer): void {
    if (this.tunnel) {
      this.toClient(chunk);
      return;
    }
    if (!this.answered) {
      this.responseHead = this.responseHead ? Buffer.concat([this.responseHead, chunk]) : chunk;
      this.readResponseHead();
      return;
    }
    this.responseBody(chunk);
  }

  private readResponseHead(): void {
    for (;;) {
      const buffer = this.responseHead!;
      const end = headEnd(buffer);
      if (end < 0) {
        if (buffer.length > MAX_HEAD_BYTES) this.upstreamFailed('answer head too large');
        else this.responseHead = Buffer.from(buffer);
        return;
      }
      const parsed = parseResponseHead(buffer.toString('latin1', 0, end - 4), this.method);
      if (!parsed.ok) return this.upstreamFailed(parsed.error);
      const head = parsed.head;
      if (head.status === 101 && this.upgrade) return this.becomeTunnel(buffer);
      if (head.status < 200) {
        // 100 Continue and other interim answers: passed on, the final one follows.
        this.toClient(buffer.subarray(0, end));
        this.responseHead = end === buffer.length ? null : Buffer.from(buffer.subarray(end));
        if (!this.responseHead) return;
        continue;
      }
      this.answered = true;
      this.port.settled(this);
      this.responseHead = null;
      this.requestBytes.length = 0;
      this.status = head.status;
      this.responseClose = head.close;
      this.responseFraming = head.framing.kind;
      this.responseRemaining = head.framing.kind === 'length' ? head.framing.length : 0;
      this.responseChunks = head.framing.kind === 'chunked' ? new ChunkedBody() : undefined;
      if (head.framing.kind === 'none') {
        this.toClient(end === buffer.length ? buffer : buffer.subarray(0, end));
        if (end < buffer.length) this.responseClose = true; // bytes past the answer: that connection is not reused
        return this.finish(true);
      }
      // The head and the body's first bytes leave in one write (one syscall, one TCP segment).
      this.responseBody(buffer, end);
      return;
    }
  }

  /** Forwards `chunk` (whose body bytes start at `from`) up to the end of the answer, and ends the exchange there. */
  private responseBody(chunk: Buffer, from = 0): void {
    let end = -1;
    if (this.responseFraming === 'length') {
      if (chunk.length - from >= this.responseRemaining) end = from + this.responseRemaining;
      else this.responseRemaining -= chunk.length - from;
    } else if (this.responseFraming === 'chunked') {
      end = this.responseChunks!.consume(chunk, from);
      if (this.responseChunks!.error) return this.upstreamFailed(`bad chunked answer: ${this.responseChunks!.error}`);
    }
    if (end < 0) {
      this.toClient(chunk);
      return;
    }
    this.toClient(end === chunk.length ? chunk : chunk.subarray(0, end));
    if (end < chunk.length) this.responseClose = true;
    this.finish(true);
  }

  private toClient(bytes: Buffer): void {
    const flushed = this.client.write(bytes);
    // Still queued: the kernel did not take it all, the write keeps the shared read buffer.
    if (this.client.writableLength > 0) this.port.renewReadBuffer();
    if (!flushed) this.upstream?.pause();
  }

  /** The exchange is over: metrics, the upstream connection back to its pool, the next request. */
  private finish(complete: boolean): void {
    this.port.settled(this);
    this.port.traffic.request(complete ? this.status : ABORTED, (performance.now() - this.began) / 1000);
    this.release(complete && !this.responseClose);
    this.active = false;
    this.upgrade = false;
    if (this.closeAfter || this.responseClose || this.port.closing) {
      this.closeAfter = true;
      this.client.end();
      return;
    }
    if (this.client.isPaused()) this.client.resume();
    if (this.pending) this.nextRequest();
  }

  private release(reusable: boolean): void {
    const socket = this.upstream;
    const backend = this.backend;
    this.upstream = undefined;
    this.backend = undefined;
    this.connected = false;
    if (!socket || !backend) return;
    backend.outstanding--;
    this.port.slotFreed();
    (socket as UpstreamSocket).session = undefined;
    if (socket.isPaused()) socket.resume();
    if (reusable && !backend.removed && !socket.destroyed) {
      backend.idle.push(socket);
    } else {
      socket.destroy();
    }
  }

  /** The upstream connection failed or closed while this exchange used it (`unreachable`: its host did not answer a connect). */
  upstreamFailed(why: string, ended = false, unreachable = false): void {
    if (this.tunnel) return void this.client.destroy();
    if (this.answered) {
      // Until-close answers end here; any other answer was cut short: so is the client's.
      if (ended && this.responseFraming === 'close') return this.finish(true);
      this.finish(false);
      this.client.destroy();
      return;
    }
    const backend = this.backend!;
    const neverConnected = !this.connected;
    // A refused connect sent nothing: safe for any request. Otherwise only an idempotent one still held whole.
    const retry = (neverConnected || (this.retainBytes && this.requestDone)) && this.attempts < this.port.backends.backends.length + 2;
    this.port.traffic.backendFailures++;
    this.port.log(`${this.port.service}: ${backend.replica || backend.key}: ${why}${retry ? '; trying another replica' : ''}`);
    if (neverConnected) {
      this.tried.push(backend);
      this.port.backends.connectFailed(backend, unreachable);
    }
    this.release(false);
    if (retry) return this.dispatch();
    this.refuse(502, 'Bad Gateway', `replica of ${this.port.service} failed: ${why}\n`);
  }

  private becomeTunnel(bytes: Buffer): void {
    this.tunnel = true;
    this.port.settled(this);
    this.port.traffic.request(101, (performance.now() - this.began) / 1000);
    const socket = this.upstream!;
    socket.setTimeout(0);
    this.toClient(bytes);
    if (this.pending) socket.write(this.pending);
    this.pending = null;
    this.client.resume();
  }

  /** Answers the current request (or an unreadable one) itself, then closes the connection. */
  private refuse(status: number, reason: string, text: string, retryAfterSeconds?: number): void {
    if (this.active) {
      this.leaveQueues();
      this.port.traffic.request(status, (performance.now() - this.began) / 1000);
      this.release(false);
    }
    this.active = false;
    this.closeAfter = true;
    this.pending = null;
    const retryAfter = retryAfterSeconds === undefined ? '' : `retry-after: ${retryAfterSeconds}\r\n`;
    this.client.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${retryAfter}connection: close\r\n\r\n${text}`);
  }

  private leaveQueues(): void {
    this.port.settled(this);
    if (!this.queued) return;
    this.queued = false;
    this.port.dequeue(this);
  }

  private abort(): void {
    if (this.active) this.finish(false);
    this.client.destroy();
  }

  private clientEnded(): void {
    // Half-closed: the request in flight still gets its answer.
    this.closeAfter = true;
    if (!this.active && !this.tunnel) this.client.end();
    if (this.tunnel) this.upstream?.end();
  }

  private clientClosed(): void {
    this.port.sessions.delete(this);
    if (this.tunnel) {
      this.upstream?.destroy();
      return;
    }
    if (!this.active) return;
    this.leaveQueues();
    this.port.traffic.request(CLIENT_CLOSED, (performance.now() - this.began) / 1000);
    this.active = false;
    this.release(false);
  }
}

/** Upstream sockets point at the session using them (none while idle in a pool). */
export type UpstreamSocket = net.Socket & { session?: HttpSession };

function byteLength(parts: Buffer[]): number {
  let total = 0;
  for (const part of parts) total += part.length;
  return total;
}
