// One load-test process: CONNS connections, each doing GETS gets of random models (argv: client.js socket conns gets models-json seed).
// For every successful get it checks, while the lease is held, that every file of the returned path exists; then releases.
import fs from 'node:fs';
import path from 'node:path';
const [clientJs, socketPath, conns, gets, modelsJson, seedArg] = process.argv.slice(2);
const { connect } = await import(clientJs);
const models = JSON.parse(modelsJson);
let seed = Number(seedArg);
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const out = { ok: 0, errors: {}, missingWhileLeased: 0, answered: 0 };
function countFiles(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  return n;
}
await Promise.all(Array.from({ length: Number(conns) }, async () => {
  const c = await connect({ socketPath });
  for (let i = 0; i < Number(gets); i++) {
    const model = models[Math.floor(rand() * models.length)];
    try {
      const r = await c.call('get', { model, client: 'load' });
      out.answered++;
      out.ok++;
      if (countFiles(r.path) !== r.files) out.missingWhileLeased++;
      if (r.lease) await c.call('release', { lease: r.lease.id });
    } catch (err) {
      out.answered++;
      const code = err?.code ?? 'THROWN';
      out.errors[code] = (out.errors[code] ?? 0) + 1;
    }
  }
  await c.close();
}));
process.stdout.write(JSON.stringify(out));
