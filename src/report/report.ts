/**
 * A self-contained HTML report of one recorded run: header (identity, status, device, config),
 * training curves, final test metrics, calibration curves, a stretch of signals, device events and
 * artifacts. Reads the database only; the page needs no network to open.
 *
 * ```ts
 * const db = openRecordDb('rhil.db', { readonly: true });
 * writeReport(db, 12, 'rhil-run-12.html');
 * ```
 */
import type Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { type CalibrationRecord, checkRecord } from '../calibration/record.js';
import { type RunDetail, getRun, readArtifact, readBatches } from '../record/read.js';
import { type ChartInput, type ChartSpec, MAX_POINTS, downsampleNote, groupMetrics, makeChart, metricChart } from './charts.js';
import { escapeHtml, fmtDuration, fmtNum, fmtTime } from './html.js';
import { chartingLibrary, page } from './page.js';
import type { TestTrace } from '../train/common.js';

export interface ReportOptions {
  /** Most points of one plotted series. Defaults to 2000. */
  maxPoints?: number;
  /** Samples of recorded batches plotted when the run has no test trace. Defaults to 500. */
  batchSamples?: number;
  /** Channels of one kind (drive, response) plotted. Defaults to 4. */
  maxChannels?: number;
  /** Current time in Unix ms, for the age of a running run's heartbeat. Defaults to Date.now(). */
  now?: number;
}

export interface ReportSummary {
  bytes: number;
  charts: number;
}

/** The `test_trace` artifact is a trainer's TestTrace (train/common.ts), as stored. */
export type { TestTrace };

/** A run whose heartbeat is older than this is shown as probably dead (the recorder's default). */
const STALE_MS = 60_000;
const MAX_CONFIG_CHARS = 200_000;
const MAX_EVENT_ROWS = 50;

class Charts {
  readonly specs: ChartSpec[] = [];
  constructor(private readonly maxPoints: number) {}

  /** Registers a chart and returns its figure. */
  add(input: ChartInput | ChartSpec): string {
    const id = `chart-${this.specs.length + 1}`;
    const spec = 'id' in input ? { ...input, id } : makeChart(id, input, this.maxPoints);
    this.specs.push(spec);
    return `<figure class="chart" id="${id}"><figcaption>${escapeHtml(spec.title)}</figcaption><div class="plot"></div>${
      spec.note ? `<p class="note">${escapeHtml(spec.note)}</p>` : ''}</figure>`;
  }
}

/** The report of run `runId` as one HTML string. Throws a RangeError when there is no such run. */
export function renderReport(db: Database.Database, runId: number, opts: ReportOptions = {}): string {
  const maxPoints = opts.maxPoints ?? MAX_POINTS;
  if (!Number.isSafeInteger(maxPoints) || maxPoints < 2) throw new RangeError(`option maxPoints must be an integer >= 2, got ${maxPoints}`);
  const run = getRun(db, runId);
  if (!run) throw new RangeError(`no run ${runId} in ${db.name}`);
  const charts = new Charts(maxPoints);
  const maxChannels = opts.maxChannels ?? 4;
  const parts = [
    header(run, opts.now ?? Date.now()),
    ...metricSections(db, run, charts, maxPoints),
    calibrationSection(db, run, charts),
    signalSection(db, run, charts, maxPoints, opts.batchSamples ?? 500, maxChannels),
    eventSection(db, run),
    artifactSection(run),
    footer(maxPoints),
  ];
  return page(`rhil run ${run.id} (${run.kind}, ${run.status})`, parts.filter((p) => p !== '').join('\n'), charts.specs);
}

/** Writes the report of run `runId` to `outPath`. */
export function writeReport(db: Database.Database, runId: number, outPath: string, opts: ReportOptions = {}): ReportSummary {
  const html = renderReport(db, runId, opts);
  writeFileSync(outPath, html);
  return { bytes: Buffer.byteLength(html), charts: (html.match(/<figure class="chart"/g) ?? []).length };
}

// ---- header ------------------------------------------------------------------------------------

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

const code = (s: string | null | undefined): string => (s === null || s === undefined || s === '' ? '-' : `<code>${escapeHtml(s)}</code>`);

