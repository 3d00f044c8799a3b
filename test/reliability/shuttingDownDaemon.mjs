// A stand-in for a daemon in the middle of stopping: it listens on argv[2], answers the first request
// it gets with E_SHUTTING_DOWN (as the real daemon does while closing), then closes its socket and exits.
// Prints `ready` once listening and `request <method>` for each request it saw.
import fs from 'node:fs';
import net from 'node:net';

const socketPath = process.argv[2];
const server = net.createServer((conn) => {
  let buf = '';
  conn.on('data', (d) => {
    buf += d.toString('utf8');
    for (let i = buf.indexOf('\f'); i >= 0; i = buf.indexOf('\f')) {
      const frame = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      process.stdout.write(`request ${frame.data.method}\n`);
      const error = { code: 'E_SHUTTING_DOWN', message: 'the daemon is shutting down', retryable: true };
      conn.end(`${JSON.stringify({ type: 'response', data: { id: frame.data.id, error } })}\f`);
      server.close();
      fs.rmSync(socketPath, { force: true });
      setTimeout(() => process.exit(0), 100);
    }
  });
  conn.on('error', () => undefined);
});
server.listen(socketPath, () => process.stdout.write('ready\n'));
