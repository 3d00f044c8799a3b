import fs from 'node:fs';
import net from 'node:net';
import { IPCModule } from '@achrinza/node-ipc';
import { CacheError, ErrorCodes, type ErrorShape } from '../errors.js';
import type { Log } from '../logger.js';
import { resolveFlowLimits, type FlowLimits } from './flowLimits.js';
import { createFrameReader, type FrameReader } from './frameReader.js';
import { ensureSocketDir, fileIdentity, probeSocket, removeIfOurs, unlinkIfPresent } from './socketFile.js';
import { encodeFrame, isRecord, JSON_BLANK, newIpc, takeOverReads } from './wire.js';

/**
 * The one module that knows how bytes move: node-ipc's wire format (`{"type","data"}` JSON + `\f`)
 * over a Unix socket. Swap the transport here and nothing else changes.
 *
 * What node-ipc does and what we do (see docs/protocol.md, "Implementation notes"):
 *  - node-ipc (`@achrinza/node-ipc` 10.1.11, pinned) creates the server, listens, accepts, tracks
 *    sockets, and opens client sockets (`connectTo`, retries off);
 *  - its own frame parser is detached from every socket and replaced by `createFrameReader`, because
 *    it (a) crashes the process on a frame whose `type` is not a string (`5\f` → TypeError thrown
 *    from a socket 'data' handler), (b) buffers an unfinished frame without limit, (c) only parses
 *    when a read happens to end on `\f`, and (d) dispatches by client-chosen `type` onto its own
 *    event names ('connect', 'close', 'error');
 *  - we serialise replies ourselves (identical bytes to node-ipc's `emit`) so a result that cannot be
 *    serialised becomes an error reply instead of an exception;
 *  - connections are counted, capped and closed here: node-ipc's cap (net.Server.maxConnections, which
 *    drops the excess without a word) is lifted, and its per-close handler, which destroys the first
 *    socket that is no longer readable (a half-closed peer still awaiting replies), is removed.
 *
 * Size: this is the server side only (the client is clientConnection.ts, the wire format wire.ts, the
 * bounds flowLimits.ts). It stays one module because accepting, reading, replying, pausing and closing
 * all read and write the same per-server state (the peers, the requests in flight in total, the peers
 * backed up on unsent replies); split apart, every piece would need all of it.
 */

export interface ServerConnection {
  /** Unique per server, increasing from 1. */
  readonly id: number;
  /** Sends one message; silently dropped once the connection is closing. Never throws. */
  send(type: 'response' | 'progress', data: Record<string, unknown>): void;
  /** Flushes what was sent, then closes. */
  close(): void;
}

export interface ServerOptions {
  socketPath: string;
  /** Largest frame (UTF-8 bytes before the `\f`) accepted; a bigger one gets E_BAD_FRAME and the connection is closed. */
  frameLimitBytes: number;
  logger?: Pick<Log, 'warn' | 'debug'>;
  /** Most simultaneous connections (default 1024); shorthand for `limits.maxConnections`. */
  maxConnections?: number;
  /** Flow bounds (flowLimits.ts); defaults for what is left out. */
  limits?: Partial<FlowLimits>;
  /** True while `conn` holds something beyond the socket (a lease): it is then never closed for being idle. */
  holds?(conn: ServerConnection): boolean;
  /** `raw` is the `data` of a `type: "request"` message, unvalidated. Exceptions become E_INTERNAL replies. */
  onRequest(raw: unknown, conn: ServerConnection): void;
  onConnect?(conn: ServerConnection): void;
  onDisconnect?(conn: ServerConnection): void;
}

export type SocketFileCheck = 'ok' | 'restored' | 'occupied';

export interface TransportServer {
  readonly socketPath: string;
  /**
   * Stops accepting (synchronously), ends every connection after what was sent to it (each is destroyed
   * at most CLOSE_GRACE_MS later if its peer does not read) and removes the socket file.
   */
  close(): Promise<void>;
  /** Resolves once no connection is open; after close() that is within CLOSE_GRACE_MS. */
  drained(): Promise<void>;
  connections(): number;
  /**
   * Checks that `socketPath` is still this server's socket. When it is gone or a stale socket, listens
   * again on the path ('restored'; open connections are kept); when something else is there (a file,
   * another process's live socket) it is left alone ('occupied').
   */
  checkSocketFile(): Promise<SocketFileCheck>;
}

