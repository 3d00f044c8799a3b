import fs from 'node:fs';
import { shortModelKey } from '../../src/accounting/displayName.js';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { buildReport, renderReportHtml, renderReportJson, renderReportMarkdown, type ReportData } from '../../src/accounting/report.js';
import { startRun } from '../../src/accounting/runs.js';
import { GRADE_RULE, gradeOf } from '../../src/accounting/statsMath.js';
import { DAY, EXPECTED, HOUR, insertEvents, insertModel, MODELS, T0, useTestDb, workload } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const NOW = T0 + 4 * DAY;
const TARGETS = { hitRate: 0.8, lookupMs: 1000 };

const t = useTestDb();

/** The workload, two of its models still cached (large was evicted once), and a hostile model name. */
function seed(): void {
  insertModel(t.db, { ...MODELS.tiny, lastAccess: NOW - HOUR });
  insertModel(t.db, { ...MODELS.base, lastAccess: NOW - 2 * HOUR });
  insertEvents(t.db, workload());
  insertEvents(t.db, [
    { ts: T0 + 3 * DAY, model: '<script>alert(1)</script>@x', outcome: 'miss', bytesServed: 5e6, bytesDownloaded: 5e6, durationMs: 900 },
  ]);
  t.db.prepare(`INSERT INTO evictions (ts, model, bytes, reason) VALUES (?, ?, ?, 'lru')`).run(T0 + 2 * DAY, MODELS.large.key, MODELS.large.size);
}

describe('report data', () => {
  it('summarises against the targets and grades by the written rule', () => {
    seed();
    const d = buildReport(t.db, { now: NOW, targets: TARGETS });
    expect(d.summary).toMatchObject({ hits: 33, misses: 5, errors: 3, requests: 41, bytesAvoided: EXPECTED.bytesAvoided, timeSavedMs: EXPECTED.timeSavedMs });
    expect(d.summary.hitRate).toBeCloseTo(33 / 38, 12);
    expect(d.summary.hitRatePass).toBe(true); // 86.8% >= 80%
    expect(d.summary.lookupPass).toBe(true); // p95 of hits ~1 ms < 1 s
    // 86.8% -> B; errors 3/41 = 7.3% > 5% -> one grade lower.
    expect(d.summary.grade).toBe('C');
    expect(d.summary.gradeReasons).toHaveLength(2);
    expect(d.summary.gradeRule).toBe(GRADE_RULE);

    const large = d.models.find((m) => m.model === MODELS.large.key)!;
    expect(large).toMatchObject({ requests: 10, hits: 9, misses: 1, sizeBytes: null, cached: false, evictions: 1 });
    const tiny = d.models.find((m) => m.model === MODELS.tiny.key)!;
    expect(tiny).toMatchObject({ requests: 15, sizeBytes: 40e6, cached: true, evictions: 0 });
    expect(tiny.lastUse).toBe(Math.max(...workload().filter((e) => e.model === MODELS.tiny.key).map((e) => e.ts!)));
    expect(d.topMisses[0]).toMatchObject({ model: MODELS.base.key, misses: 2, bytesDownloaded: 300e6 });
    expect(d.trend.map((x) => x.day)).toEqual(['2026-01-10', '2026-01-11', '2026-01-12', '2026-01-13']);
    expect(d.trend.reduce((a, x) => a + x.requests, 0)).toBe(41);
  });

  it('grades: bands, lookup and error penalties, no grade without data', () => {
    const g = (hitRate: number | null, lookupMs: number | null = 1, errors = 0, requests = 100) =>
      gradeOf({ hitRate, lookupMs, errors, requests, targets: TARGETS }).grade;
    expect([g(0.95), g(0.85), g(0.75), g(0.6), g(0.3)]).toEqual(['A', 'B', 'C', 'D', 'F']);
    expect(g(0.95, 1500)).toBe('B');
    expect(g(0.95, 1500, 10)).toBe('C');
    expect(g(0.3, 1500, 10)).toBe('F');
    expect(g(0.95, null)).toBe('A');
    expect(g(null)).toBeNull();
  });

  it('a run-scoped report counts only that run', () => {
    seed();
    const run = startRun(t.db, { label: 'nightly', now: NOW });
    insertEvents(t.db, [
      { ts: NOW + 1, model: MODELS.tiny.key, outcome: 'hit', bytesServed: 40e6, bytesDownloaded: 0, durationMs: 0.3, run: run.id, savedMs: 2000 },
      { ts: NOW + 2, model: MODELS.base.key, outcome: 'hit', bytesServed: 150e6, bytesDownloaded: 0, durationMs: 0.3, run: run.id, savedMs: 5000 },
    ]);
    const d = buildReport(t.db, { now: NOW + 10, run: run.id, targets: TARGETS });
    expect(d.summary).toMatchObject({ requests: 2, hits: 2, hitRate: 1, grade: 'A', bytesAvoided: 190e6, timeSavedMs: 7000 });
    expect(renderReportMarkdown(d)).toContain(`run ${run.id} "nightly"`);
  });
});

