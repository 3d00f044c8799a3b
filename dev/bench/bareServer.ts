import fs from 'node:fs';
import net from 'node:net';

/**
 * The "no work" reference for hit latency: a plain net server on a Unix socket that speaks the daemon's
 * framing (`{"type","data"}` JSON + `\f`) and answers every request with a canned `result` (the bytes of a
 * real get reply), doing nothing else: split, JSON.parse, JSON.stringify, write.
 */
export async function startBareServer(socketPath: string, result: unknown): Promise<{ close(): Promise<void> }> {
  fs.rmSync(socketPath, { force: true });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\f')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(frame) as { data: { id: number } };
        sock.write(`${JSON.stringify({ type: 'response', data: { id: msg.data.id, result } })}\f`);
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
