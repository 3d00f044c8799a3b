import type { ReportData } from './reportData.js';
import { describeScope, escapeHtml, formatBytes, formatBytesShort, formatMs, formatPct, formatTime, passFail } from './reportFormat.js';
import { modelsTable, missesTable, trendTable, type TextTable } from './reportTables.js';
import { barChartSvg, rateBarsSvg } from './svgCharts.js';

/**
 * The report as ONE self-contained HTML page: inline CSS, inline SVG charts, no scripts, no external
 * resource of any kind (a Content-Security-Policy of default-src 'none' enforces it). Every piece of
 * text from the data is escaped.
 */
export function renderReportHtml(d: ReportData): string {
  const s = d.summary;
  const e = escapeHtml;
  const target = d.targets.hitRate;
  const rateColor = (v: number) => (v >= target ? '#2e7d32' : v >= 0.5 ? '#ef6c00' : '#c62828');

  const card = (label: string, value: string, sub: string, pass?: boolean | null) =>
    `<div class="card"><div class="card-label">${e(label)}</div><div class="card-value">${e(value)}</div>` +
    `<div class="card-sub">${e(sub)}${pass === undefined ? '' : ` <span class="pill ${pass === null ? 'na' : pass ? 'pass' : 'fail'}">${passFail(pass)}</span>`}</div></div>`;

  const days = d.trend.map((t) => t.day.slice(5));
  const hitRateChart = barChartSvg({
    title: 'Hit rate per day',
    categories: days,
    series: [{ name: 'hit rate', color: '#2e7d32', values: d.trend.map((t) => t.hitRate) }],
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)}%`,
    target: { value: target, label: `target ${formatPct(target)}` },
    colorOf: (_s, v) => rateColor(v),
  });
  const bytesChart = barChartSvg({
    title: 'Bytes downloaded vs served per day',
    categories: days,
    series: [
      { name: 'downloaded', color: '#c62828', values: d.trend.map((t) => t.bytesDownloaded) },
      { name: 'served', color: '#1565c0', values: d.trend.map((t) => t.bytesServed) },
    ],
    yFormat: formatBytesShort,
  });
  const modelChart = rateBarsSvg({
    title: 'Hit rate per model',
    rows: d.models.map((m) => ({ label: m.name, value: m.hitRate, note: `${formatPct(m.hitRate)} of ${m.hits + m.misses}` })),
    target,
    colorOf: rateColor,
  });

  const table = (head: string[], rows: string[][], numericFrom = 1) =>
    rows.length === 0
      ? '<p class="muted">No requests in scope.</p>'
      : `<table><thead><tr>${head.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${e(h)}</th>`).join('')}</tr></thead><tbody>` +
        rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${e(c)}</td>`).join('')}</tr>`).join('') +
        '</tbody></table>';

  const asHtml = (t: TextTable) => table(t.head, t.rows);
  const modelsHtml = asHtml(modelsTable(d));
  const missesHtml = d.topMisses.length === 0 ? '<p class="muted">No misses in scope.</p>' : asHtml(missesTable(d));
  const trendHtml = asHtml(trendTable(d));
  const grade = s.grade ?? 'n/a';
  const gradeClass = s.grade === null ? 'na' : s.grade.toLowerCase();

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<link rel="icon" href="data:,">
<title>${e(d.title)}</title>
<style>
:root { color-scheme: light; --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 30px 0 12px; }
.meta, .muted { color: var(--muted); }
.summary { display: grid; grid-template-columns: 150px 1fr; gap: 18px; align-items: stretch; }
.grade { border-radius: 12px; color: #fff; display: flex; flex-direction: column; align-items: center; justify-content: center; padding: 12px; }
.grade .letter { font-size: 64px; font-weight: 700; line-height: 1; }
.grade .cap { font-size: 12px; opacity: .9; margin-top: 6px; text-transform: uppercase; letter-spacing: .06em; }
.grade.a { background: #2e7d32; } .grade.b { background: #558b2f; } .grade.c { background: #f9a825; }
.grade.d { background: #ef6c00; } .grade.f { background: #c62828; } .grade.na { background: #98a2b3; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.card-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card-value { font-size: 22px; font-weight: 600; margin: 2px 0; }
.card-sub { color: var(--muted); font-size: 12px; }
.pill { display: inline-block; border-radius: 999px; padding: 0 8px; font-weight: 600; font-size: 11px; color: #fff; }
.pill.pass { background: #2e7d32; } .pill.fail { background: #c62828; } .pill.na { background: #98a2b3; }
.rule { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; margin-top: 12px; }
.rule ul { margin: 6px 0 0; padding-left: 20px; }
.charts { display: grid; grid-template-columns: 1fr; gap: 14px; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.chart h3 { font-size: 14px; margin: 0 0 6px; }
svg text { font-family: inherit; font-size: 11px; fill: var(--fg); }
svg .tick, svg .muted { fill: var(--muted); }
svg .legend, svg .label, svg .value { font-size: 12px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { stroke: #98a2b3; stroke-width: 1; }
svg .target { stroke: #344054; stroke-width: 1.5; stroke-dasharray: 5 4; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-size: 12px; color: #475467; font-weight: 600; }
td { word-break: break-all; }
td.num, th.num { text-align: right; white-space: nowrap; word-break: normal; }
tr:last-child td { border-bottom: 0; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<main>
<header>
<h1>${e(d.title)}</h1>
<p class="meta">Generated ${e(formatTime(d.generatedAt))}. Scope: ${e(describeScope(d.scope))}.</p>
</header>

<h2>Executive summary</h2>
<section class="summary">
<div class="grade ${gradeClass}"><div class="letter">${e(grade)}</div><div class="cap">grade</div></div>
<div class="cards">
${card('Hit rate', formatPct(s.hitRate), `target ≥ ${formatPct(d.targets.hitRate)}`, s.hitRatePass)}
${card('Lookup time p95', formatMs(s.lookupMs), `target < ${formatMs(d.targets.lookupMs)}`, s.lookupPass)}
${card('Time saved', formatMs(s.timeSavedMs), 'last fetch time of each hit’s model')}
${card('Bytes avoided', formatBytes(s.bytesAvoided), `served ${formatBytes(s.bytesServed)}`)}
${card('Requests', String(s.requests), `${s.hits} hits · ${s.misses} misses · ${s.errors} errors`)}
${card('Downloaded', formatBytes(s.bytesDownloaded), `miss penalty ${formatMs(s.missPenaltyMs)}`)}
</div>
</section>
<div class="rule"><strong>Grade rule.</strong> ${e(s.gradeRule)}
<ul>${s.gradeReasons.map((r) => `<li>${e(r)}</li>`).join('')}</ul></div>

<h2>Charts</h2>
<section class="charts">
<div class="chart"><h3>Hit rate per day (UTC)</h3>${hitRateChart}</div>
<div class="chart"><h3>Bytes downloaded vs served per day (UTC)</h3>${bytesChart}</div>
<div class="chart"><h3>Hit rate per model</h3>${modelChart}</div>
</section>

<h2>Models</h2>
${modelsHtml}

<h2>Top misses</h2>
${missesHtml}

<h2>Trend per day</h2>
${trendHtml}

<footer>Sizes are decimal (1 MB = 10<sup>6</sup> bytes). A hit is a get served without transferring any file from an origin; a miss needed at least one; an error returned no path. Hit rate = hits / (hits + misses).${
    d.approximations.length ? ` Some requests in scope are kept only as daily totals; approximated: ${e(d.approximations.join(', '))}.` : ''
  }</footer>
</main>
</body>
</html>
`;
}