/** After a fatal frame error (or at close) the peer gets this long to read what was sent and hang up. */
const CLOSE_GRACE_MS = 2_000;
/** A connection refused at the cap gets this long to read its E_BUSY reply. */
const REFUSE_GRACE_MS = 1_000;
/** Most one warning per this long about refused or dropped connections. */
const WARN_EVERY_MS = 5_000;

const noopLogger: Pick<Log, 'warn' | 'debug'> = { warn: () => undefined, debug: () => undefined };

function idOf(data: unknown): string | number | null {
  if (!isRecord(data) || !Object.prototype.hasOwnProperty.call(data, 'id')) return null;
  const id = data.id;
  if (typeof id === 'string' && id.length <= 128) return id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  return null;
}

function errorReply(id: string | number | null, code: string, message: string, retryable = false): Record<string, unknown> {
  const error: ErrorShape = { code, message, retryable };
  return { id, error };
}

/** One accepted connection and its flow state. */
interface Peer {
  readonly conn: ServerConnection;
  readonly socket: net.Socket;
  reader: FrameReader;
  /** Requests handed to onRequest and not answered yet. */
  inflight: number;
  /** performance.now() of the last frame received or message written. */
  lastActive: number;
  closing: boolean;
  peerEnded: boolean;
  framesSinceYield: number;
  flowScheduled: boolean;
}

/**
 * Starts serving on `socketPath`. Refuses (E_LOCKED) when a process already answers there; replaces
 * a stale socket file; the socket directory must be private (E_UNSAFE_PERMISSIONS); socket mode 0600.
 *
 * Flow invariants (bounds in flowLimits.ts):
 *  - a connection is read only while its requests in flight, the server's requests in flight and its
 *    unsent replies are under their bounds; otherwise its socket is paused and further requests wait
 *    unread in the kernel (the client's writes block), never refused;
 *  - a connection is given at most `framesPerTurn` frames before the event loop turns, and reads resume
 *    on a later turn, so one busy connection never holds up another's requests;
 *  - unsent replies past `replyLimitBytes` (one connection) or `replyLimitTotalBytes` (all) close the
 *    connection (the largest first), which runs onDisconnect as any close does;
 *  - connections over the cap are answered E_BUSY (retryable) and closed, unless an idle connection
 *    holding nothing can be closed to make room; idle connections are also closed when many are open.
 */
