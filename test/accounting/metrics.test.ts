import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shortModelKey } from '../../src/accounting/displayName.js';
import type Database from 'better-sqlite3';
import { collectMetrics, DOWNLOAD_SECONDS_BOUNDS, renderPrometheus } from '../../src/accounting/metrics.js';
import { startRun } from '../../src/accounting/runs.js';
import { queryStats, zeroStats } from '../../src/accounting/stats.js';
import { DAY, EXPECTED, insertEvents, MODELS, openTestDb, T0, workload } from './helpers.js';
import { parsePrometheus, PrometheusParseError, sampleValue } from './parsePrometheus.js';

let t: ReturnType<typeof openTestDb>;
let db: Database.Database;
beforeEach(() => {
  t = openTestDb();
  db = t.db;
});
afterEach(() => t.cleanup());

const NOW = T0 + 5 * DAY;
const P = 'vocorize_cache_';

describe('metrics', () => {
  it('the Prometheus text parses strictly and agrees with stats', () => {
    insertEvents(db, workload());
    db.prepare(`INSERT INTO evictions (ts, model, bytes, reason) VALUES (?, ?, ?, 'lru')`).run(T0 + DAY, MODELS.base.key, MODELS.base.size);
    const m = collectMetrics(db, {
      cacheBytes: 1_690_000_000,
      limitBytes: 5_000_000_000,
      models: 3,
      leases: 2,
      lastVerify: { ts: T0 + 2 * DAY, ok: true },
    });
    const text = renderPrometheus(m);
    const fams = parsePrometheus(text);
    const s = queryStats(db, { now: NOW });

    expect(fams.get(`${P}requests_total`)?.type).toBe('counter');
    expect(fams.get(`${P}requests_total`)?.help).toMatch(/outcome/);
    expect(sampleValue(fams, `${P}requests_total`, { outcome: 'hit' })).toBe(s.hits);
    expect(sampleValue(fams, `${P}requests_total`, { outcome: 'miss' })).toBe(s.misses);
    expect(sampleValue(fams, `${P}requests_total`, { outcome: 'error' })).toBe(s.errors);
    expect(sampleValue(fams, `${P}bytes_served_total`)).toBe(s.bytesServed);
    expect(sampleValue(fams, `${P}bytes_downloaded_total`)).toBe(EXPECTED.bytesDownloaded);
    expect(sampleValue(fams, `${P}bytes_avoided_total`)).toBe(s.bytesAvoided);
    expect(sampleValue(fams, `${P}time_saved_seconds_total`)).toBe(s.timeSavedMs / 1000);
    expect(sampleValue(fams, `${P}model_requests_total`, { model: shortModelKey(MODELS.tiny.key), outcome: 'hit' })).toBe(14);
    expect(sampleValue(fams, `${P}size_bytes`)).toBe(1_690_000_000);
    expect(sampleValue(fams, `${P}limit_bytes`)).toBe(5_000_000_000);
    expect(sampleValue(fams, `${P}models`)).toBe(3);
    expect(sampleValue(fams, `${P}leases`)).toBe(2);
    expect(sampleValue(fams, `${P}evictions_total`)).toBe(1);
    expect(sampleValue(fams, `${P}evicted_bytes_total`)).toBe(MODELS.base.size);
    expect(sampleValue(fams, `${P}last_verify_timestamp_seconds`)).toBe((T0 + 2 * DAY) / 1000);
    expect(sampleValue(fams, `${P}last_verify_ok`)).toBe(1);
    expect(fams.get(`${P}size_bytes`)?.type).toBe('gauge');

    // Histogram of miss durations: 2.1 s, 5.1 s, 5.1 s, 30.1 s.
    const h = fams.get(`${P}download_duration_seconds`)!;
    expect(h.type).toBe('histogram');
    expect(sampleValue(fams, `${P}download_duration_seconds_count`)).toBe(s.misses);
    expect(sampleValue(fams, `${P}download_duration_seconds_sum`)).toBeCloseTo(EXPECTED.missMsTotal / 1000, 9);
    expect(sampleValue(fams, `${P}download_duration_seconds_bucket`, { le: '2.5' })).toBe(1);
    expect(sampleValue(fams, `${P}download_duration_seconds_bucket`, { le: '10' })).toBe(3);
    expect(sampleValue(fams, `${P}download_duration_seconds_bucket`, { le: '60' })).toBe(4);
    expect(sampleValue(fams, `${P}download_duration_seconds_bucket`, { le: '+Inf' })).toBe(4);
    expect(h.samples.filter((x) => x.name.endsWith('_bucket'))).toHaveLength(DOWNLOAD_SECONDS_BOUNDS.length + 1);
  });

  it('counters ignore stats --zero (they never go down) and can be scoped to a run', () => {
    const run = startRun(db, { now: T0 });
    insertEvents(db, workload().map((e, i) => ({ ...e, run: i < 10 ? run.id : undefined })));
    zeroStats(db, NOW);
    const g = { cacheBytes: 0, limitBytes: 1, models: 0, leases: 0 };
    expect(collectMetrics(db, g).requests).toEqual({ hit: 33, miss: 4, error: 3 });
    const scoped = collectMetrics(db, g, { run: run.id });
    const s = queryStats(db, { now: NOW, run: run.id });
    expect(scoped.requests).toEqual({ hit: s.hits, miss: s.misses, error: s.errors });
    const fams = parsePrometheus(renderPrometheus(scoped));
    expect(sampleValue(fams, `${P}requests_total`, { run: run.id, outcome: 'hit' })).toBe(s.hits);
    // Never verified: the last-verify families have no sample.
    expect(fams.get(`${P}last_verify_ok`)?.samples).toEqual([]);
  });

  it('escapes label values so any model name round-trips', () => {
    const nasty = 'org/we"ird\\name\nwith:lines@' + 'd'.repeat(40);
    insertEvents(db, [{ ts: T0, model: nasty, outcome: 'hit', bytesServed: 1, bytesDownloaded: 0, durationMs: 1 }]);
    const text = renderPrometheus(collectMetrics(db, { cacheBytes: 0, limitBytes: 1, models: 1, leases: 0 }));
    expect(text).toContain('model="org/we\\"ird\\\\name\\nwith:lines@');
    expect(text.split('\n').filter((l) => l.includes('we\\"ird'))).toHaveLength(3);
    expect(sampleValue(parsePrometheus(text), `${P}model_requests_total`, { model: nasty, outcome: 'hit' })).toBe(1);
  });
});