function pretty(v: unknown): string {
  let s: string;
  try { s = JSON.stringify(v, null, 2) ?? String(v); } catch { s = String(v); }
  return s.length > MAX_CONFIG_CHARS ? `${s.slice(0, MAX_CONFIG_CHARS)}\n… (${s.length - MAX_CONFIG_CHARS} more characters)` : s;
}

const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function header(run: RunDetail, now: number): string {
  const out: string[] = [`<h1>Run ${run.id}: ${escapeHtml(run.kind)} <span class="badge ${escapeHtml(run.status)}" id="run-status">${escapeHtml(run.status)}</span></h1>`];
  if (run.status === 'failed' || run.status === 'interrupted') {
    out.push(`<div class="banner bad" id="run-problem"><strong>This run ${run.status === 'failed' ? 'failed' : 'was interrupted'}</strong>${
      run.endedMs !== null ? ` at ${escapeHtml(fmtTime(run.endedMs))}` : ''}; what it recorded up to then is below.${
      run.error ? `<pre>${escapeHtml(run.error)}</pre>` : ' No error message was recorded.'}</div>`);
  } else if (run.status === 'running') {
    const age = now - run.heartbeatMs;
    out.push(age > STALE_MS
      ? `<div class="banner warn" id="run-problem"><strong>Marked running, but its writer's last heartbeat was ${escapeHtml(fmtDuration(age))} ago</strong>: the process is probably gone (opening the database for writing marks such a run interrupted).</div>`
      : `<div class="banner warn" id="run-problem">Still running: this report is a snapshot.</div>`);
  }
  const d = run.device;
  const ended = run.endedMs === null ? '-' : `${escapeHtml(fmtTime(run.endedMs))} (${escapeHtml(fmtDuration(run.endedMs - run.startedMs))})`;
  out.push(kv([
    ['Run', String(run.id)],
    ['Kind', escapeHtml(run.kind)],
    ['Status', escapeHtml(run.status)],
    ['Started', escapeHtml(fmtTime(run.startedMs))],
    ['Ended', ended],
    ['Seed', run.seed === null ? '-' : escapeHtml(run.seed)],
    ['Backend', code(run.backend)],
    ['Git commit', code(run.gitCommit)],
    ['Host', `${escapeHtml(run.host)} (pid ${escapeHtml(run.pid)})`],
    ['Device', d ? `<span id="device">${escapeHtml(`${d.vendor} ${d.model}`)}, serial ${escapeHtml(d.serial)}</span>` : 'none recorded'],
    ['Firmware', d ? escapeHtml(d.firmware) : '-'],
    ['Calibration', run.calibrationId === null ? 'none' : `calibration ${escapeHtml(run.calibrationId)}`],
    ['Recorded', escapeHtml(`${count(run.batches, 'batch', 'batches')}, ${count(run.metrics.length, 'metric series', 'metric series')}, ${count(run.artifacts.length, 'artifact')}`)],
  ]));
  out.push(`<details id="config"><summary>Config</summary><pre>${escapeHtml(pretty(run.config))}</pre></details>`);
  if (d && d.info !== null) out.push(`<details><summary>Device INFO</summary><pre>${escapeHtml(pretty(d.info))}</pre></details>`);
  return out.join('\n');
}

// ---- metrics -----------------------------------------------------------------------------------

function readSeries(db: Database.Database, runId: number, name: string): { name: string; step: number[]; value: number[] } {
  const step: number[] = [];
  const value: number[] = [];
  // One series at a time and no row objects: a million-point metric stays a pair of number arrays.
  const rows = db.prepare('SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step, id').raw(true).iterate(runId, name);
  for (const r of rows as Iterable<[number, number | null]>) {
    step.push(r[0]);
    value.push(r[1] ?? NaN);
  }
  return { name, step, value };
}

/**
 * Metric series in min/max buckets of equal step width, computed by SQLite: reading a million rows
 * into JavaScript costs seconds, letting SQLite scan them a fraction of that (one range of the
 * (run_id, name, step) index per bucket, no sorting). All series of the chart share the buckets, so
 * they stay aligned: each bucket gives two rows, at the first and last step any series has in it,
 * where each series puts its minimum and maximum in the order they occurred.
 */
