import fs from 'node:fs';
import http from 'node:http';
import { expect } from 'vitest';
import { startFakeHub, type FakeHub, type FakeHubOptions } from '../../dev/fixtures/fakeHub.js';
import {
  generateBytes,
  generateText,
  gitBlobSha1,
  mlxRepo,
  sha256Hex,
  whisperKitRepo,
  whisperTokenizerRepo,
  type RepoSpec,
} from '../../dev/fixtures/generate.js';
import { makeSandbox, type Sandbox } from './harness.js';

/**
 * Shared pieces of the tests of the Hub-compatible HTTP endpoint: a fake Hub with public, gated and
 * private repos (Xet advertised, small tree pages), a daemon child process serving the endpoint on
 * 127.0.0.1 with the fake Hub upstream, a raw `node:http` request that reports aborted transfers, and
 * the expected headers of a file as the Hub publishes them.
 */

/** The Hub token the daemon is configured with (the fake Hub accepts it and approves it for the gated repo). */
export const TOKEN = 'hf_fake_token';
export const WK = 'argmaxinc/whisperkit-coreml';
export const MLX = 'mlx-community/whisper-tiny';
export const TOKENIZER = 'openai/whisper-tiny';
export const GATED = 'gated-org/gated-model';
export const PRIVATE = 'private-org/private-model';
/** Files made to test streaming, corruption and concurrent misses (LFS unless named `.txt`). */
export const BIG = 'stream-org/big-files';

export function gatedRepo(): RepoSpec {
  return {
    id: GATED,
    files: [
      { path: 'config.json', bytes: Buffer.from(JSON.stringify({ gated: true, n: 1 })), lfs: false },
      { path: 'weights.bin', bytes: generateBytes('gated/weights', 300_000), lfs: true },
    ],
  };
}

export function privateRepo(): RepoSpec {
  return {
    id: PRIVATE,
    files: [
      { path: 'config.json', bytes: Buffer.from(JSON.stringify({ private: true })), lfs: false },
      { path: 'weights.bin', bytes: generateBytes('private/weights', 200_000), lfs: true },
    ],
  };
}

/** Several multi-MB files, each used by one test only, so every test starts from a cold file. */
export function bigRepo(): RepoSpec {
  const lfs = (name: string, size: number) => ({ path: name, bytes: generateBytes(`big/${name}`, size), lfs: true });
  return {
    id: BIG,
    files: [
      lfs('stream.bin', 6_000_000),
      lfs('corrupt.bin', 3_000_000),
      { path: 'corrupt.txt', bytes: generateText('big/corrupt.txt', 2_000_000), lfs: false },
      lfs('crowd-1.bin', 4_000_000),
      lfs('crowd-2.bin', 4_000_000),
      lfs('crowd-3.bin', 4_000_000),
      lfs('lease.bin', 40_000_000),
    ],
  };
}

/** More files than one page of the Hub's tree listing (1000), so the endpoint's own listing paginates. */
export const MANY = 'many-org/many-files';
export function manyRepo(): RepoSpec {
  return {
    id: MANY,
    files: Array.from({ length: 1_050 }, (_, i) => ({ path: `d${i % 3}/f-${String(i).padStart(4, '0')}.txt`, bytes: Buffer.from(`file ${i}\n`), lfs: false })),
  };
}

/** The fake Hub the endpoint tests use: every fixture repo, Xet advertised, tree pages of 50 entries. */
export async function startMirrorHub(extra: FakeHubOptions = {}): Promise<FakeHub> {
  const hub = await startFakeHub({
    repos: [
      whisperKitRepo(),
      mlxRepo(MLX),
      whisperTokenizerRepo('tiny'),
      { ...gatedRepo(), gated: 'manual', readers: [TOKEN] },
      { ...privateRepo(), private: true },
      bigRepo(),
      manyRepo(),
    ],
    tokens: [TOKEN, 'hf_someone_elses_token'],
    treePageSize: 50,
    xet: true,
    ...extra,
  });
  return hub;
}

