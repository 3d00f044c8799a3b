import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireCacheLock, type CacheLock, type LockHolder } from '../../src/db/cacheLock.js';
import { startTakingOver } from '../../src/daemon/handOver.js';
import { CacheError, ErrorCodes } from '../../src/errors.js';

/**
 * The service daemon's start when the cache is locked: taken over from an autostarted daemon (asked to
 * shut down), awaited from a CLI, refused (with the reason, nothing signalled) from anything else.
 * The holder is a real cache lock held in this process; `start` takes the same lock.
 */

let cacheDir: string;
let held: CacheLock | null;
beforeEach(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vc-handover-'));
  held = null;
});
afterEach(() => {
  held?.release();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

const quiet = { info: () => undefined, warn: () => undefined };
const holder = (over: Partial<LockHolder>): LockHolder => ({ pid: 4242, socket: '/tmp/autostarted.sock', startedAt: 1, role: 'daemon', ...over });
const hold = (h: LockHolder) => (held = acquireCacheLock(cacheDir, h));
const start = () => Promise.resolve(acquireCacheLock(cacheDir, holder({ pid: process.pid, managedBy: 'systemd' })));

describe('startTakingOver', () => {
  it('an autostarted holder is asked to shut down over its socket; once it lets go, the service daemon starts', async () => {
    const h = holder({ managedBy: 'autostart' });
    hold(h);
    const asked: string[] = [];
    const r = await startTakingOver({ cacheDir }, start, {
      logger: quiet,
      pollMs: 5,
      askShutdown: async (socket) => {
        asked.push(socket);
        setTimeout(() => held?.release(), 20);
      },
    });
    expect(asked).toEqual([h.socket]);
    expect(r.kind).toBe('started');
    if (r.kind === 'started') {
      expect(r.from).toEqual(h);
      r.daemon.release();
    }
  });

  it.each([
    ['another service', holder({ managedBy: 'launchd' })],
    ['a daemon run by hand', holder({ managedBy: null })],
    ['a daemon from before the field existed', holder({})],
  ])('a holder that is %s is never asked to stop: refused, naming it', async (_what, h) => {
    hold(h);
    let asked = false;
    const r = await startTakingOver({ cacheDir }, start, { logger: quiet, askShutdown: async () => void (asked = true) });
    expect(asked).toBe(false);
    expect(r).toMatchObject({ kind: 'refused', holder: h });
    if (r.kind === 'refused') expect(r.reason).toContain(`pid ${h.pid}`);
  });

  it('an autostarted holder that refuses shutdown, or does not let go in time, is refused', async () => {
    hold(holder({ managedBy: 'autostart' }));
    const refusing = await startTakingOver({ cacheDir }, start, {
      logger: quiet,
      askShutdown: () => Promise.reject(new CacheError(ErrorCodes.UNREACHABLE, 'no answer')),
    });
    expect(refusing.kind).toBe('refused');
    if (refusing.kind === 'refused') expect(refusing.reason).toContain('did not accept shutdown: no answer');

    const lingering = await startTakingOver({ cacheDir }, start, { logger: quiet, waitMs: 100, pollMs: 5, askShutdown: async () => undefined });
    expect(lingering.kind).toBe('refused');
    if (lingering.kind === 'refused') expect(lingering.reason).toContain('did not let go');
  });

  it('a CLI holding the cache directly is waited for, not asked', async () => {
    hold(holder({ role: 'cli', socket: null }));
    setTimeout(() => held?.release(), 30);
    let asked = false;
    const r = await startTakingOver({ cacheDir }, start, { logger: quiet, pollMs: 5, askShutdown: async () => void (asked = true) });
    expect(asked).toBe(false);
    expect(r.kind).toBe('started');
    if (r.kind === 'started') r.daemon.release();
  });

  it('errors other than E_LOCKED are thrown', async () => {
    await expect(
      startTakingOver({ cacheDir }, () => Promise.reject(new CacheError(ErrorCodes.CONFIG, 'bad')), { logger: quiet }),
    ).rejects.toMatchObject({ code: ErrorCodes.CONFIG });
  });
});
