import { describe, expect, it } from 'vitest';
import { aliasesByKey, displayNames, shortModelKey, UNRESOLVED_MODEL } from '../../src/accounting/displayName.js';
import { columnTitle, renderStats } from '../../src/cli/commands/accounting.js';
import { durationText, sizeText } from '../../src/cli/configFile.js';
import { duration, size } from '../../src/cli/format.js';
import type { ResultOf } from '../../src/ipc/protocol.js';

const KEY = `argmaxinc/whisperkit-coreml:openai_whisper-tiny@${'a'.repeat(40)}`;

const stats = (over: Partial<ResultOf<'stats'>> = {}): ResultOf<'stats'> => ({
  hits: 3, misses: 1, errors: 1, requests: 5, hitRate: 0.75, bytesServed: 4e6, bytesDownloaded: 1e6, bytesAvoided: 3e6,
  timeSavedMs: 8700, missPenaltyMs: 1600, medianHitMs: 0.12, lookupP50Ms: 0.12, lookupP95Ms: 0.3, lookupP99Ms: 0.4,
  lookupSample: 3, modelsTouched: 1, since: null, sinceFrom: null, resetAt: null, run: null, runInfo: null, now: 0,
  approximations: [], localHits: 3, tierHits: 0, hubDownloads: 1, bytesFromTier: 0, hubBytesAvoided: 3e6, ...over,
});

describe('one duration and size style', () => {
  it('sub-millisecond times keep two decimals; seconds and minutes are spaced like the reports', () => {
    expect(duration(0.12)).toBe('0.12 ms');
    expect(duration(8.7)).toBe('8.7 ms');
    expect(duration(250)).toBe('250 ms');
    expect(duration(1600)).toBe('1.6 s');
    expect(duration(125_000)).toBe('2 min 5 s');
    expect(size(1500)).toBe('1.5 kB');
  });
});

describe('stats', () => {
  it('headers are readable words and models show their display name, not the 90-character key', () => {
    const text = renderStats(
      stats({
        breakdown: [
          { model: KEY, name: 'whisper-tiny', requests: 4, hits: 3, misses: 1, errors: 0, hitRate: 0.75, bytesServed: 4e6, bytesDownloaded: 1e6, bytesAvoided: 3e6, timeSavedMs: 8700, medianHitMs: 0.12, missPenaltyMs: 1600 },
          { model: UNRESOLVED_MODEL, name: UNRESOLVED_MODEL, requests: 1, hits: 0, misses: 0, errors: 1, hitRate: null, bytesServed: 0, bytesDownloaded: 0, bytesAvoided: 0, timeSavedMs: 0, medianHitMs: null, missPenaltyMs: null },
        ],
      }),
    );
    const [head, ...rows] = text.split('\n').slice(5);
    expect(head).toMatch(/^Model +Requests +Hits +Misses +Errors +Hit rate +Bytes served +Bytes downloaded +Bytes avoided +Time saved +Median hit +Miss penalty$/);
    expect(text).not.toContain(KEY);
    expect(rows[0]).toMatch(/^whisper-tiny .* 8\.7 s +0\.12 ms +1\.6 s$/);
    expect(rows[1]).toMatch(/^\(unresolved\) /);
    expect(text).toContain('Time saved: 8.7 s; miss penalty: 1.6 s');
  });

  it('column titles', () => {
    expect(columnTitle('bytesServed')).toBe('Bytes served');
    expect(columnTitle('medianHitMs')).toBe('Median hit');
    expect(columnTitle('client')).toBe('Client');
    expect(columnTitle('day')).toBe('Day (UTC)');
  });
});

describe('display names', () => {
  it('an alias that resolves to the snapshot, else the repo and subfolder with a 7-hex commit', () => {
    expect(shortModelKey(KEY)).toBe('argmaxinc/whisperkit-coreml:openai_whisper-tiny@aaaaaaa');
    expect(shortModelKey(UNRESOLVED_MODEL)).toBe(UNRESOLVED_MODEL);
    const names = displayNames(aliasesByKey([['tiny-b', KEY], ['tiny-a', KEY], ['never', null]]));
    expect(names(KEY)).toBe('tiny-a');
    expect(names(`mlx-community/whisper-tiny@${'b'.repeat(40)}`)).toBe('mlx-community/whisper-tiny@bbbbbbb');
  });
});

describe('config file units', () => {
  it('exact unit strings the loader reads back', () => {
    expect(sizeText(5e9)).toBe('5GB');
    expect(sizeText(1024 * 1024)).toBe('1MiB');
    expect(sizeText(1023)).toBe('1023B');
    expect(durationText(30 * 60_000)).toBe('30m');
    expect(durationText(90 * 86_400_000)).toBe('90d');
    expect(durationText(250)).toBe('250ms');
  });
});
