import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { UNRESOLVED_MODEL } from '../accounting/displayName.js';
import type { ListedFileRow } from '../db/hubListingsRepo.js';
import { CacheError, ErrorCodes } from '../errors.js';
import type { Log } from '../logger.js';
import { accountedModelOf, type HubCaller, type HubService, type RepoListing } from '../service/hubService.js';
import { clientLabelOf } from './clientLabel.js';
import { fileHeaders, hubErrorOf, parseRange } from './hubShapes.js';
import { carriesSecret } from './localSecret.js';
import { parsePathsBody, withoutTrailingSlashes } from './pathsBody.js';
import { parseTarget, type HubRoute } from './routes.js';
import { buildTree, cursorOf, entryAt, offsetOfCursor, pageSizeOf, treeEntries, type RepoTree } from './treeView.js';
import crypto from 'node:crypto';

export interface HubMirrorOptions {
  hub: HubService;
  /** Port on 127.0.0.1 (0: any free one). */
  port: number;
  secret: string;
  logger: Pick<Log, 'warn' | 'info' | 'debug'>;
}

export interface HubMirror {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops accepting; open responses are cut. */
  close(): Promise<void>;
}

const BODY_LIMIT = 1024 * 1024;
const RUN_HEADER = 'x-vocorize-cache-run';
const MAX_RUN = 256;
/** Open connections the endpoint keeps at most (clients use a handful each). */
const MAX_CONNECTIONS = 256;
/** A response whose client takes no byte for this long is cut (its lease and buffers released). */
const CLIENT_STALL_MS = 30_000;
/** Trees built per (repo, commit), kept for the next page or request. */
const TREE_CACHE = 32;

/**
 * The Hub-compatible HTTP endpoint on 127.0.0.1: the routes unmodified Hub clients use (repo info,
 * tree, paths-info, resolve), answered from the cache through the service's HubService. The shapes are
 * in hubShapes.ts and treeView.ts; this module is the HTTP wiring only.
 */
