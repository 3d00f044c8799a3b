import http from 'node:http';
import https from 'node:https';

/**
 * The one HTTP primitive the origins use: a single request, no redirect following, the body as a Node
 * stream. node:http rather than fetch: the body arrives as a Node Readable with no web-stream adapter
 * (on loopback both reach the same throughput, hashing bound; measured in the origin report), redirects
 * stay manual by construction, and an AbortSignal destroys the socket at any point.
 */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  url: URL;
}

/**
 * A response body buffers up to its socket's high-water mark (Node 20: 16 KiB) before the socket stops
 * reading. 1 MiB lets a download keep receiving while its writer waits for a disk write (at most 1 MiB
 * per connection held).
 */
const SOCKET_READ_HIGH_WATER_MARK = 1 << 20;

const agents = {
  // `highWaterMark` reaches the socket through the agent (net.connect and tls.connect both pass it on).
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, highWaterMark: SOCKET_READ_HIGH_WATER_MARK } as http.AgentOptions),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, highWaterMark: SOCKET_READ_HIGH_WATER_MARK } as https.AgentOptions),
};

export function httpRequest(
  url: URL,
  opts: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const mod = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
    const req = mod.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent, signal: opts.signal }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    req.once('error', reject);
    req.end();
  });
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(body: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.byteLength;
    if (n > limit) {
      body.destroy();
      throw new RangeError(`response body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A header's single value (first of a repeated header), or undefined. */
export function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Discards a response body we do not need, so the socket goes back to the pool. */
export function discard(body: http.IncomingMessage): void {
  body.resume();
  body.on('error', () => undefined);
}
