import crypto from 'node:crypto';

/** sha256 (and, when asked, the git blob SHA-1) of one stream of bytes, fed in order. */
export interface StreamHasher {
  /** Feed the next bytes; they are hashed before this returns (the caller may reuse the buffer). */
  update(bytes: Uint8Array): void;
  /** Start again from byte 0. */
  reset(): void;
  /** gitSha1 is '' when the hasher was made without it. */
  digest(): Promise<{ sha256: string; gitSha1: string }>;
  /** Forget the stream (no digest will be asked). Idempotent. */
  dispose(): void;
}

export interface HasherOptions {
  /** Also compute the git blob SHA-1 (`sha1("blob <size>\0" + bytes)`). Default true. */
  gitSha1?: boolean;
}

function gitSha1Of(size: number, want: boolean): crypto.Hash | null {
  return want ? crypto.createHash('sha1').update(`blob ${size}\0`) : null;
}

/**
 * Hashes on the caller's thread with node:crypto (native, hardware sha256 where the CPU has it): a 64 KiB
 * network chunk costs tens of microseconds, cheaper than copying it to a worker thread, and the event
 * loop is never held for longer than one chunk's hash.
 */
export function inlineHasher(size: number, opts: HasherOptions = {}): StreamHasher {
  const want = opts.gitSha1 ?? true;
  let sha256 = crypto.createHash('sha256');
  let sha1 = gitSha1Of(size, want);
  return {
    update(b) {
      sha256.update(b);
      sha1?.update(b);
    },
    reset() {
      sha256 = crypto.createHash('sha256');
      sha1 = gitSha1Of(size, want);
    },
    digest: async () => ({ sha256: sha256.digest('hex'), gitSha1: sha1 ? sha1.digest('hex') : '' }),
    dispose() {},
  };
}

/**
 * The Hub stores every file over 10 MiB in LFS and names it by sha256 (its git blob id is then the
 * pointer's, not the content's); only files up to this size can be named by a content git SHA-1.
 */
export const GIT_BLOB_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Whether a download must also compute its git blob SHA-1: when the origin named the file by it (to
 * check it), when there is no sha256 to name it by, or when the file is small enough that another
 * listing may name the same content by git SHA-1 (to find it then). A large file named by sha256
 * never needs it, which halves the hashing of model weights.
 */
export function needsGitSha1(e: { size: number; sha256?: string; gitSha1?: string }): boolean {
  return Boolean(e.gitSha1) || !e.sha256 || e.size <= GIT_BLOB_MAX_BYTES;
}
