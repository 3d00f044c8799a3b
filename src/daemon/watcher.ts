import fs from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Cache } from '../cache/types.js';
import { matchesFingerprint } from '../cache/fingerprint.js';

/**
 * Watches the snapshot tree for edits behind the daemon's back. An event is only a hint: the file is
 * lstat'ed and compared with its recorded fingerprint (size, inode, mtime), so the daemon's own
 * evictions and re-admissions never mark a healthy model damaged. Every event distrusts the model it
 * touches: its next hit re-checks all its files (an event may stand for more than the file it names).
 * The initial scan runs after the daemon is ready; it never delays start-up.
 */
export interface SnapshotWatcher {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchSnapshots(opts: {
  cache: Cache;
  onDamaged: (modelId: number, file: string, kind: 'missing' | 'changed') => void;
  onError?: (err: unknown) => void;
}): SnapshotWatcher {
  const { cache } = opts;
  const root = cache.layout.snapshots;
  const watcher: FSWatcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    persistent: true,
    ignorePermissionErrors: true,
  });

  const check = (p: string): void => {
    const model = cache.modelAt(p);
    if (!model) return;
    // Whatever the comparison below finds, the model's next hit re-checks every file.
    cache.distrust(model.id);
    if (model.state === 'damaged') return;
    const rel = path.relative(model.path, p).split(path.sep).join('/');
    const file = cache.files(model.id).find((f) => f.path === rel);
    if (!file) return;
    let st: fs.Stats | null = null;
    try {
      st = fs.lstatSync(p);
    } catch {
      st = null;
    }
    if (st === null || !st.isFile()) {
      opts.onDamaged(model.id, rel, 'missing');
      return;
    }
    if (!matchesFingerprint(st, file)) opts.onDamaged(model.id, rel, 'changed');
  };

  const checkDir = (dir: string): void => {
    for (const m of cache.list()) {
      if (m.state === 'damaged') continue;
      if (m.path === dir || m.path.startsWith(dir + path.sep) || dir.startsWith(m.path + path.sep)) {
        cache.distrust(m.id);
        for (const f of cache.files(m.id)) check(path.join(m.path, ...f.path.split('/')));
      }
    }
  };

  watcher.on('unlink', check);
  watcher.on('change', check);
  watcher.on('add', check);
  watcher.on('unlinkDir', checkDir);
  watcher.on('error', (err) => opts.onError?.(err));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { ready, close: () => watcher.close() };
}

/** Watches one config file; `onChange` gets its new text (the caller validates and applies it). */
export function watchConfigFile(file: string, onChange: (text: string) => void, onError?: (err: unknown) => void): SnapshotWatcher {
  const watcher = watch(file, { ignoreInitial: true, persistent: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 25 } });
  const read = () => {
    try {
      onChange(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      onError?.(err);
    }
  };
  watcher.on('change', read);
  watcher.on('add', read);
  watcher.on('error', (err) => onError?.(err));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { ready, close: () => watcher.close() };
}
