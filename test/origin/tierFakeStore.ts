import { Readable } from 'node:stream';
import type { FleetStore } from '../../src/service/fleetTier.js';

/**
 * An in-process stand-in for the S3 tier store, for unit tests of the tier's read and write paths
 * (the real store is exercised in the fleet e2e test). Objects are kept in maps; `fault` makes the next
 * calls fail the way a dead, slow or cut-off store does; `puts` counts every write.
 */
export interface FakeTierStore extends FleetStore {
  blobs: Map<string, Buffer>;
  aliases: Map<string, string>;
  json: Map<string, unknown>;
  puts: { blob: number; alias: number; json: number };
  opens: number;
  /** Last-read times set by touchBlob (sha256 → ms); touches counts the calls. */
  lastRead: Map<string, number>;
  touches: number;
  /** 'refused': every call rejects like ECONNREFUSED; 'hang': opens never answer; 'cut': a stream ends in an error after `cutAfter` bytes. */
  fault: null | 'refused' | 'hang' | 'cut';
  cutAfter: number;
  /** Runs inside putBlob before it stores (tests hold uploads here). */
  beforePut?: () => Promise<void>;
}

export function createFakeTierStore(): FakeTierStore {
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const s: FakeTierStore = {
    blobs: new Map(),
    aliases: new Map(),
    json: new Map(),
    puts: { blob: 0, alias: 0, json: 0 },
    opens: 0,
    lastRead: new Map(),
    touches: 0,
    fault: null,
    cutAfter: 0,
    async openBlob(sha256, offset, signal) {
      s.opens++;
      if (s.fault === 'refused') throw refused();
      if (s.fault === 'hang') {
        await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
      }
      const b = s.blobs.get(sha256);
      if (!b) return null;
      const rest = b.subarray(offset);
      if (s.fault === 'cut') {
        const head = rest.subarray(0, s.cutAfter);
        const stream = new Readable({
          read() {
            this.push(head);
            this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
          },
        });
        return { stream, offset, total: b.length };
      }
      return { stream: Readable.from([rest.subarray(0, Math.ceil(rest.length / 2)), rest.subarray(Math.ceil(rest.length / 2))]), offset, total: b.length };
    },
    async getAlias(gitSha1) {
      if (s.fault === 'refused') throw refused();
      return s.aliases.get(gitSha1) ?? null;
    },
    async headBlob(sha256) {
      const b = s.blobs.get(sha256);
      return b ? { size: b.length, lastReadMs: s.lastRead.get(sha256) ?? null } : null;
    },
    async touchBlob(sha256) {
      s.touches++;
      s.lastRead.set(sha256, Date.now());
    },
    async putBlob(sha256, _size, body) {
      if (s.fault === 'refused') throw refused();
      await s.beforePut?.();
      s.puts.blob++;
      if (s.blobs.has(sha256)) return 'exists';
      const chunks: Buffer[] = [];
      for await (const c of body()) chunks.push(c as Buffer);
      s.blobs.set(sha256, Buffer.concat(chunks));
      return 'stored';
    },
    async putAlias(gitSha1, sha256) {
      s.puts.alias++;
      s.aliases.set(gitSha1, sha256);
    },
    async getJson(key) {
      if (s.fault === 'refused') throw refused();
      return s.json.has(key) ? s.json.get(key) : null;
    },
    async putJson(key, value) {
      s.puts.json++;
      s.json.set(key, JSON.parse(JSON.stringify(value)));
    },
    close() {},
  };
  return s;
}
