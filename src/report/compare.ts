/**
 * A report of several runs side by side (`rhil report RUN RUN...`): their identities, the settings
 * that differ, each metric's curves overlaid (one colour per run), and the final metrics with the
 * spread over seeds of runs that share every other setting.
 *
 * ```ts
 * const db = openRecordDb('rhil.db', { readonly: true });
 * writeFileSync('compare.html', renderComparison(db, [12, 13, 14]));
 * ```
 */
import type Database from 'better-sqlite3';
import { type RunDetail, getRun } from '../record/read.js';
import { type ChartSpec, DETAIL_METRICS, MAX_POINTS, METRIC_GROUPS, isTestMetric, makeChart } from './charts.js';
import { alignSeries } from './downsample.js';
import { compareRuns, flatten } from './comparison-data.js';
import { escapeHtml, fmtNum, fmtTime } from './html.js';
import { page } from './page.js';
import { lastPoint, readSeries } from './queries.js';

/** Config keys that differ between seeds of one setting without being a setting (the model file is named after the seed). */
const NOT_SETTINGS = new Set(['seed', 'out', 'resumedFrom']);

/** A run's short name in legends: its id, trainer and seed when it has them. */
function runLabel(run: RunDetail): string {
  const c = (run.config ?? {}) as Record<string, unknown>;
  const bits = [typeof c.trainer === 'string' ? c.trainer : run.kind, run.seed !== null ? `seed ${run.seed}` : null].filter((b) => b);
  return `run ${run.id} (${bits.join(', ')})`;
}

export interface SeedGroup {
  /** The settings the runs share, as flattened config text, seeds and output paths left out. */
  key: string;
  runs: number[];
  seeds: (number | null)[];
}