function bucketedMetricChart(db: Database.Database, runId: number, title: string, names: string[], maxPoints: number): ChartSpec {
  const range = db.prepare(`SELECT min(step) AS lo, max(step) AS hi FROM metrics WHERE run_id = ? AND name IN (${names.map(() => '?').join(', ')})`)
    .get(runId, ...names) as { lo: number; hi: number };
  const buckets = Math.floor(maxPoints / 2);
  const span = range.hi - range.lo + 1;
  const edge = (b: number) => range.lo + Math.floor((b * span) / buckets);
  const where = 'WHERE run_id = @run AND name = @name AND step >= @from AND step < @to';
  // SQLite takes a bare column from the row that gave the single min() or max(): the step of the extreme.
  const low = db.prepare(`SELECT min(value) AS v, step FROM metrics ${where} AND value IS NOT NULL`);
  const high = db.prepare(`SELECT max(value) AS v, step FROM metrics ${where} AND value IS NOT NULL`);
  const extent = db.prepare(`SELECT min(step) AS s0, max(step) AS s1, count(*) AS n FROM metrics ${where}`);
  const x: number[] = [];
  const ys: (number | null)[][] = names.map(() => []);
  const counts = names.map(() => 0);
  for (let b = 0; b < buckets; b++) {
    const found = names.map((name, i) => {
      const q = { run: runId, name, from: edge(b), to: edge(b + 1) };
      const e = extent.get(q) as { s0: number | null; s1: number | null; n: number };
      counts[i] += e.n;
      if (e.n === 0) return null;
      return { e, lo: low.get(q) as { v: number | null; step: number | null }, hi: high.get(q) as { v: number | null; step: number | null } };
    });
    const present = found.filter((f) => f !== null);
    if (!present.length) continue;
    const s0 = Math.min(...present.map((f) => f.e.s0 as number));
    const s1 = Math.max(...present.map((f) => f.e.s1 as number));
    const two = s1 > s0;
    if (two) x.push(s0, s1); else x.push(s0);
    found.forEach((f, i) => {
      if (!f || f.lo.v === null || f.hi.v === null) ys[i].push(...(two ? [null, null] : [null]));
      else if (!two) ys[i].push(f.hi.v);
      else if ((f.lo.step as number) <= (f.hi.step as number)) ys[i].push(f.lo.v, f.hi.v);
      else ys[i].push(f.hi.v, f.lo.v);
    });
  }
  return makeChart('', {
    title, xLabel: 'step', yLabel: names.length === 1 ? names[0] : 'value', x,
    series: names.map((name, i) => ({ label: name, y: ys[i] })),
    note: downsampleNote(Math.max(...counts), x.length),
  }, maxPoints);
}

/** One chart of the metric series `names`: exact when their steps fit in `maxPoints`, else bucketed. */
function metricGroupChart(db: Database.Database, runId: number, title: string, names: string[], maxPoints: number): ChartSpec {
  const steps = (db.prepare(`SELECT count(DISTINCT step) AS n FROM metrics WHERE run_id = ? AND name IN (${names.map(() => '?').join(', ')})`)
    .get(runId, ...names) as { n: number }).n;
  if (steps > maxPoints) return bucketedMetricChart(db, runId, title, names, maxPoints);
  return metricChart('', title, names.map((n) => readSeries(db, runId, n)), maxPoints);
}

function metricSections(db: Database.Database, run: RunDetail, charts: Charts, maxPoints: number): string[] {
  const g = groupMetrics(run.metrics.map((m) => m.name));
  const out: string[] = [];
  const figures = g.groups.map((grp) => charts.add(metricGroupChart(db, run.id, grp.title, grp.names, maxPoints)));
  if (g.other.length) figures.push(charts.add(metricGroupChart(db, run.id, 'Other metrics', g.other, maxPoints)));
  if (figures.length) out.push(`<h2>Training curves</h2>\n<div class="charts">${figures.join('\n')}</div>`);
  if (g.test.length) {
    const last = db.prepare('SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step DESC, id DESC LIMIT 1');
    const rows = g.test.map((n) => {
      const r = last.get(run.id, n) as { step: number; value: number | null };
      const v = r.value ?? NaN;
      return `<tr><td><code>${escapeHtml(n)}</code></td><td class="num" title="${escapeHtml(v)}">${escapeHtml(fmtNum(v))}</td><td class="num">${escapeHtml(r.step)}</td></tr>`;
    });
    out.push(`<h2>Final metrics</h2>\n<table class="grid" id="test-metrics"><tr><th>metric</th><th>value</th><th>step</th></tr>${rows.join('')}</table>`);
  } else if (run.kind === 'train' || run.kind === 'run') {
    out.push('<h2>Final metrics</h2>\n<p id="test-metrics-none">No <code>test_*</code> metrics were recorded.</p>');
  }
  return out;
}

