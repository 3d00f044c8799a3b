import http from 'node:http';
import type net from 'node:net';

/**
 * An HTTP proxy on 127.0.0.1 in front of the object store, for the fleet tests: it counts requests by
 * method (a read-only runner must send no PUT/POST/DELETE), and can be cut like a store that dies: once
 * a blob read has sent `cutAfterBytes` of its body, every connection is destroyed and the port stops
 * listening (later connections are refused). Headers pass unchanged, so SigV4 signatures stay valid.
 */
export interface StoreProxy {
  endpoint: string;
  methods: Map<string, number>;
  /** Writes: PUT, POST and DELETE requests seen. */
  writes(): number;
  /** Cut at the next blob GET after this many body bytes (null: never). */
  cutAfterBytes: number | null;
  /** Whether the proxy was cut. */
  cut(): boolean;
  close(): Promise<void>;
}

export async function startStoreProxy(target: string): Promise<StoreProxy> {
  const up = new URL(target);
  const sockets = new Set<net.Socket>();
  let wasCut = false;
  const methods = new Map<string, number>();
  const server = http.createServer((req, res) => {
    methods.set(req.method!, (methods.get(req.method!) ?? 0) + 1);
    const fwd = http.request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode!, r.headers);
        const isBlobRead = req.method === 'GET' && /\/blobs\/sha256\/[0-9a-f]{64}$/.test(req.url!.split('?')[0]!);
        let sent = 0;
        r.on('data', (chunk: Buffer) => {
          if (proxy.cutAfterBytes !== null && isBlobRead && r.statusCode! < 300) {
            const room = proxy.cutAfterBytes - sent;
            if (room <= chunk.length) {
              if (room > 0) res.write(chunk.subarray(0, room));
              kill();
              return;
            }
          }
          sent += chunk.length;
          res.write(chunk);
        });
        r.on('end', () => res.end());
        r.on('error', () => res.destroy());
      },
    );
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;

  function kill(): void {
    if (wasCut) return;
    wasCut = true;
    server.close();
    for (const s of sockets) s.destroy();
  }

  const proxy: StoreProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    methods,
    writes: () => ['PUT', 'POST', 'DELETE'].reduce((n, m) => n + (methods.get(m) ?? 0), 0),
    cutAfterBytes: null,
    cut: () => wasCut,
    async close() {
      kill();
    },
  };
  return proxy;
}