/** Runs grouped by every setting but the seed, in the order first met. */
export function groupBySetting(runs: RunDetail[]): SeedGroup[] {
  const groups = new Map<string, SeedGroup>();
  for (const r of runs) {
    const f = [...flatten({ kind: r.kind, device: r.device?.model ?? null, config: r.config })].filter(([k]) => !NOT_SETTINGS.has(k.replace(/^config\./, '')));
    const key = f.map(([k, v]) => `${k}=${v}`).join('\n');
    const g = groups.get(key) ?? { key, runs: [], seeds: [] };
    g.runs.push(r.id);
    g.seeds.push(r.seed);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** Mean, sample standard deviation, min and max of the finite values. */
export function spread(values: number[]): { n: number; mean: number; sd: number; min: number; max: number } {
  const v = values.filter((x) => Number.isFinite(x));
  const n = v.length;
  const mean = n ? v.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { n, mean, sd, min: n ? Math.min(...v) : NaN, max: n ? Math.max(...v) : NaN };
}

/** The comparison page of runs `ids` (two or more). Throws a RangeError for a run that does not exist. */
export function renderComparison(db: Database.Database, ids: number[], opts: { maxPoints?: number } = {}): string {
  const maxPoints = opts.maxPoints ?? MAX_POINTS;
  const runs = ids.map((id) => {
    const r = getRun(db, id);
    if (!r) throw new RangeError(`no run ${id} in ${db.name}`);
    return r;
  });
  const cmp = compareRuns(db, ids);
  const charts: ChartSpec[] = [];
  const figure = (spec: ChartSpec): string => {
    const id = `chart-${charts.length + 1}`;
    charts.push({ ...spec, id });
    return `<figure class="chart" id="${id}"><figcaption>${escapeHtml(spec.title)}</figcaption><div class="plot"></div>${spec.note ? `<p class="note">${escapeHtml(spec.note)}</p>` : ''}</figure>`;
  };
  const labels = runs.map(runLabel);
  const parts: string[] = [`<h1>Comparison of ${runs.length} runs</h1>`];

  parts.push(`<table class="grid" id="compare-runs"><tr><th>run</th><th>kind</th><th>status</th><th>seed</th><th>device</th><th>started</th></tr>${runs.map((r) =>
    `<tr><td>${escapeHtml(labels[runs.indexOf(r)])}</td><td>${escapeHtml(r.kind)}</td><td><span class="badge ${escapeHtml(r.status)}">${escapeHtml(r.status)}</span></td><td class="num">${r.seed ?? '-'}</td><td>${
      r.device ? escapeHtml(`${r.device.model} ${r.device.serial}`) : 'none'}</td><td>${escapeHtml(fmtTime(r.startedMs))}</td></tr>`).join('')}</table>`);

  const differing = Object.entries(cmp.config);
  parts.push('<h2>Settings that differ</h2>');
  parts.push(differing.length === 0
    ? '<p id="compare-settings-none">The runs\' configs are identical.</p>'
    : `<table class="grid" id="compare-settings"><tr><th>setting</th>${runs.map((r) => `<th>run ${r.id}</th>`).join('')}</tr>${differing.map(([k, vs]) =>
      `<tr><td><code>${escapeHtml(k)}</code></td>${vs.map((v) => `<td>${v === null ? '-' : escapeHtml(v)}</td>`).join('')}</tr>`).join('')}</table>`);

  // Curves: one chart per metric, one series per run, on the union of their steps.
  const names = [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.name)))].filter((n) => !isTestMetric(n) && !DETAIL_METRICS.has(n));
  const known = METRIC_GROUPS.flatMap((g) => g.names.map((n) => ({ n, title: g.names.length > 1 ? `${g.title}: ${n}` : g.title, y: g.yLabel })));
  const ordered = [...known.filter((k) => names.includes(k.n)), ...names.filter((n) => !known.some((k) => k.n === n)).sort().map((n) => ({ n, title: n, y: n }))];
  const x = runs.every((r) => r.kind === 'train') ? 'episode' : 'step';
  const figures = ordered.map(({ n, title, y }) => {
    const series = runs.map((r) => readSeries(db, r.id, n));
    const a = alignSeries(series.map((s) => ({ x: s.step, y: s.value })));
    return figure(makeChart('', { title, xLabel: x, yLabel: y, x: a.x, series: labels.map((label, i) => ({ label, y: a.ys[i] })) }, maxPoints));
  });
  if (figures.length) parts.push(`<h2>Curves</h2>\n<div class="charts">${figures.join('\n')}</div>`);

  // Final metrics, per run and per setting over its seeds.
  const tests = [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.name)))].filter(isTestMetric).sort();
  if (tests.length) {
    const value = new Map(runs.map((r) => [r.id, new Map(tests.filter((t) => r.metrics.some((m) => m.name === t)).map((t) => [t, lastPoint(db, r.id, t).value]))]));
    parts.push(`<h2>Final metrics</h2>\n<table class="grid" id="compare-final"><tr><th>metric</th>${runs.map((r) => `<th>run ${r.id}</th>`).join('')}</tr>${tests.map((t) =>
      `<tr><td><code>${escapeHtml(t)}</code></td>${runs.map((r) => `<td class="num">${escapeHtml(fmtNum(value.get(r.id)!.get(t)))}</td>`).join('')}</tr>`).join('')}</table>`);
    const groups = groupBySetting(runs);
    const rows = groups.flatMap((g, gi) => tests.map((t) => {
      const s = spread(g.runs.map((id) => value.get(id)!.get(t) ?? NaN));
      return `<tr><td>setting ${gi + 1}: runs ${escapeHtml(g.runs.join(', '))}</td><td><code>${escapeHtml(t)}</code></td><td class="num">${s.n}</td><td class="num">${escapeHtml(fmtNum(s.mean))}</td><td class="num">${
        escapeHtml(fmtNum(s.sd))}</td><td class="num">${escapeHtml(s.n ? `${fmtNum(s.min)} – ${fmtNum(s.max)}` : '-')}</td></tr>`;
    }));
    parts.push(`<h3>Over seeds</h3>\n<p class="note">Runs with every setting equal but the seed form one setting; the spread is over their seeds (sd: sample standard deviation, '-' for one seed).</p>
<table class="grid" id="compare-seeds"><tr><th>setting</th><th>metric</th><th>seeds</th><th>mean</th><th>sd</th><th>range</th></tr>${rows.join('')}</table>`);
  }
  parts.push(`<footer>Generated by <code>rhil report</code> at ${escapeHtml(fmtTime(Date.now()))} from ${escapeHtml(db.name)}. Each chart overlays the runs, one colour per run; the page loads nothing from the network.</footer>`);
  return page(`rhil: runs ${ids.join(', ')} compared`, parts.join('\n'), charts);
}