// ---- calibration -------------------------------------------------------------------------------

/** The run's calibration record: its 'calibration' artifact, else (a calibrate run) the calibrations row it names. */
function findCalibration(db: Database.Database, run: RunDetail): { record: CalibrationRecord | null; problem: string | null; source: string } {
  let raw: unknown;
  let source: string;
  if (run.artifacts.some((a) => a.name === 'calibration')) {
    const a = readArtifact(db, run.id, 'calibration');
    if (!a || a.json === undefined) return { record: null, problem: "artifact 'calibration' is a blob, not a JSON calibration record", source: "artifact 'calibration'" };
    raw = a.json;
    source = "artifact 'calibration'";
  } else if (run.kind === 'calibrate' && run.calibrationId !== null) {
    const row = db.prepare('SELECT data FROM calibrations WHERE id = ?').get(run.calibrationId) as { data: string | null } | undefined;
    if (!row || row.data === null) return { record: null, problem: null, source: '' };
    raw = JSON.parse(row.data) as unknown;
    source = `calibration ${run.calibrationId}`;
  } else {
    return { record: null, problem: null, source: '' };
  }
  try {
    return { record: checkRecord(raw), problem: null, source };
  } catch (e) {
    return { record: null, problem: `${source} is not a readable calibration record: ${(e as Error).message}`, source };
  }
}

const nums = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number' || v === null);

function heatmap(matrix: number[][], maxIn = 32, maxOut = 64): string {
  const outs = Math.min(matrix.length, maxOut);
  const ins = Math.min(matrix[0]?.length ?? 0, maxIn);
  let maxAbs = 0;
  for (let o = 0; o < outs; o++) for (let i = 0; i < ins; i++) if (Number.isFinite(matrix[o][i])) maxAbs = Math.max(maxAbs, Math.abs(matrix[o][i]));
  const showNumbers = outs <= 12;
  const colour = (v: number): string => {
    if (!Number.isFinite(v) || maxAbs === 0) return '#eee';
    const t = Math.min(1, Math.abs(v) / maxAbs);
    const [r, g, b] = v >= 0 ? [214, 39, 40] : [31, 119, 180];
    const mix = (c: number) => Math.round(255 + (c - 255) * t);
    return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
  };
  // Rows are input channels, columns output channels: devices have few inputs and many outputs, so the table stays wide rather than tall.
  const head = `<tr><th></th>${Array.from({ length: outs }, (_, o) => `<th>${showNumbers || o % 5 === 0 ? `out ${o}` : ''}</th>`).join('')}</tr>`;
  const rows = Array.from({ length: ins }, (_, i) => `<tr><th>in ${i}</th>${Array.from({ length: outs }, (_, o) => {
    const v = matrix[o][i];
    return `<td${showNumbers ? ' class="num"' : ''} style="background:${colour(v)}" title="out ${o} / in ${i}: ${escapeHtml(fmtNum(v))}">${showNumbers ? escapeHtml(fmtNum(v, 3)) : ''}</td>`;
  }).join('')}</tr>`).join('');
  const cut = matrix.length > outs || (matrix[0]?.length ?? 0) > ins
    ? ` Showing ${ins} of ${matrix[0]?.length ?? 0} inputs and ${outs} of ${matrix.length} outputs.` : '';
  return `<div class="scroll"><table class="heat" id="crosstalk">${head}${rows}</table></div>
<p class="note">Response change per unit of drive change, one input driven at a time: red positive, blue negative, full colour ±${escapeHtml(fmtNum(maxAbs))}; hover a cell for its value.${escapeHtml(cut)}</p>`;
}

