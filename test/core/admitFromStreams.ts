import type { OpenedCache } from '../../src/cache/maintenanceApi.js';
import type { AdmitRequest, ModelRecord, SnapshotFile } from '../../src/cache/types.js';
import type { ExpectedContent } from '../../src/store/types.js';

export interface StreamedFile {
  /** relative, '/'-separated */
  path: string;
  expected: ExpectedContent;
  stream: AsyncIterable<Uint8Array>;
}

/**
 * Test helper: writes each file through a verifying BlobWriter (skipping the stream when the store
 * already has the content), then admits the model. Any failure aborts the writer in progress (its temp
 * file is removed) and nothing is admitted. Files are written one after another.
 */
export async function admitFromStreams(
  cache: OpenedCache,
  meta: Omit<AdmitRequest, 'files'>,
  files: StreamedFile[],
): Promise<ModelRecord> {
  const out: SnapshotFile[] = [];
  for (const f of files) {
    const found = cache.findBlob(f.expected);
    if (found) {
      out.push({ path: f.path, blob: found.sha256, size: found.size, gitSha1: found.gitSha1 || undefined });
      continue;
    }
    const w = await cache.openWriter(f.expected, f.path);
    try {
      for await (const chunk of f.stream) await w.write(chunk);
      const ref = await w.commit();
      out.push({ path: f.path, blob: ref.sha256, size: ref.size, gitSha1: ref.gitSha1 || undefined });
    } catch (err) {
      await w.abort();
      throw err;
    }
  }
  return cache.admit({ ...meta, files: out });
}
