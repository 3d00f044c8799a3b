import net from 'node:net';
import { parseRequest } from '../../src/ipc/protocol.js';
import { createServer, type ServerConnection, type TransportServer } from '../../src/ipc/transport.js';

export interface WireMessage {
  type: string;
  data: Record<string, unknown>;
}

/**
 * A server with a trivial handler: validates with parseRequest, answers `hello`, echoes other methods
 * as `{method, params, conn}`; `get` with `progress: true` sends three progress events first, each on
 * its own tick, and answers on a later tick.
 */
export async function startEchoServer(
  socketPath: string,
  opts: { frameLimitBytes?: number; onDisconnect?(conn: ServerConnection): void } = {},
): Promise<TransportServer> {
  return createServer({
    socketPath,
    frameLimitBytes: opts.frameLimitBytes ?? 1024 * 1024,
    onDisconnect: opts.onDisconnect,
    onRequest(raw, conn) {
      const req = parseRequest(raw);
      if (!req.ok) return conn.send('response', { id: req.id, error: req.error });
      if (req.method === 'hello') {
        return conn.send('response', { id: req.id, result: { protocol: 1, version: 'test', pid: process.pid, socket: socketPath } });
      }
      if (req.method === 'get' && req.params.progress) {
        let n = 0;
        const tick = (): void => {
          if (n < 3) {
            conn.send('progress', { id: req.id, doneBytes: ++n * 10, totalBytes: 30 });
            setImmediate(tick);
          } else {
            conn.send('response', { id: req.id, result: { method: req.method, params: req.params, conn: conn.id } });
          }
        };
        return setImmediate(tick);
      }
      if (req.method === 'status') {
        // Replies in reverse order of arrival for concurrency tests: later ids first.
        const delay = typeof raw === 'object' && raw !== null && typeof (raw as { id: unknown }).id === 'number' ? 50 - ((raw as { id: number }).id % 50) : 0;
        setTimeout(() => conn.send('response', { id: req.id, result: { method: req.method, conn: conn.id } }), delay);
        return;
      }
      conn.send('response', { id: req.id, result: { method: req.method, params: req.params, conn: conn.id } });
    },
  });
}

/** A raw node:net peer that collects decoded messages and notices when the server hangs up. */
export class RawPeer {
  readonly messages: WireMessage[] = [];
  ended = false;
  private buf = '';
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      let i: number;
      while ((i = this.buf.indexOf('\f')) >= 0) {
        const frame = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.messages.push(JSON.parse(frame) as WireMessage);
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  static connect(socketPath: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when at least `n` messages arrived (or rejects if the socket closes first / after `ms`). */
  async waitFor(n: number, ms = 10_000): Promise<WireMessage[]> {
    const deadline = Date.now() + ms;
    while (this.messages.length < n) {
      if (this.ended) throw new Error(`socket closed after ${this.messages.length} of ${n} messages`);
      if (Date.now() > deadline) throw new Error(`timed out with ${this.messages.length} of ${n} messages`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return this.messages;
  }

  async waitClosed(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('socket still open');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export function frame(type: string, data: unknown): string {
  return `${JSON.stringify({ type, data })}\f`;
}