function calibrationSection(db: Database.Database, run: RunDetail, charts: Charts): string {
  const { record: r, problem, source } = findCalibration(db, run);
  if (problem) return `<h2>Calibration</h2>\n<p class="banner warn">${escapeHtml(problem)}</p>`;
  if (!r) return '';
  const figures: string[] = [];
  const out: string[] = [`<h2>Calibration</h2>`];
  const dev = r.device;
  const rows: [string, string][] = [
    ['Source', escapeHtml(source)],
    ['Device', escapeHtml(`${dev.vendor} ${dev.model}, serial ${dev.serial}, firmware ${dev.firmware}`)],
    ['Shape', escapeHtml(`${count(dev.inChannels, 'input')} (${dev.inFormat} ${dev.inMin}..${dev.inMax}) -> ${count(dev.outChannels, 'output')} (${dev.outFormat} ${dev.outMin}..${dev.outMax}), ${dev.samplePeriodNs} ns per sample`)],
    ['Plan', `${escapeHtml(r.plan?.name)} <code>${escapeHtml(String(r.plan?.hash ?? '').slice(0, 19))}</code>`],
    ['Created', escapeHtml(r.createdAt)],
    ['Device time', r.deviceTimeUs ? escapeHtml(`${fmtNum(r.deviceTimeUs.start / 1e6)} s .. ${fmtNum(r.deviceTimeUs.end / 1e6)} s`) : '-'],
  ];
  if (r.sweep) rows.push(['DC sweep', escapeHtml(`${r.sweep.levels} levels x ${r.sweep.repeats} repeats, reference drive ${fmtNum(r.sweep.referenceDrive)}, repeatability ${fmtNum(r.sweep.repeatability)}, max nonlinearity ${fmtNum(r.sweep.maxNonlinearity * 100, 3)} % of swing`)]);
  if (r.noise) rows.push(['Noise', escapeHtml(`at drive ${fmtNum(r.noise.drive)}, ${r.noise.samples} samples: median sigma ${fmtNum(r.noise.medianSigma)}, mean ${fmtNum(r.noise.meanSigma)}`)]);
  if (r.latency) {
    const l = r.latency;
    rows.push(['Latency / step response', escapeHtml(`step ${fmtNum(l.fromDrive)} -> ${fmtNum(l.toDrive)} (${l.pattern}, ${l.repeats} repeats): latency ${l.latencySamples ?? '-'} samples, settling ${l.settlingSamples ?? '-'} samples${
      l.settlingTimeNs !== null ? ` (${fmtNum(l.settlingTimeNs / 1000)} µs)` : ''}${l.settled ? '' : ', NOT settled by the end of the recording'}; impulse latency ${l.impulseLatencySamples ?? '-'}, decay ${l.impulseDecaySamples ?? '-'} samples; ${l.channelsUsed.length} outputs used, tolerance ${fmtNum(l.tolerance)}`)]);
  }
  if (r.crosstalk) rows.push(['Crosstalk', escapeHtml(`base ${fmtNum(r.crosstalk.baseDrive)}, level ${fmtNum(r.crosstalk.levelDrive)}; largest off-diagonal ratio ${r.crosstalk.maxOffDiagonalRatio === null ? 'n/a (inputs and outputs differ in number)' : fmtNum(r.crosstalk.maxOffDiagonalRatio)}`)]);
  if (r.drift) {
    const d = r.drift;
    rows.push(['Drift', escapeHtml(`${d.points} points over ${fmtNum(d.windowHours * 3600)} s of device time: offset ${fmtNum(d.meanOffsetPerHour)} ± ${fmtNum(d.meanOffsetStdErrPerHour)} per hour, gain ${fmtNum(d.gainPerHour * 100)} % per hour`)]);
  }
  out.push(kv(rows));

  const lin = (r.linearization ?? []).filter((t) => nums(t.drive) && nums(t.linear) && t.drive.length === t.linear.length && t.drive.length > 0);
  if (lin.length) {
    const shown = lin.slice(0, 4);
    // Each channel has its own sweep levels; put them on one x and draw the identity as the linear device's reference.
    const xs = [...new Set(shown.flatMap((t) => t.drive))].sort((a, b) => a - b);
    const series = shown.map((t) => {
      const at = new Map(t.drive.map((d, i) => [d, t.linear[i]]));
      return { label: `in ${t.inChannel}`, y: xs.map((x) => at.get(x) ?? null) };
    });
    figures.push(charts.add({
      title: 'DC transfer: linearisation per input channel', xLabel: 'drive (device units)', yLabel: 'equivalent linear drive',
      x: xs, series: [...series, { label: 'identity', y: xs, dash: true }], log: 'never',
      note: lin.length > shown.length ? `${shown.length} of ${lin.length} input channels shown` : undefined,
    }));
  }
  const ch = r.channels;
  if (nums(ch.gain) || nums(ch.offset)) {
    const n = Math.max(ch.gain?.length ?? 0, ch.offset?.length ?? 0);
    const series: ChartInput['series'] = [];
    if (nums(ch.gain)) series.push({ label: 'gain', y: ch.gain });
    if (nums(ch.offset)) series.push({ label: 'offset', y: ch.offset, axis: series.length ? 'y2' : 'y' });
    figures.push(charts.add({
      title: 'DC gain and offset per output channel', xLabel: 'output channel', x: Array.from({ length: n }, (_, i) => i), series,
      yLabel: nums(ch.gain) ? 'gain (output per drive unit)' : 'offset (output units)',
      ...(series.length > 1 ? { y2Label: 'offset (output units)' } : {}), style: 'points', log: 'never',
    }));
  }
  const sigma = r.noise && nums(r.noise.sigma) ? r.noise.sigma : nums(ch.noiseSigma) ? ch.noiseSigma : null;
  if (sigma) {
    const series: ChartInput['series'] = [{ label: 'sigma (repeat difference)', y: sigma }];
    if (r.noise && nums(r.noise.temporalSigma) && r.noise.temporalSigma.length === sigma.length) series.push({ label: 'temporal sigma', y: r.noise.temporalSigma });
    figures.push(charts.add({
      title: 'Noise per output channel', xLabel: 'output channel', yLabel: 'sigma (output units)',
      x: sigma.map((_, i) => i), series, style: 'points', log: 'never',
    }));
  }
  if (r.drift && nums(r.drift.offsetPerHour)) {
    figures.push(charts.add({
      title: 'Offset drift per output channel', xLabel: 'output channel', yLabel: 'output units per hour',
      x: r.drift.offsetPerHour.map((_, i) => i), series: [{ label: 'offset drift', y: r.drift.offsetPerHour }], style: 'points', log: 'never',
      note: `slope of the response at drive ${fmtNum(r.drift.referenceDrive)} over ${fmtNum(r.drift.windowHours * 3600)} s of device time (the record keeps slopes, not the time series)`,
    }));
  }
  if (figures.length) out.push(`<div class="charts">${figures.join('\n')}</div>`);
  const m = r.crosstalk?.matrix;
  if (Array.isArray(m) && m.length > 0 && m.every((row) => nums(row) && row.length === m[0].length) && m[0].length > 0) {
    out.push(`<h3>Crosstalk</h3>\n${heatmap(m)}`);
  }
  return out.join('\n');
}