export interface Mirror {
  sb: Sandbox;
  /** `daemon status --json`'s hubUrl: `http://127.0.0.1:<port>`. */
  url: string;
  secretFile: string;
  /** The local secret clients pass as HF_TOKEN. */
  secret: string;
  /** `daemon status --json` as the CLI printed it. */
  status: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Starts a daemon (child process, through the built CLI) whose only origin is `hub`, configured with
 * the Hub token TOKEN, and with the endpoint on a port the OS picks.
 */
export async function startMirror(hub: FakeHub, opts: { config?: Record<string, unknown>; token?: string | null } = {}): Promise<Mirror> {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const sb = makeSandbox({
    endpoint: hub.endpoint,
    models: {},
    config: {
      origins: [{ type: 'huggingface', endpoint: hub.endpoint, ...(token ? { token } : {}) }],
      hubMirror: { port: 0 },
      ...opts.config,
    },
  });
  try {
    const started = await sb.cli(['daemon', 'start'], { timeoutMs: 60_000 });
    expect(started.code, `daemon start: ${started.stderr}`).toBe(0);
    const status = await endpointStatus(sb);
    expect(status.hubUrl, `status: ${JSON.stringify(status)}`).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(typeof status.hubSecretFile, `status: ${JSON.stringify(status)}`).toBe('string');
    const secretFile = status.hubSecretFile as string;
    const secret = fs.readFileSync(secretFile, 'utf8').trim();
    return { sb, url: status.hubUrl as string, secretFile, secret, status, stop: () => sb.cleanup() };
  } catch (err) {
    await sb.cleanup();
    throw err;
  }
}

/**
 * `hubUrl` and `hubSecretFile` as `daemon status --json` reports them (the contract), else as the
 * socket's `status` reports them (`cache-manager --json status`), so the other tests still run when only
 * the former is missing; `daemonStatusHasEndpoint` tells which answered.
 */
export async function endpointStatus(sb: Sandbox): Promise<Record<string, unknown> & { daemonStatusHasEndpoint: boolean }> {
  const st = await sb.cli(['--json', 'daemon', 'status']);
  expect(st.code, st.stderr).toBe(0);
  const d = st.json<Record<string, unknown>>();
  if (typeof d.hubUrl === 'string') return { ...d, daemonStatusHasEndpoint: true };
  const full = await sb.cli(['--json', 'status']);
  expect(full.code, full.stderr).toBe(0);
  const s = full.json<Record<string, unknown>>();
  const inner = (s.daemon ?? {}) as Record<string, unknown>;
  return { ...d, hubUrl: s.hubUrl ?? inner.hubUrl, hubSecretFile: s.hubSecretFile ?? inner.hubSecretFile, daemonStatusHasEndpoint: false };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Raw header lines as sent (names in their original case). */
  rawHeaders: string[];
  body: Buffer;
  /** The connection ended before the response was complete (the server destroyed it mid-body). */
  aborted: boolean;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Called with the response head and each chunk as it arrives. */
  onChunk?: (chunk: Buffer, res: http.IncomingMessage) => void;
}

/**
 * One request with `node:http`, the path sent exactly as given (no normalisation of `..` or `%2F`).
 * Never follows redirects. Resolves (never rejects) once the response ends or is cut off.
 */
export function raw(base: string, pathAndQuery: string, r: RawRequest = {}): Promise<RawResponse> {
  const u = new URL(base);
  const prefix = u.pathname.replace(/\/+$/, '');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: Number(u.port),
        method: r.method ?? 'GET',
        path: `${prefix}${pathAndQuery}`,
        headers: { 'Accept-Encoding': 'identity', ...r.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let aborted = false;
        let settled = false;
        const done = () => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), aborted });
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          r.onChunk?.(c, res);
        });
        res.on('aborted', () => (aborted = true));
        res.on('error', () => {
          aborted = true;
          done();
        });
        res.on('end', () => {
          if (!res.complete) aborted = true;
          done();
        });
        res.on('close', () => {
          if (!res.complete) aborted = true;
          done();
        });
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

export const hex40 = /^[0-9a-f]{40}$/;

/** `W/` and quotes stripped, as huggingface_hub normalises an ETag. */
export function normalizeEtag(v: string | string[] | undefined): string | null {
  if (typeof v !== 'string') return null;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** What the Hub publishes for a file: the etag clients use (sha256 for LFS, git SHA-1 otherwise) and its size. */
export function published(hub: FakeHub, repo: string, filePath: string, ref = 'main'): { commit: string; etag: string; size: number; bytes: Buffer; lfs: boolean; gitSha1: string; sha256: string } {
  const r = hub.repos.get(repo);
  if (!r) throw new Error(`no repo ${repo} in the fake Hub`);
  const commit = r.refs.get(ref) ?? ref;
  const f = r.commits.get(commit)?.get(filePath);
  if (!f) throw new Error(`no file ${filePath} in ${repo}@${ref}`);
  return { commit, etag: f.lfs ? f.sha256 : f.gitSha1, size: f.bytes.byteLength, bytes: f.bytes, lfs: f.lfs, gitSha1: f.gitSha1, sha256: f.sha256 };
}

/**
 * Upstream GETs that carried a file's bytes: the CDN (LFS) or the Hub's resolve-cache answers, except
 * those answered 416 (a probe past the end carries no bytes); a request still in flight counts.
 */
export function upstreamFileGets(hub: FakeHub, repo: string, filePath: string): number {
  const r = hub.repos.get(repo)!;
  const files = [...r.commits.values()].map((c) => c.get(filePath)).filter((f) => f !== undefined);
  const shas = new Set(files.map((f) => f.sha256));
  return hub.counters.log.filter((rec) => {
    if (rec.method !== 'GET' || rec.status === 416) return false;
    if (rec.server === 'cdn') return [...shas].some((s) => rec.path.endsWith(`/${s}`));
    return rec.path.startsWith(`/api/resolve-cache/models/${repo}/`) && rec.path.endsWith(`/${filePath}`);
  }).length;
}

/** Headers of any answer that would steer a client onto Xet instead of plain HTTP. */
export function xetAdvertisements(res: RawResponse): string[] {
  const found: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i]!;
    const value = res.rawHeaders[i + 1]!;
    if (/^x-xet-/i.test(name)) found.push(`${name}: ${value}`);
    if (/^link$/i.test(name) && /xet-/i.test(value)) found.push(`${name}: ${value}`);
  }
  if (/application\/vnd\.xet/i.test(String(res.headers['content-type'] ?? ''))) found.push(`Content-Type: ${res.headers['content-type']}`);
  return found;
}

export interface StatsJson {
  hits: number;
  misses: number;
  errors: number;
  breakdown?: Array<Record<string, unknown>>;
}

export async function stats(sb: Sandbox, args: string[] = []): Promise<StatsJson> {
  const r = await sb.cli(['--json', 'stats', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.json<StatsJson>();
}

export async function runStart(sb: Sandbox, label: string): Promise<string> {
  const r = await sb.cli(['--json', 'run', 'start', '--label', label]);
  expect(r.code, r.stderr).toBe(0);
  return r.json<{ id: string }>().id;
}

export { gitBlobSha1, sha256Hex };