describe('parsePrometheus is strict', () => {
  const ok = '# HELP x_total A counter.\n# TYPE x_total counter\nx_total{a="1"} 3\n';
  it('accepts a well-formed exposition', () => {
    expect(sampleValue(parsePrometheus(ok), 'x_total', { a: '1' })).toBe(3);
    expect(sampleValue(parsePrometheus('y 1 1700000000000\n# random comment\ny2 NaN\n'), 'y')).toBe(1);
  });
  const bad: Array<[string, string]> = [
    ['no final line feed', 'x 1'],
    ['bad metric name', '1x 1\n'],
    ['unquoted label', 'x{a=1} 1\n'],
    ['bad escape', 'x{a="\\t"} 1\n'],
    ['unterminated label', 'x{a="1} 1\n'],
    ['duplicate label', 'x{a="1",a="2"} 1\n'],
    ['bad value', 'x 1,5\n'],
    ['missing value', 'x{a="1"}\n'],
    ['trailing junk', 'x 1 2 3\n'],
    ['unknown type', '# TYPE x countr\nx 1\n'],
    ['TYPE after samples', 'x 1\n# TYPE x gauge\n'],
    ['duplicate series', 'x{a="1"} 1\nx{a="1"} 2\n'],
    ['negative counter', '# TYPE x_total counter\nx_total -1\n'],
    ['non-contiguous family', 'x 1\ny 1\nx{a="2"} 1\n'],
    ['histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['histogram not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ['histogram +Inf differs from _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ['bucket without le', '# TYPE h histogram\nh_bucket 2\nh_sum 1\nh_count 2\n'],
  ];
  it.each(bad)('rejects %s', (_what, text) => {
    expect(() => parsePrometheus(text)).toThrow(PrometheusParseError);
  });
});