// ---- signals -----------------------------------------------------------------------------------

/** A test_trace artifact checked against its documented shape, or why it cannot be used. */
export function parseTestTrace(raw: unknown): TestTrace | string {
  if (typeof raw !== 'object' || raw === null) return 'not a JSON object';
  const o = raw as Record<string, unknown>;
  for (const k of ['drive', 'response', 'target', 'prediction'] as const) {
    const v = o[k];
    if (!Array.isArray(v) || !v.every(nums)) return `${k} must be an array of channels, each an array of numbers`;
  }
  const t = o as unknown as TestTrace;
  return { steps: typeof o.steps === 'number' ? o.steps : Math.max(0, ...t.target.map((c) => c.length)), drive: t.drive, response: t.response, target: t.target, prediction: t.prediction };
}

function channelSeries(channels: number[][], prefix: string, len: number, maxChannels: number, extra: { dash?: boolean } = {}) {
  return channels.slice(0, maxChannels).map((c, i) => ({ label: `${prefix} ${i}`, y: Array.from({ length: len }, (_, t) => (t < c.length ? c[t] : null)), ...extra }));
}

function interleave<T>(a: T[], b: T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]);
    if (i < b.length) out.push(b[i]);
  }
  return out;
}

function channelNote(n: number, maxChannels: number, what: string): string | undefined {
  return n > maxChannels ? `${what} channels 0-${maxChannels - 1} of ${n}` : undefined;
}