export async function createServer(opts: ServerOptions): Promise<TransportServer> {
  const { socketPath, frameLimitBytes } = opts;
  const logger = opts.logger ?? noopLogger;
  const limits = resolveFlowLimits({ ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}), ...opts.limits });
  ensureSocketDir(socketPath);

  const found = await probeSocket(socketPath);
  if (found === 'live') {
    throw new CacheError(ErrorCodes.LOCKED, `a daemon is already serving ${socketPath}`, { details: { socket: socketPath } });
  }
  if (found === 'stale') {
    logger.warn({ socket: socketPath }, 'replacing a stale socket (no process answered on it)');
    unlinkIfPresent(socketPath);
  }

  const peers = new Map<net.Socket, Peer>();
  /** Peers whose unsent replies reached replyPauseBytes (the only ones that count toward the total bound). */
  const backedUp = new Set<Peer>();
  /** Peers not read because the server-wide in-flight bound was reached. */
  const waitingForTotal = new Set<Peer>();
  let totalInflight = 0;
  let nextId = 1;
  let stopping = false;
  const drainWaiters: Array<() => void> = [];
  const lastWarn = new Map<string, number>();

  const warnRarely = (key: string, obj: object, msg: string): void => {
    const now = performance.now();
    if (now - (lastWarn.get(key) ?? -Infinity) < WARN_EVERY_MS) return logger.debug(obj, msg);
    lastWarn.set(key, now);
    logger.warn(obj, msg);
  };

  let ipc = newIpc();
  await listen(ipc);
  let listened = chmodAndIdentify();

  function chmodAndIdentify(): string {
    fs.chmodSync(socketPath, 0o600);
    return fileIdentity(socketPath) ?? '';
  }

  function listen(on: IPCModule): Promise<void> {
    // Connections are counted and capped here (accept), not by net.Server, which would drop the
    // excess silently.
    on.config.maxConnections = Number.MAX_SAFE_INTEGER;
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      on.serve(socketPath, () => {
        listening = true;
        resolve();
      });
      const server = on.server;
      if (!server) return reject(new CacheError(ErrorCodes.INTERNAL, `node-ipc did not create a server for ${socketPath}`));
      // node-ipc publishes both server errors (listen, accept) and per-socket errors here.
      server.on('error', (err: unknown) => {
        const code = (err as NodeJS.ErrnoException | undefined)?.code;
        if (!listening) {
          reject(
            code === 'EADDRINUSE'
              ? new CacheError(ErrorCodes.LOCKED, `a daemon is already serving ${socketPath}`, { cause: err })
              : new CacheError(ErrorCodes.INTERNAL, `cannot listen on ${socketPath}: ${String((err as Error)?.message ?? err)}`, {
                  cause: err,
                }),
          );
        } else if (code === 'EMFILE' || code === 'ENFILE') {
          warnRarely('fds', { connections: peers.size, code }, 'out of file descriptors: a connection was dropped');
        } else {
          logger.debug({ err: String((err as Error)?.message ?? err) }, 'socket error');
        }
      });
      // node-ipc's own handler of a socket's close destroys the first socket of its list that is no
      // longer readable, which includes a peer that half-closed and still awaits replies. The list is
      // kept here instead: a socket leaves it when it closes.
      server.off('close', '*');
      server.on('connect', (socket: unknown) => {
        if (!(socket instanceof net.Socket)) return;
        socket.once('close', () => {
          const i = server.sockets.indexOf(socket);
          if (i >= 0) server.sockets.splice(i, 1);
        });
        admit(socket);
      });
      server.start();
    });
  }

  const holds = (p: Peer): boolean => {
    try {
      return opts.holds?.(p.conn) ?? false;
    } catch {
      return true;
    }
  };

  /** Holds nothing: no request in flight, nothing unsent or unread, no lease. */
  const isIdle = (p: Peer): boolean =>
    !p.closing && p.inflight === 0 && p.socket.writableLength === 0 && !p.reader.backlogged && !holds(p);

  const canRead = (p: Peer): boolean =>
    !p.closing &&
    p.framesSinceYield < limits.framesPerTurn &&
    p.inflight < limits.inflightPerConnection &&
    !(p.inflight > 0 && totalInflight >= limits.inflightTotal) &&
    p.socket.writableLength < limits.replyPauseBytes;

  function pauseReads(p: Peer): void {
    p.reader.pause();
    if (!p.socket.isPaused()) p.socket.pause();
    if (p.inflight > 0 && totalInflight >= limits.inflightTotal) waitingForTotal.add(p);
  }

  /** Re-evaluates on a later turn whether `p` may be read (resuming is never done inside a reply). */
  function scheduleFlow(p: Peer): void {
    if (p.flowScheduled || p.closing) return;
    p.flowScheduled = true;
    setImmediate(() => {
      p.flowScheduled = false;
      p.framesSinceYield = 0;
      if (p.closing) return;
      if (!canRead(p)) return pauseReads(p);
      p.reader.resume();
      if (!p.reader.paused && p.socket.isPaused()) p.socket.resume();
      maybeFinish(p);
    });
  }

  /** A peer that half-closed is closed once everything it sent has been answered. */
  function maybeFinish(p: Peer): void {
    if (p.peerEnded && p.inflight === 0 && !p.reader.backlogged) p.conn.close();
  }

  function settled(p: Peer): void {
    p.inflight--;
    totalInflight--;
    if (totalInflight < limits.inflightTotal && waitingForTotal.size > 0) {
      for (const w of waitingForTotal) scheduleFlow(w);
      waitingForTotal.clear();
    }
    if (p.reader.paused) scheduleFlow(p);
  }

  /** Closes `p` now; what it held is released by the 'close' handler (onDisconnect). */
  function drop(p: Peer): void {
    p.closing = true;
    p.reader.stop();
    p.socket.destroy();
  }

  function enforceTotalReplies(): void {
    let total = 0;
    for (const b of backedUp) total += b.socket.writableLength;
    while (total > limits.replyLimitTotalBytes && backedUp.size > 0) {
      let worst: Peer | null = null;
      for (const b of backedUp) if (!worst || b.socket.writableLength > worst.socket.writableLength) worst = b;
      if (!worst) break;
      total -= worst.socket.writableLength;
      backedUp.delete(worst);
      warnRarely('replies-total', { conn: worst.conn.id, queued: worst.socket.writableLength, total }, 'unsent replies over the server bound: the connection holding the most is closed');
      drop(worst);
    }
  }

  function write(p: Peer, text: string): void {
    const { socket } = p;
    if (p.closing || socket.destroyed || !socket.writable) return;
    const before = socket.writableLength;
    socket.write(text);
    p.lastActive = performance.now();
    const queued = socket.writableLength;
    if (before > 0 && queued > limits.replyLimitBytes) {
      warnRarely('replies', { conn: p.conn.id, queued }, 'client is not reading its replies; connection closed');
      backedUp.delete(p);
      drop(p);
      return;
    }
    if (queued >= limits.replyPauseBytes) {
      backedUp.add(p);
      pauseReads(p);
      enforceTotalReplies();
    }
  }

  /** Answers E_BUSY (over the cap) or E_SHUTTING_DOWN (closing), both retryable, and closes the connection. */
  function refuse(socket: net.Socket): void {
    socket.removeAllListeners('data');
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    let reply: Record<string, unknown>;
    if (stopping) {
      reply = errorReply(null, ErrorCodes.SHUTTING_DOWN, 'the daemon is shutting down; retry against the next daemon', true);
    } else {
      warnRarely('cap', { connections: peers.size, max: limits.maxConnections }, 'connection refused: at the connection limit');
      const message = `the daemon has ${limits.maxConnections} connections open (its limit) and none is idle; try again shortly`;
      reply = errorReply(null, ErrorCodes.BUSY, message, true);
    }
    socket.end(encodeFrame('response', reply));
    setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
  }

  /** Closes the longest-idle connection holding nothing, idle at least `minIdleMs`. True when one was closed. */
  function evictIdle(minIdleMs: number): boolean {
    const now = performance.now();
    let oldest: Peer | null = null;
    for (const p of peers.values()) {
      if (now - p.lastActive >= minIdleMs && isIdle(p) && (!oldest || p.lastActive < oldest.lastActive)) oldest = p;
    }
    if (!oldest) return false;
    logger.debug({ conn: oldest.conn.id, idleMs: Math.round(now - oldest.lastActive) }, 'idle connection closed to make room');
    forget(oldest);
    drop(oldest);
    return true;
  }

  const idleSweep = setInterval(() => {
    if (peers.size <= limits.idleCloseAbove) return;
    const now = performance.now();
    for (const p of [...peers.values()]) {
      if (now - p.lastActive >= limits.idleTimeoutMs && isIdle(p)) {
        logger.debug({ conn: p.conn.id, idleMs: Math.round(now - p.lastActive) }, 'idle connection closed (many connections open)');
        forget(p);
        drop(p);
      }
    }
  }, Math.max(10, Math.min(limits.idleTimeoutMs / 2, 5_000)));
  idleSweep.unref();

  /** Removes `p` from the server's books and runs onDisconnect, once. */
  function forget(p: Peer): void {
    if (!peers.delete(p.socket)) return;
    p.closing = true;
    backedUp.delete(p);
    waitingForTotal.delete(p);
    totalInflight -= p.inflight;
    p.inflight = 0;
    if (totalInflight < limits.inflightTotal && waitingForTotal.size > 0) {
      for (const w of waitingForTotal) scheduleFlow(w);
      waitingForTotal.clear();
    }
    safely(() => opts.onDisconnect?.(p.conn), logger, 'onDisconnect threw');
    if (peers.size === 0) for (const w of drainWaiters.splice(0)) w();
  }

  function admit(socket: net.Socket): void {
    if (stopping || (peers.size >= limits.maxConnections && !evictIdle(limits.idleEvictMs))) {
      refuse(socket);
      return;
    }
    accept(socket);
  }

  function accept(socket: net.Socket): void {
    const id = nextId++;
    let graceTimer: NodeJS.Timeout | null = null;
    // A peer may send its requests and half-close (`printf ... | socat`): keep answering, and end
    // our side once every request handed to onRequest has had its response.
    socket.allowHalfOpen = true;

    const conn: ServerConnection = {
      id,
      send(type, data) {
        if (type === 'response' && p.inflight > 0) settled(p);
        reply(type, data);
        if (type === 'response') maybeFinish(p);
      },
      close() {
        if (p.closing) return;
        p.closing = true;
        p.reader.stop();
        socket.end();
        graceTimer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
        graceTimer.unref();
      },
    };

    /** Writes a message without counting it as the answer to a request. */
    function reply(type: 'response' | 'progress', data: Record<string, unknown>): void {
      let text: string;
      try {
        text = encodeFrame(type, data);
      } catch (err) {
        if (type !== 'response') return;
        logger.warn({ conn: id, err: String((err as Error)?.message ?? err) }, 'reply could not be serialised');
        text = encodeFrame(
          'response',
          errorReply(idOf(data), ErrorCodes.INTERNAL, `the reply could not be serialised: ${String((err as Error)?.message ?? err)}`),
        );
      }
      write(p, text);
    }

    const onFrame = (text: string): void => {
      if (JSON_BLANK.test(text)) return;
      p.lastActive = performance.now();
      if (++p.framesSinceYield >= limits.framesPerTurn) {
        pauseReads(p);
        scheduleFlow(p);
      }
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch (err) {
        reply('response', errorReply(null, ErrorCodes.BAD_FRAME, `frame is not valid JSON: ${(err as Error).message.slice(0, 200)}`));
        return;
      }
      if (!isRecord(msg)) {
        reply('response', errorReply(null, ErrorCodes.BAD_FRAME, 'a message must be a JSON object {"type": "request", "data": {...}}'));
        return;
      }
      if (msg.type !== 'request') {
        const got = typeof msg.type === 'string' ? JSON.stringify(msg.type.slice(0, 64)) : typeof msg.type;
        reply('response', errorReply(idOf(msg.data), ErrorCodes.BAD_FRAME, `message type must be "request", got ${got}`));
        return;
      }
      p.inflight++;
      totalInflight++;
      if (!canRead(p)) pauseReads(p);
      try {
        opts.onRequest(msg.data, conn);
      } catch (err) {
        logger.warn({ conn: id, err: String((err as Error)?.message ?? err) }, 'request handler threw');
        conn.send('response', errorReply(idOf(msg.data), ErrorCodes.INTERNAL, `request failed: ${String((err as Error)?.message ?? err)}`));
      }
    };

    const reader = createFrameReader({
      limitBytes: frameLimitBytes,
      onFrame,
      onOversize: (bytes) => {
        logger.warn({ conn: id, bytes, limit: frameLimitBytes }, 'frame over the size limit; connection closed');
        reply(
          'response',
          errorReply(null, ErrorCodes.BAD_FRAME, `frame exceeds the limit of ${frameLimitBytes} bytes; connection closed`),
        );
        conn.close();
      },
    });

    const p: Peer = {
      conn,
      socket,
      reader,
      inflight: 0,
      lastActive: performance.now(),
      closing: false,
      peerEnded: false,
      framesSinceYield: 0,
      flowScheduled: false,
    };

    takeOverReads(socket, reader);
    peers.set(socket, p);
    socket.on('drain', () => {
      backedUp.delete(p);
      scheduleFlow(p);
    });
    socket.once('end', () => {
      p.peerEnded = true;
      maybeFinish(p);
    });
    socket.once('close', () => {
      if (graceTimer) clearTimeout(graceTimer);
      p.closing = true;
      reader.stop();
      forget(p);
    });
    safely(() => opts.onConnect?.(conn), logger, 'onConnect threw');
  }

  let closed: Promise<void> | null = null;
  return {
    socketPath,
    connections: () => peers.size,
    async checkSocketFile() {
      if (stopping) return 'ok';
      // The common case costs one lstat: the identity still matches.
      if (fileIdentity(socketPath) === listened) return 'ok';
      let st: fs.Stats | null = null;
      try {
        st = fs.lstatSync(socketPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
      }
      if (st && (!st.isSocket() || (await probeSocket(socketPath)) !== 'stale')) return 'occupied';
      if (stopping) return 'ok';
      // Gone or stale: the old listener is bound to an unlinked inode nobody can reach. Closing it
      // unlinks whatever is at the path (libuv does), so it is closed before listening again.
      const old = ipc;
      await new Promise<void>((resolve) => {
        const srv = old.server ? old.server.server : false;
        if (!srv || !srv.listening) return resolve();
        srv.close();
        resolve();
      });
      ensureSocketDir(socketPath);
      unlinkIfPresent(socketPath);
      const next = newIpc();
      await listen(next);
      if (stopping) {
        // close() ran while this listener was being opened: it must not outlive the server.
        const srv = next.server ? next.server.server : false;
        if (srv) srv.close();
        return 'ok';
      }
      ipc = next;
      listened = chmodAndIdentify();
      return 'restored';
    },
    close() {
      if (closed) return closed;
      stopping = true;
      clearInterval(idleSweep);
      const server = ipc.server ? ipc.server.server : false;
      if (server && server.listening) server.close();
      for (const p of [...peers.values()]) p.conn.close();
      closed = new Promise<void>((resolve) => setImmediate(resolve)).then(() => removeIfOurs(socketPath, listened));
      return closed;
    },
    drained() {
      if (peers.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
}

function safely(fn: () => void, logger: Pick<Log, 'warn'>, msg: string): void {
  try {
    fn();
  } catch (err) {
    logger.warn({ err: String((err as Error)?.message ?? err) }, msg);
  }
}