describe('report renderers', () => {
  it('Markdown has the summary and the per-model table, sizes in decimal units', () => {
    seed();
    const md = renderReportMarkdown(buildReport(t.db, { now: NOW, targets: TARGETS }));
    expect(md).toContain('## Executive summary');
    expect(md).toContain('**Grade: C**');
    expect(md).toMatch(/\| Hit rate \| 86\.8% \| >= 80\.0% \| PASS \|/);
    expect(md).toContain('Grade rule: Start from the hit rate');
    expect(md).toContain('| Model | Requests | Hits | Misses | Errors | Hit rate | Size | Last use | Evictions |');
    expect(md).toContain(`| ${shortModelKey(MODELS.tiny.key)} | 15 | 14 | 1 | 0 | 93.3% | 40.0 MB |`);
    expect(md).toContain(`| ${shortModelKey(MODELS.large.key)} | 10 | 9 | 1 | 0 | 90.0% | not cached |`);
    expect(md).toContain('| Bytes avoided | 15.56 GB |');
    expect(md).toContain('## Top misses');
    expect(md).toContain('## Trend per day (UTC)');
  });

  it('an empty scope renders without a grade and says so', () => {
    const d = buildReport(t.db, { now: NOW, targets: TARGETS });
    expect(d.summary.grade).toBeNull();
    expect(d.summary.hitRatePass).toBeNull();
    expect(renderReportMarkdown(d)).toContain('No requests in scope.');
    const html = renderReportHtml(d);
    expect(html).toContain('no requests in scope');
    expect(html).toContain('<div class="letter">n/a</div>');
  });

  it('JSON is the data, parseable', () => {
    seed();
    const d = buildReport(t.db, { now: NOW, targets: TARGETS });
    const back = JSON.parse(renderReportJson(d)) as ReportData;
    expect(back.summary.hits).toBe(33);
    expect(back.models).toHaveLength(d.models.length);
  });

  it('HTML is self-contained: no script, no external reference, all text escaped', () => {
    seed();
    const html = renderReportHtml(buildReport(t.db, { now: NOW, targets: TARGETS }));
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;@x');
    // Every URL-ish attribute is inline data; the only http URL is the SVG namespace identifier.
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs).toEqual(['data:,']);
    expect(html.match(/https?:\/\/[^"\s]*/g)!.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
  });

  const haveChromium = fs.existsSync(CHROMIUM);
  it.skipIf(!haveChromium)(
    haveChromium
      ? 'HTML renders in headless Chromium without console errors; a screenshot is written'
      : `HTML in headless Chromium: SKIPPED because ${CHROMIUM} is absent (install the Debian package: apt-get install chromium)`,
    async () => {
      seed();
      const file = path.join(t.dir, 'report.html');
      fs.writeFileSync(file, renderReportHtml(buildReport(t.db, { now: NOW, targets: TARGETS })));
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (msg) => {
          if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
        });
        page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
        page.on('request', (req) => requests.push(req.url()));
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

        expect(await page.title()).toContain('hit-rate report');
        expect(await page.locator('.grade .letter').textContent()).toBe('C');
        const boxes = await page.locator('svg').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.width, r.height]));
        expect(boxes).toHaveLength(3);
        for (const [w, h] of boxes) {
          expect(w).toBeGreaterThan(300);
          expect(h).toBeGreaterThan(50);
        }
        expect(await page.locator('svg rect').count()).toBeGreaterThan(10);
        const shot = path.join(t.dir, 'report.png');
        await page.screenshot({ path: shot, fullPage: true });
        expect(fs.statSync(shot).size).toBeGreaterThan(20_000);
        const keep = process.env.VC_REPORT_SCREENSHOT;
        if (keep) fs.copyFileSync(shot, keep);
        expect(problems).toEqual([]);
        expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );
});