function signalSection(db: Database.Database, run: RunDetail, charts: Charts, maxPoints: number, batchSamples: number, maxChannels: number): string {
  const figures: string[] = [];
  let intro = '';
  if (run.artifacts.some((a) => a.name === 'test_trace')) {
    const a = readArtifact(db, run.id, 'test_trace');
    const trace = a && a.json !== undefined ? parseTestTrace(a.json) : 'stored as a blob, not JSON';
    if (typeof trace === 'string') {
      intro = `<p class="banner warn">artifact 'test_trace' is unusable: ${escapeHtml(trace)}</p>`;
    } else {
      const longest = Math.max(0, ...[trace.drive, trace.response, trace.target, trace.prediction].flat().map((c) => c.length));
      // A stretch at full resolution: target against prediction is read sample by sample.
      const len = Math.min(longest, maxPoints);
      const x = Array.from({ length: len }, (_, i) => i);
      const stretch = longest > len ? `steps 0-${len - 1} of ${longest.toLocaleString('en-US')}` : undefined;
      const join = (...n: (string | undefined)[]) => n.filter((s) => s).join('; ') || undefined;
      intro = `<p>The test segment (artifact <code>test_trace</code>, ${escapeHtml(trace.steps.toLocaleString('en-US'))} steps).</p>`;
      const k = Math.max(1, Math.ceil(maxChannels / 2));
      if (trace.target.length || trace.prediction.length) {
        figures.push(charts.add({
          title: 'Test: target and prediction', xLabel: 'step', yLabel: 'value', x, log: 'never',
          // Each target next to its prediction, so pairs sit together in the legend and take neighbouring colours.
          series: interleave(channelSeries(trace.target, 'target', len, k), channelSeries(trace.prediction, 'prediction', len, k, { dash: true })),
          note: join(stretch, channelNote(trace.target.length, k, 'target')),
        }));
      }
      if (trace.drive.length) {
        figures.push(charts.add({
          title: 'Test: drive', xLabel: 'step', yLabel: 'drive', x, log: 'never',
          series: channelSeries(trace.drive, 'drive', len, maxChannels), note: join(stretch, channelNote(trace.drive.length, maxChannels, 'drive')),
        }));
      }
      if (trace.response.length) {
        figures.push(charts.add({
          title: 'Test: response', xLabel: 'step', yLabel: 'response', x, log: 'never',
          series: channelSeries(trace.response, 'response', len, maxChannels), note: join(stretch, channelNote(trace.response.length, maxChannels, 'response')),
        }));
      }
    }
  } else if (run.batches > 0) {
    const s = firstSamples(db, run.id, batchSamples);
    const x = Array.from({ length: s.samples }, (_, i) => i);
    intro = `<p>The first ${escapeHtml(s.samples.toLocaleString('en-US'))} samples recorded (${escapeHtml(s.batchesRead)} of ${escapeHtml(run.batches.toLocaleString('en-US'))} batches${
      s.epochs.length > 1 ? `, state epochs ${escapeHtml(s.epochs.join(', '))}` : ''}); the run has no <code>test_trace</code> artifact.</p>`;
    figures.push(charts.add({
      title: 'Recorded drive', xLabel: 'sample', yLabel: `drive (${s.inputFormat})`, x, log: 'never',
      series: channelSeries(s.drive, 'in', s.samples, maxChannels), note: channelNote(s.drive.length, maxChannels, 'input'),
    }));
    figures.push(charts.add({
      title: 'Recorded response', xLabel: 'sample', yLabel: `response (${s.outputFormat})`, x, log: 'never',
      series: channelSeries(s.response, 'out', s.samples, maxChannels), note: channelNote(s.response.length, maxChannels, 'output'),
    }));
  }
  if (!figures.length && !intro) return '';
  return `<h2>Signals</h2>\n${intro}${figures.length ? `<div class="charts">${figures.join('\n')}</div>` : ''}`;
}

/** The first `want` samples of the recorded batches, channel-major. */
function firstSamples(db: Database.Database, runId: number, want: number) {
  const drive: number[][] = [];
  const response: number[][] = [];
  const epochs: number[] = [];
  let samples = 0, batchesRead = 0, inputFormat = '', outputFormat = '';
  const put = (dst: number[][], data: Float32Array, shape: number[], rows: number) => {
    const width = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    for (let c = 0; c < width; c++) {
      dst[c] ??= new Array<number>(samples).fill(NaN);
      for (let t = 0; t < rows; t++) dst[c].push(data[t * width + c]);
    }
    for (let c = width; c < dst.length; c++) for (let t = 0; t < rows; t++) dst[c].push(NaN);
  };
  for (const b of readBatches(db, runId)) {
    if (samples >= want) break;
    batchesRead++;
    inputFormat ||= b.inputFormat;
    outputFormat ||= b.outputFormat;
    if (!epochs.includes(b.epoch)) epochs.push(b.epoch);
    const rows = Math.min(b.inputShape[0] ?? 0, b.outputShape[0] ?? 0, want - samples);
    put(drive, b.input, b.inputShape, rows);
    put(response, b.output, b.outputShape, rows);
    samples += rows;
  }
  return { drive, response, samples, batchesRead, epochs, inputFormat, outputFormat };
}

