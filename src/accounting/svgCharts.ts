import { escapeHtml } from './reportFormat.js';

/** Pure inline-SVG charts for the HTML report: no scripts, no external resources, all text escaped. */

export interface BarSeries {
  name: string;
  color: string;
  /** One value per category; null draws no bar (no data). */
  values: Array<number | null>;
}

export interface BarChartSpec {
  title: string;
  categories: string[];
  series: BarSeries[];
  /** Top of the y axis; the default is a round number above the largest value. */
  yMax?: number;
  yFormat: (v: number) => string;
  /** Dashed horizontal line, e.g. the hit-rate target. */
  target?: { value: number; label: string };
  /** Per bar colour override (e.g. below target). */
  colorOf?: (series: BarSeries, value: number) => string;
}

const W = 720;
const H = 260;
const M = { left: 64, right: 16, top: 30, bottom: 40 };

/** Smallest of 1, 2, 2.5, 5 x 10^k that is >= v (v > 0). */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function n(x: number): string {
  return String(Math.round(x * 10) / 10);
}

function svgOpen(title: string, height: number): string {
  const t = escapeHtml(title);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="${t}"><title>${t}</title>`;
}

function noData(title: string): string {
  return `${svgOpen(title, 80)}<text x="${W / 2}" y="45" text-anchor="middle" class="muted">no requests in scope</text></svg>`;
}

/** Vertical grouped bars, one group per category. */
export function barChartSvg(spec: BarChartSpec): string {
  const { categories, series } = spec;
  if (categories.length === 0) return noData(spec.title);
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const yMax = spec.yMax ?? niceCeil(Math.max(0, ...all, spec.target?.value ?? 0));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (v: number) => M.top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const band = plotW / categories.length;
  const groupW = band * 0.8;
  const barW = groupW / series.length;
  const parts: string[] = [svgOpen(spec.title, H)];

  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${n(y(v))}" y2="${n(y(v))}" class="grid"/>`,
      `<text x="${M.left - 6}" y="${n(y(v) + 4)}" text-anchor="end" class="tick">${escapeHtml(spec.yFormat(v))}</text>`,
    );
  }
  const every = Math.max(1, Math.ceil(categories.length / 12));
  categories.forEach((c, ci) => {
    const gx = M.left + ci * band + (band - groupW) / 2;
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === null || v === undefined) return;
      const top = y(v);
      const color = spec.colorOf ? spec.colorOf(s, v) : s.color;
      parts.push(
        `<rect x="${n(gx + si * barW)}" y="${n(top)}" width="${n(Math.max(1, barW - 1))}" height="${n(M.top + plotH - top)}" fill="${escapeHtml(color)}"><title>${escapeHtml(`${c} ${s.name}: ${spec.yFormat(v)}`)}</title></rect>`,
      );
    });
    if (ci % every === 0) {
      parts.push(`<text x="${n(M.left + ci * band + band / 2)}" y="${H - M.bottom + 16}" text-anchor="middle" class="tick">${escapeHtml(c)}</text>`);
    }
  });
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}" class="axis"/>`);
  if (spec.target) {
    const ty = n(y(spec.target.value));
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ty}" y2="${ty}" class="target"/>`);
  }
  // Legend above the plot: one swatch per series, then the target's dashed line.
  let lx = M.left;
  for (const s of series) {
    parts.push(
      `<rect x="${lx}" y="8" width="12" height="12" fill="${escapeHtml(s.color)}"/>`,
      `<text x="${lx + 17}" y="18" class="legend">${escapeHtml(s.name)}</text>`,
    );
    lx += 30 + s.name.length * 7.5;
  }
  if (spec.target) {
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="14" y2="14" class="target"/>`,
      `<text x="${lx + 28}" y="18" class="legend">${escapeHtml(spec.target.label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface HBarRow {
  label: string;
  /** 0..1, or null for no hits/misses. */
  value: number | null;
  note: string;
}

/** Horizontal bars of a 0..1 rate per row (per-model hit rate), with an optional target line. */
export function rateBarsSvg(spec: { title: string; rows: HBarRow[]; target?: number; colorOf: (v: number) => string }): string {
  if (spec.rows.length === 0) return noData(spec.title);
  const rowH = 26;
  const top = 24;
  const labelW = 300;
  const barX = labelW + 10;
  const barMax = W - barX - 130;
  const height = top + spec.rows.length * rowH + 10;
  const parts: string[] = [svgOpen(spec.title, height)];
  for (const pct of [0, 0.5, 1]) {
    const x = n(barX + pct * barMax);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${top - 4}" y2="${height - 8}" class="grid"/>`,
      `<text x="${x}" y="${top - 8}" text-anchor="middle" class="tick">${pct * 100}%</text>`,
    );
  }
  spec.rows.forEach((r, i) => {
    const yy = top + i * rowH;
    const label = shortLabel(r.label);
    parts.push(`<text x="${labelW}" y="${yy + 17}" text-anchor="end" class="label">${escapeHtml(label)}<title>${escapeHtml(r.label)}</title></text>`);
    if (r.value !== null) {
      parts.push(
        `<rect x="${barX}" y="${yy + 5}" width="${n(Math.max(1, r.value * barMax))}" height="${rowH - 10}" fill="${escapeHtml(spec.colorOf(r.value))}"><title>${escapeHtml(`${r.label}: ${r.note}`)}</title></rect>`,
      );
    }
    parts.push(`<text x="${n(barX + barMax + 8)}" y="${yy + 17}" class="value">${escapeHtml(r.note)}</text>`);
  });
  if (spec.target !== undefined) {
    const x = n(barX + spec.target * barMax);
    parts.push(`<line x1="${x}" x2="${x}" y1="${top - 4}" y2="${height - 8}" class="target"/>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** A chart label for a model key: the commit cut to 7 hex digits, then the middle elided past 44 characters. */
export function shortLabel(key: string): string {
  const s = key.replace(/@([0-9a-f]{7})[0-9a-f]{33}$/, '@$1');
  return s.length > 44 ? `${s.slice(0, 21)}…${s.slice(-22)}` : s;
}