export async function startHubMirror(opts: HubMirrorOptions): Promise<HubMirror> {
  const { hub, secret, logger } = opts;
  const trees = new Map<string, RepoTree>();
  const sockets = new Set<import('node:net').Socket>();

  function treeOf(l: RepoListing): RepoTree {
    const key = `${l.repo}@${l.commit}`;
    let t = trees.get(key);
    if (t) {
      trees.delete(key);
      trees.set(key, t);
      return t;
    }
    t = buildTree(l.files);
    trees.set(key, t);
    if (trees.size > TREE_CACHE) trees.delete(trees.keys().next().value!);
    return t;
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.warn({ err: (err as Error)?.message }, 'hub endpoint: request failed');
      if (!res.headersSent) sendError(req, res, err, false);
      else res.destroy();
    });
  });
  // Any local account can connect: past this many open connections new ones are closed at once, so
  // they cannot use up the daemon's descriptors (its socket, index and blob files need them).
  server.maxConnections = MAX_CONNECTIONS;
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    const authorized = carriesSecret(header(req, 'authorization'), secret);
    let target;
    try {
      target = parseTarget(method, req.url ?? '/');
    } catch (err) {
      sendError(req, res, err, authorized);
      return;
    }
    if (!target) {
      sendError(req, res, new CacheError(ErrorCodes.BAD_REQUEST, `no route ${method} ${(req.url ?? '').split('?')[0]}`), authorized, 404);
      return;
    }
    let run = target.run;
    const runHeader = header(req, RUN_HEADER);
    if (run === null && runHeader !== undefined) {
      // eslint-disable-next-line no-control-regex
      if (runHeader.length === 0 || runHeader.length > MAX_RUN || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(runHeader)) {
        sendError(req, res, new CacheError(ErrorCodes.BAD_REQUEST, `X-Vocorize-Cache-Run must be 1 to ${MAX_RUN} characters of printable text`), authorized);
        return;
      }
      run = runHeader;
    }
    const caller: HubCaller = { authorized, client: clientLabelOf(header(req, 'user-agent')), run: run ?? undefined };
    const route = target.route;
    try {
      switch (route.kind) {
        case 'whoami':
          if (!authorized) throw new CacheError(ErrorCodes.UNAUTHORIZED, 'send the local secret as the token to use the configured Hub account');
          sendJson(req, res, 200, { type: 'user', name: 'vocorize-cache', fullname: 'vocorize model cache', orgs: [] });
          return;
        case 'unsupported':
          throw new CacheError(ErrorCodes.REPO_NOT_FOUND, `${route.what} are not served by this endpoint (models only)`);
        case 'info':
          return await info(req, res, route, caller);
        case 'tree':
          return await tree(req, res, route, caller, target.prefix);
        case 'pathsInfo':
          return await pathsInfo(req, res, route, caller);
        case 'resolve':
          return await resolve(req, res, route, caller, t0);
      }
    } catch (err) {
      sendError(req, res, err, authorized);
    }
  }

  async function info(req: http.IncomingMessage, res: http.ServerResponse, r: Extract<HubRoute, { kind: 'info' }>, caller: HubCaller) {
    const l = await hub.listing(r.repo, r.revision, caller);
    sendJson(req, res, 200, {
      _id: crypto.createHash('md5').update(l.repo).digest('hex').slice(0, 24),
      id: l.repo,
      modelId: l.repo,
      author: l.repo.split('/')[0],
      sha: l.commit,
      lastModified: new Date(l.fetchedAt).toISOString(),
      private: !l.isPublic,
      gated: false,
      disabled: false,
      downloads: 0,
      likes: 0,
      tags: [],
      siblings: l.files.map((f) => (r.blobs ? siblingWithBlob(f) : { rfilename: f.path })),
    });
  }

  async function tree(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: Extract<HubRoute, { kind: 'tree' }>,
    caller: HubCaller,
    prefix: string,
  ) {
    const offset = offsetOfCursor(r.cursor);
    const l = await hub.listing(r.repo, r.revision, caller);
    const all = treeEntries(treeOf(l), r.path, r.recursive, r.expand ? lastCommitOf(l) : null);
    const size = pageSizeOf(r.expand);
    const page = all.slice(offset, offset + size);
    const extra: Record<string, string> = {};
    if (offset + size < all.length) {
      const u = new URL(`${prefix}/api/models/${r.repo}/tree/${encodeURIComponent(r.revision)}${r.path ? `/${r.path.split('/').map(encodeURIComponent).join('/')}` : ''}`, ownOrigin(req));
      if (r.recursive) u.searchParams.set('recursive', 'true');
      u.searchParams.set('expand', r.expand ? 'true' : 'false');
      u.searchParams.set('cursor', cursorOf(offset + size));
      extra.Link = `<${u.href}>; rel="next"`;
    }
    sendJson(req, res, 200, page, extra);
  }

  async function pathsInfo(req: http.IncomingMessage, res: http.ServerResponse, r: Extract<HubRoute, { kind: 'pathsInfo' }>, caller: HubCaller) {
    const body = await readBody(req);
    const { paths, expand } = parsePathsBody(body, header(req, 'content-type'));
    const l = await hub.listing(r.repo, r.revision, caller);
    const t = treeOf(l);
    const lc = expand ? lastCommitOf(l) : null;
    const out: Array<Record<string, unknown>> = [];
    for (const p of paths) {
      const e = entryAt(t, withoutTrailingSlashes(p), lc);
      if (e) out.push(e);
    }
    sendJson(req, res, 200, out);
  }

  async function resolve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: Extract<HubRoute, { kind: 'resolve' }>,
    caller: HubCaller,
    t0: number,
  ) {
    let l: RepoListing | null = null;
    let f: ListedFileRow;
    try {
      l = await hub.listing(r.repo, r.revision, caller);
      f = hub.entryOf(l, r.path);
      await hub.authorizeFile(l, f, caller);
    } catch (err) {
      const d = err instanceof CacheError ? err.details : undefined;
      const commit = l?.commit ?? (typeof d?.commit === 'string' ? d.commit : null);
      hub.recordError(commit ? accountedModelOf(r.repo, commit, r.path) : UNRESOLVED_MODEL, caller, t0, err);
      throw err;
    }
    const head = fileHeaders(l.commit, f);
    if (req.method === 'HEAD') {
      hub.recordProbe(l, f, caller, t0);
      res.writeHead(200, { ...head, 'Content-Length': String(f.size), 'Content-Type': 'application/octet-stream' });
      res.end();
      return;
    }
    const range = parseRange(header(req, 'range'), f.size);
    if (range.kind === 'unsatisfiable') {
      hub.recordProbe(l, f, caller, t0);
      res.writeHead(416, { ...head, 'Content-Range': `bytes */${f.size}`, 'Content-Length': '0' });
      res.end();
      return;
    }
    let served;
    try {
      served = hub.serveFile(l, f, caller, t0);
    } catch (err) {
      hub.recordError(accountedModelOf(l.repo, l.commit, f.path), caller, t0, err);
      throw err;
    }
    const from = range.kind === 'partial' ? range.from : 0;
    const to = range.kind === 'partial' ? range.to : f.size - 1;
    const stream = served.stream(from, to);
    let sent = 0;
    const closed = new Promise<void>((resolveClosed) => res.once('close', () => resolveClosed()));
    res.once('close', () => stream.destroy());
    const iter = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let first: IteratorResult<Buffer>;
    try {
      first = await iter.next();
    } catch (err) {
      served.finish(0, err);
      if (!res.headersSent && !res.destroyed) sendError(req, res, err, caller.authorized, undefined, l.commit);
      else res.destroy();
      return;
    }
    const status = range.kind === 'partial' ? 206 : 200;
    const h: Record<string, string> = {
      ...head,
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(to - from + 1),
    };
    if (status === 206) h['Content-Range'] = `bytes ${from}-${to}/${f.size}`;
    res.writeHead(status, h);
    try {
      let next = first;
      while (!next.done) {
        sent += next.value.byteLength;
        if (!res.write(next.value) && !(await drained(res, closed))) {
          // The client stopped reading: cut it, so it holds neither its lease nor its buffers for ever.
          served.finish(sent, new CacheError(ErrorCodes.STALLED, `the client read nothing for ${CLIENT_STALL_MS / 1000} s`));
          res.destroy();
          return;
        }
        if (res.destroyed) break;
        next = await iter.next();
      }
    } catch (err) {
      // A failed verification (or the download failing after bytes went out): cut the connection, so the
      // client sees a short body and discards it rather than keeping unverified bytes as a whole file.
      served.finish(sent, err);
      res.destroy();
      return;
    }
    served.finish(sent);
    if (!res.destroyed) res.end();
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  logger.info({ url }, 'hub endpoint listening');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * Waits until `res` can take more bytes or closes: true then; false when the client read nothing for
 * CLIENT_STALL_MS.
 */
async function drained(res: http.ServerResponse, closed: Promise<void>): Promise<boolean> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<false>((resolveStalled) => {
    timer = setTimeout(() => resolveStalled(false), CLIENT_STALL_MS);
  });
  try {
    return await Promise.race([once(res, 'drain', { signal: ac.signal }).then(() => true, () => true), closed.then(() => true), stalled]);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** This endpoint's own origin as the client reached it (the Host header when it is a plain host[:port]). */
function ownOrigin(req: http.IncomingMessage): string {
  const host = header(req, 'host');
  const local = req.socket.localPort ?? 0;
  return host && /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/.test(host) ? `http://${host}` : `http://127.0.0.1:${local}`;
}

function lastCommitOf(l: RepoListing): { id: string; date: string } {
  return { id: l.commit, date: new Date(l.fetchedAt).toISOString() };
}

function siblingWithBlob(f: ListedFileRow): Record<string, unknown> {
  const s: Record<string, unknown> = { rfilename: f.path, size: f.size };
  if (f.sha256 && !f.gitSha1) {
    const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${f.size}\n`;
    s.blobId = crypto.createHash('sha1').update(`blob ${Buffer.byteLength(pointer)}\0`).update(pointer).digest('hex');
    s.lfs = { sha256: f.sha256, size: f.size, pointerSize: Buffer.byteLength(pointer) };
  } else if (f.gitSha1) {
    s.blobId = f.gitSha1;
  }
  return s;
}

function sendJson(req: http.IncomingMessage, res: http.ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.byteLength), ...extra });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  err: unknown,
  authorized: boolean,
  statusOverride?: number,
  commit?: string,
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const a = hubErrorOf(err, authorized);
  const d = err instanceof CacheError ? err.details : undefined;
  const repoCommit = commit ?? (typeof d?.commit === 'string' ? d.commit : undefined);
  const h: Record<string, string> = { 'X-Error-Message': a.message.replace(/[^\x20-\x7e]/g, '?') };
  if (a.code) h['X-Error-Code'] = a.code;
  if (a.code === 'EntryNotFound' && repoCommit) h['X-Repo-Commit'] = repoCommit;
  sendJson(req, res, statusOverride ?? a.status, { error: a.message }, h);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).byteLength;
    if (n > BODY_LIMIT) throw new CacheError(ErrorCodes.BAD_REQUEST, `request body is larger than ${BODY_LIMIT} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

