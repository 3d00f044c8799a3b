import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/**
 * Child process: the "plain download" reference. Fetches each URL with node:http (following redirects),
 * streams it to `<outDir>/<path>` (optionally sha256 in the same pass), `concurrency` files at once.
 * Prints { ms, bytes, cpuMs } (cpuMs: this process's user + system CPU time over the transfer).
 */
interface Args {
  files: Array<{ url: string; path: string }>;
  outDir: string;
  concurrency: number;
  hash: boolean;
}

const a = JSON.parse(process.argv[2]!) as Args;
const agent = new http.Agent({ keepAlive: true });

function fetchTo(url: string, dest: string, hops = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location && hops < 5) {
          res.resume();
          resolve(fetchTo(new URL(res.headers.location, url).toString(), dest, hops + 1));
          return;
        }
        if (status !== 200) {
          res.resume();
          reject(new Error(`${url}: HTTP ${status}`));
          return;
        }
        const out = fs.createWriteStream(dest);
        const h = a.hash ? crypto.createHash('sha256') : null;
        let n = 0;
        res.on('data', (d: Buffer) => {
          n += d.length;
          h?.update(d);
          if (!out.write(d)) {
            res.pause();
            out.once('drain', () => res.resume());
          }
        });
        res.on('end', () => {
          out.end(() => {
            h?.digest('hex');
            resolve(n);
          });
        });
        res.on('error', reject);
        out.on('error', reject);
      })
      .on('error', reject);
  });
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
let bytes = 0;
await Promise.all(
  Array.from({ length: a.concurrency }, async () => {
    while (next < a.files.length) {
      const f = a.files[next++]!;
      const dest = path.join(a.outDir, f.path);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const n = await fetchTo(f.url, dest);
      bytes += n;
    }
  }),
);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
agent.destroy();
process.stdout.write(`${JSON.stringify({ ms, bytes, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