// ---- events ------------------------------------------------------------------------------------

function eventCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Uint8Array) return `&lt;${v.byteLength} bytes&gt;`;
  const s = String(v);
  return escapeHtml(s.length > 300 ? `${s.slice(0, 300)}…` : s);
}

/** Device events of the run, when the database has an events table (schema v2 on); its columns are read, not assumed. */
function eventSection(db: Database.Database, run: RunDetail): string {
  const has = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events'").get();
  if (!has) return '';
  const cols = (db.prepare("SELECT name FROM pragma_table_info('events')").all() as { name: string }[]).map((c) => c.name);
  if (!cols.includes('run_id')) return '<h2>Device events</h2>\n<p>The events table has no run_id column; not shown.</p>';
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const total = (db.prepare('SELECT count(*) AS n FROM events WHERE run_id = ?').get(run.id) as { n: number }).n;
  const out = [`<h2>Device events</h2>`];
  if (total === 0) return `${out[0]}\n<p id="events-none">No device events were recorded for this run.</p>`;
  const typeCol = ['type', 'kind', 'event', 'name'].find((c) => cols.includes(c));
  if (typeCol) {
    const counts = db.prepare(`SELECT ${q(typeCol)} AS t, count(*) AS n FROM events WHERE run_id = ? GROUP BY 1 ORDER BY 2 DESC, 1`).all(run.id) as { t: unknown; n: number }[];
    out.push(`<table class="grid" id="event-counts"><tr><th>${escapeHtml(typeCol)}</th><th>count</th></tr>${
      counts.map((c) => `<tr><td>${eventCell(c.t)}</td><td class="num">${c.n}</td></tr>`).join('')}</table>`);
  }
  const shown = cols.filter((c) => c !== 'run_id');
  const rows = db.prepare(`SELECT ${shown.map(q).join(', ')} FROM events WHERE run_id = ? ORDER BY rowid LIMIT ?`).all(run.id, MAX_EVENT_ROWS) as Record<string, unknown>[];
  out.push(`<details${total <= 20 ? ' open' : ''}><summary>${total <= MAX_EVENT_ROWS ? `All ${total} events` : `First ${MAX_EVENT_ROWS} of ${total} events`}</summary><div class="scroll"><table class="grid" id="events">` +
    `<tr>${shown.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${shown.map((c) => {
      const v = r[c];
      return /_ms$/.test(c) && typeof v === 'number' ? `<td>${escapeHtml(fmtTime(v))}</td>` : `<td>${eventCell(v)}</td>`;
    }).join('')}</tr>`).join('')}</table></div></details>`);
  return out.join('\n');
}

// ---- artifacts, footer -------------------------------------------------------------------------

function artifactSection(run: RunDetail): string {
  if (!run.artifacts.length) return '';
  return `<h2>Artifacts</h2>\n<table class="grid"><tr><th>name</th><th>kind</th><th>size</th><th>created</th></tr>${run.artifacts.map((a) =>
    `<tr><td><code>${escapeHtml(a.name)}</code></td><td>${escapeHtml(a.kind)}</td><td class="num">${escapeHtml(a.bytes.toLocaleString('en-US'))} bytes${a.isBlob ? ' (blob)' : ''}</td><td>${escapeHtml(fmtTime(a.createdMs))}</td></tr>`).join('')}</table>`;
}

function footer(maxPoints: number): string {
  const lib = chartingLibrary();
  return `<footer>Generated by <code>rhil report</code> at ${escapeHtml(fmtTime(Date.now()))}. Series longer than ${maxPoints.toLocaleString('en-US')} points are downsampled (the minimum and maximum of each bucket kept) and values rounded to 6 significant digits; each chart says when. Signals show a stretch, not the whole run. Charts: ${escapeHtml(lib.name)} ${escapeHtml(lib.version)} (${escapeHtml(lib.license)}), inlined; the page loads nothing from the network.</footer>`;
}
