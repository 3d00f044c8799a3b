import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CacheError, ErrorCodes } from '../../src/errors.js';
import type { BlobRef, BlobSink, BlobWriter, ExpectedContent } from '../../src/store/types.js';

/**
 * A small BlobSink over a temp dir that follows the BlobWriter contract of src/store/types.ts: bytes go to
 * `tmp/`, sha256 and git blob SHA-1 are computed in the same pass, commit() checks size and every expected
 * digest before renaming into `blobs/<sha256>`; every failure removes the temp file. Size-only expectations
 * are accepted (the directory origin) and return the computed digests.
 */
export interface TempSink extends BlobSink {
  dir: string;
  blobs: Map<string, BlobRef>;
  read(sha256: string): Buffer;
  tempFiles(): string[];
  writersOpened: number;
}

export function createTempSink(dir: string): TempSink {
  const tmp = path.join(dir, 'tmp');
  const blobsDir = path.join(dir, 'blobs');
  fs.mkdirSync(tmp, { recursive: true });
  fs.mkdirSync(blobsDir, { recursive: true });
  const blobs = new Map<string, BlobRef>();
  const byGit = new Map<string, BlobRef>();

  const sink: TempSink = {
    dir,
    blobs,
    writersOpened: 0,
    read: (sha) => fs.readFileSync(path.join(blobsDir, sha)),
    tempFiles: () => fs.readdirSync(tmp),
    findBlob(e: ExpectedContent): BlobRef | null {
      if (e.sha256) return blobs.get(e.sha256) ?? null;
      if (e.gitSha1) return byGit.get(e.gitSha1) ?? null;
      return null;
    },
    async openWriter(expected: ExpectedContent): Promise<BlobWriter> {
      sink.writersOpened++;
      const temp = path.join(tmp, `blob-${crypto.randomUUID()}`);
      const fh = await fsp.open(temp, 'wx');
      let sha256 = crypto.createHash('sha256');
      let sha1 = crypto.createHash('sha1').update(`blob ${expected.size}\0`);
      let written = 0;
      let closed = false;
      const cleanup = async () => {
        if (closed) return;
        closed = true;
        await fh.close().catch(() => undefined);
        await fsp.rm(temp, { force: true });
      };
      const integrity = (m: string) => new CacheError(ErrorCodes.INTEGRITY, m, { retryable: true });
      return {
        get written() {
          return written;
        },
        async write(chunk) {
          if (closed) throw new CacheError(ErrorCodes.INTERNAL, 'writer closed');
          if (written + chunk.byteLength > expected.size) {
            await cleanup();
            throw integrity(`expected size ${expected.size} got at least ${written + chunk.byteLength}`);
          }
          sha256.update(chunk);
          sha1.update(chunk);
          const at = written;
          written += chunk.byteLength;
          await fh.write(chunk, 0, chunk.byteLength, at);
        },
        async restart() {
          written = 0;
          sha256 = crypto.createHash('sha256');
          sha1 = crypto.createHash('sha1').update(`blob ${expected.size}\0`);
          await fh.truncate(0);
        },
        async commit() {
          if (closed) throw new CacheError(ErrorCodes.INTERNAL, 'writer closed');
          if (written !== expected.size) {
            await cleanup();
            throw integrity(`expected size ${expected.size} got ${written}`);
          }
          const ref: BlobRef = { sha256: sha256.digest('hex'), size: written, gitSha1: sha1.digest('hex') };
          if ((expected.sha256 && expected.sha256 !== ref.sha256) || (expected.gitSha1 && expected.gitSha1 !== ref.gitSha1)) {
            await cleanup();
            throw integrity(`digest mismatch: got sha256 ${ref.sha256}`);
          }
          await fh.sync();
          await fh.close();
          closed = true;
          await fsp.rename(temp, path.join(blobsDir, ref.sha256));
          blobs.set(ref.sha256, ref);
          byGit.set(ref.gitSha1, ref);
          return ref;
        },
        abort: cleanup,
      };
    },
  };
  return sink;
}
