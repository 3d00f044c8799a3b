import http from 'node:http';
import type { DaemonState } from '../service/serviceState.js';
import { metricsOf } from '../service/statusOf.js';
import { renderPrometheus } from '../accounting/metrics.js';

/** Optional Prometheus endpoint: GET /metrics on 127.0.0.1 only (never another interface). */
export async function startMetricsListener(state: DaemonState, port: number): Promise<{ close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    try {
      const body = renderPrometheus(metricsOf(state));
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
