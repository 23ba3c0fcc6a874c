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
import { type RunDetail, getRun, readArtifact } from '../record/read.js';
import { type AxisLabels, type ChartInput, type ChartSpec, type MetricBand, MAX_POINTS, downsampleNote, groupMetrics, makeChart, metricChart } from './charts.js';
import { alignSeries } from './downsample.js';
import { bucketedMetrics, calibrationData, distinctSteps, eventTable, firstSamples, lastPoint, readSeries } from './queries.js';
import { escapeHtml, fmtDuration, fmtNum, fmtTime } from './html.js';
import { chartingLibrary, page } from './page.js';
import type { SurrogateChoiceRecord, TestTrace } from '../train/common.js';
import { surrogateShape } from '../train/surrogate-setup.js';
import { isClassTask } from '../tasks/class-tasks.js';

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
    confusionSection(db, run),
    calibrationSection(db, run, charts),
    signalSection(db, run, charts, maxPoints, opts.batchSamples ?? 500, maxChannels),
    fidelitySection(db, run),
    surrogateSection(db, run),
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

/**
 * Metric series in min/max buckets of equal step width, computed by SQLite (see
 * {@link bucketedMetrics}), as a chart.
 */
function bucketedMetricChart(db: Database.Database, runId: number, title: string, names: string[], maxPoints: number, labels: AxisLabels): ChartSpec {
  const b = bucketedMetrics(db, runId, names, Math.floor(maxPoints / 2));
  return makeChart('', {
    title, xLabel: labels.x, yLabel: labels.y, x: b.x,
    series: names.map((name, i) => ({ label: name, y: b.ys[i] })),
    note: downsampleNote(Math.max(...b.counts), b.x.length),
  }, maxPoints);
}

/** One chart of the metric series `names`: exact when their steps fit in `maxPoints`, else bucketed. */
function metricGroupChart(db: Database.Database, runId: number, title: string, names: string[], maxPoints: number, labels: AxisLabels): ChartSpec {
  if (distinctSteps(db, runId, names) > maxPoints) return bucketedMetricChart(db, runId, title, names, maxPoints, labels);
  return metricChart('', title, names.map((n) => readSeries(db, runId, n)), maxPoints, labels);
}

/**
 * A group's series with the band `of` ± k `se` as two dashed series (drawn where both were
 * recorded at a step). Read exactly: a band is a sparse per-check series, downsampled by makeChart
 * if need be, never bucketed (a bucket's extremes of the two edges would not be one reading's band).
 */
function bandChart(db: Database.Database, runId: number, title: string, names: string[], band: MetricBand, maxPoints: number, labels: AxisLabels): ChartSpec {
  const series = names.map((n) => readSeries(db, runId, n));
  const of = readSeries(db, runId, band.of), se = readSeries(db, runId, band.se);
  const seAt = new Map(se.step.map((st, i) => [st, se.value[i]]));
  const edge = (sign: number) => {
    const step: number[] = [], value: number[] = [];
    of.step.forEach((st, i) => {
      const e = seAt.get(st);
      if (e !== undefined && Number.isFinite(e) && Number.isFinite(of.value[i])) { step.push(st); value.push(of.value[i] + sign * band.k * e); }
    });
    return { x: step, y: value };
  };
  const a = alignSeries([...series.map((s) => ({ x: s.step, y: s.value })), edge(-1), edge(1)]);
  return makeChart('', {
    title, xLabel: labels.x, yLabel: labels.y, x: a.x, log: 'never',
    series: [
      ...names.map((n, i) => ({ label: n, y: a.ys[i] })),
      { label: `${band.of} - ${band.k} s.e.`, y: a.ys[names.length], dash: true },
      { label: `${band.of} + ${band.k} s.e.`, y: a.ys[names.length + 1], dash: true },
    ],
    note: `dashed: ${band.of} ± ${band.k} standard errors (${band.se})`,
  }, maxPoints);
}

/** The x axis of a run's metrics: trainers record one point per episode, other runs their own steps. */
/**
 * A classification chain run (`rhil train --model-spec` on a classification task): its metrics are
 * per training step and its loss a cross-entropy. A spec run on a time series records per episode
 * and its loss is the readout's MSE, as any train run's.
 */
const isChainRun = (run: RunDetail): boolean => {
  const c = run.config as { modelSpec?: unknown; task?: unknown } | null;
  return typeof c?.modelSpec === 'object' && typeof c.task === 'string' && isClassTask(c.task);
};

const stepLabel = (run: RunDetail): string => (run.kind === 'train' && !isChainRun(run) ? 'episode' : 'step');

/**
 * The readout's out-of-sample error against the device samples spent to reach it: how much device
 * time a result costs, comparable across trainers whose episodes cost different amounts.
 */
function errorVsSamples(db: Database.Database, run: RunDetail, maxPoints: number): ChartSpec | null {
  const names = new Set(run.metrics.map((m) => m.name));
  if (!names.has('device_samples') || !names.has('readout_nmse')) return null;
  const samples = new Map<number, number>();
  const s = readSeries(db, run.id, 'device_samples');
  s.step.forEach((st, i) => samples.set(st, s.value[i]));
  const e = readSeries(db, run.id, 'readout_nmse');
  const pts = e.step.map((st, i) => [samples.get(st), e.value[i]] as const)
    .filter((p): p is readonly [number, number] => p[0] !== undefined && Number.isFinite(p[0]));
  if (!pts.length) return null;
  pts.sort((a, b) => a[0] - b[0]);
  return makeChart('', {
    title: 'Readout error vs device samples', xLabel: 'device samples used (cumulative)', yLabel: 'NMSE (out-of-sample)',
    x: pts.map((p) => p[0]), series: [{ label: 'readout_nmse', y: pts.map((p) => p[1]) }],
  }, maxPoints);
}

function metricSections(db: Database.Database, run: RunDetail, charts: Charts, maxPoints: number): string[] {
  const g = groupMetrics(run.metrics.map((m) => m.name));
  const out: string[] = [];
  const x = stepLabel(run);
  const yLabel = (grp: { key: string; yLabel: string }): string => (grp.key === 'loss' && isChainRun(run) ? 'cross-entropy (training batch)' : grp.yLabel);
  const figures = g.groups.map((grp) => charts.add(grp.band
    ? bandChart(db, run.id, grp.title, grp.names, grp.band, maxPoints, { x, y: yLabel(grp) })
    : metricGroupChart(db, run.id, grp.title, grp.names, maxPoints, { x, y: yLabel(grp) })));
  for (const name of g.other) figures.push(charts.add(metricGroupChart(db, run.id, name, [name], maxPoints, { x, y: name })));
  const vsSamples = errorVsSamples(db, run, maxPoints);
  if (vsSamples) figures.push(charts.add(vsSamples));
  if (figures.length) out.push(`<h2>Training curves</h2>\n<div class="charts">${figures.join('\n')}</div>`);
  if (g.test.length) {
    const rows = g.test.map((n) => {
      const r = lastPoint(db, run.id, n);
      const v = r.value;
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
    raw = calibrationData(db, run.calibrationId);
    if (raw === null) return { record: null, problem: null, source: '' };
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

/** A crosstalk matrix (matrix[out][in]) as a table of coloured cells with a colour bar: every channel. */
function heatmap(matrix: number[][], ratio: number | null): string {
  const outs = matrix.length;
  const ins = matrix[0]?.length ?? 0;
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
  const rows = Array.from({ length: ins }, (_, i) => `<tr><th>${showNumbers || ins <= 12 || i % 5 === 0 ? `in ${i}` : ''}</th>${Array.from({ length: outs }, (_, o) => {
    const v = matrix[o][i];
    return `<td${showNumbers ? ' class="num"' : ''} style="background:${colour(v)}" title="out ${o} / in ${i}: ${escapeHtml(fmtNum(v))}">${showNumbers ? escapeHtml(fmtNum(v, 3)) : ''}</td>`;
  }).join('')}</tr>`).join('');
  const stops = [-1, -0.5, 0, 0.5, 1];
  const bar = `<div class="colourbar" id="crosstalk-colourbar"><span class="bar" style="background:linear-gradient(to right, ${colour(-maxAbs)}, #fff, ${colour(maxAbs)})"></span>${
    stops.map((f) => `<span class="tick" style="left:${(f + 1) * 50}%">${escapeHtml(fmtNum(f * maxAbs, 3))}</span>`).join('')}</div>`;
  const ratioLine = ratio === null ? '' : ` Largest off-diagonal ratio ${escapeHtml(fmtNum(ratio))}: the strongest response of an output to an input other than its own, relative to its response to its own input (0 means no crosstalk).`;
  return `<div class="scroll"><table class="heat" id="crosstalk">${head}${rows}</table></div>${bar}
<p class="note">All ${ins} inputs x ${outs} outputs: response change per unit of drive change, one input driven at a time; the colour bar gives the scale (output units per drive unit), red positive, blue negative; hover a cell for its value.${ratioLine}</p>`;
}

/** Device time a drift rate needs behind it: a slope over less is noise read as a trend. */
export const MIN_DRIFT_WINDOW_S = 60;

/**
 * How far the linearisation tables bend away from the identity, as a fraction of the swept drive
 * range: what the transfer plot shows, so the number and the picture agree.
 */
function tableNonlinearity(tables: { drive: number[]; linear: number[] }[]): number | null {
  let worst: number | null = null;
  for (const t of tables) {
    const range = Math.max(...t.drive) - Math.min(...t.drive);
    if (!(range > 0)) continue;
    for (let j = 0; j < t.drive.length; j++) worst = Math.max(worst ?? 0, Math.abs(t.linear[j] - t.drive[j]) / range);
  }
  return worst;
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
  const linTables = (r.linearization ?? []).filter((t) => nums(t.drive) && nums(t.linear) && t.drive.length === t.linear.length && t.drive.length > 0);
  if (r.sweep) {
    const bend = tableNonlinearity(linTables);
    rows.push(['DC sweep', escapeHtml(`${r.sweep.levels} levels x ${r.sweep.repeats} repeats, reference drive ${fmtNum(r.sweep.referenceDrive)}, repeatability ${fmtNum(r.sweep.repeatability)} output units (median spread of repeated levels)`)]);
    rows.push(['Nonlinearity', `<span id="nonlinearity">${escapeHtml(`${bend === null ? '-' : `${fmtNum(bend * 100, 3)} % of the drive range`}: the largest gap between the equivalent linear drive and the drive in the transfer plot below (0 for a linear device). Per output, the largest deviation from a straight-line fit is ${fmtNum(r.sweep.maxNonlinearity * 100, 3)} % of that output's swing (large for outputs that barely respond, where the swing is mostly noise).`)}</span>`]);
  }
  if (r.noise) rows.push(['Noise', escapeHtml(`at drive ${fmtNum(r.noise.drive)}, ${r.noise.samples} samples: median sigma ${fmtNum(r.noise.medianSigma)}, mean ${fmtNum(r.noise.meanSigma)}`)]);
  if (r.latency) {
    const l = r.latency;
    rows.push(['Latency / step response', escapeHtml(`step ${fmtNum(l.fromDrive)} -> ${fmtNum(l.toDrive)} (${l.pattern}, ${l.repeats} repeats): latency ${l.latencySamples ?? '-'} samples, settling ${l.settlingSamples ?? '-'} samples${
      l.settlingTimeNs !== null ? ` (${fmtNum(l.settlingTimeNs / 1000)} µs)` : ''}${l.settled ? '' : ', NOT settled by the end of the recording'}; impulse latency ${l.impulseLatencySamples ?? '-'}, decay ${l.impulseDecaySamples ?? '-'} samples; ${l.channelsUsed.length} outputs used, tolerance ${fmtNum(l.tolerance)}`)]);
  }
  if (r.crosstalk) {
    rows.push(['Crosstalk', escapeHtml(`each input stepped from ${fmtNum(r.crosstalk.baseDrive)} to ${fmtNum(r.crosstalk.levelDrive)} alone; ${r.crosstalk.maxOffDiagonalRatio === null
      ? 'no off-diagonal ratio (inputs and outputs differ in number, so no output is "its own")'
      : `largest off-diagonal ratio ${fmtNum(r.crosstalk.maxOffDiagonalRatio)} (an output's strongest response to another input over its response to its own; 0 is none)`}; the matrix is below`)]);
  }
  const driftLong = r.drift ? r.drift.windowHours * 3600 >= MIN_DRIFT_WINDOW_S : false;
  if (r.drift) {
    const d = r.drift;
    const secs = d.windowHours * 3600;
    rows.push(['Drift', driftLong
      ? escapeHtml(`${d.points} points over ${fmtNum(secs)} s of device time: offset ${fmtNum(d.meanOffsetPerHour)} ± ${fmtNum(d.meanOffsetStdErrPerHour)} output units per hour (mean over outputs, ± standard error), gain ${fmtNum(d.gainPerHour * 100)} % per hour`)
      : `<span id="drift-too-short">${escapeHtml(`window too short: ${d.points} points over ${fmtNum(secs)} s of device time; an hourly rate needs at least ${MIN_DRIFT_WINDOW_S} s behind it, so none is given (lengthen the plan's drift step)`)}</span>`]);
  }
  out.push(kv(rows));

  const lin = linTables;
  if (lin.length) {
    const shown = lin.slice(0, 8);
    // Each channel has its own sweep levels; put them on one x and draw the identity as the linear device's reference.
    const xs = [...new Set(shown.flatMap((t) => t.drive))].sort((a, b) => a - b);
    const series = shown.map((t) => {
      const at = new Map(t.drive.map((d, i) => [d, t.linear[i]]));
      return { label: `in ${t.inChannel}`, y: xs.map((x) => at.get(x) ?? null) };
    });
    figures.push(charts.add({
      title: 'DC transfer: linearisation per input channel', xLabel: 'drive (device units)', yLabel: 'linear-equivalent drive',
      x: xs, series: [...series, { label: 'identity', y: xs, dash: true }], log: 'never',
      note: `The drive a linear device would need for the response measured at each level; on the identity line means linear.${
        lin.length > shown.length ? ` ${shown.length} of ${lin.length} input channels shown.` : ''}`,
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
      note: 'Gain: slope of each output against the drive (combined over inputs); offset: its response at the reference drive.',
    }));
  }
  const sigma = r.noise && nums(r.noise.sigma) ? r.noise.sigma : nums(ch.noiseSigma) ? ch.noiseSigma : null;
  if (sigma) {
    const series: ChartInput['series'] = [{ label: 'sigma (repeat difference)', y: sigma }];
    if (r.noise && nums(r.noise.temporalSigma) && r.noise.temporalSigma.length === sigma.length) series.push({ label: 'temporal sigma', y: r.noise.temporalSigma });
    figures.push(charts.add({
      title: 'Noise per output channel', xLabel: 'output channel', yLabel: 'sigma (output units)',
      x: sigma.map((_, i) => i), series, style: 'points', log: 'never',
      note: 'Standard deviation of each output at a constant drive: from the difference of repeated samples, and over time.',
    }));
  }
  if (r.drift && driftLong && nums(r.drift.offsetPerHour)) {
    figures.push(charts.add({
      title: 'Offset drift per output channel', xLabel: 'output channel', yLabel: 'output units per hour',
      x: r.drift.offsetPerHour.map((_, i) => i), series: [{ label: 'offset drift', y: r.drift.offsetPerHour }], style: 'points', log: 'never',
      note: `slope of the response at drive ${fmtNum(r.drift.referenceDrive)} over ${fmtNum(r.drift.windowHours * 3600)} s of device time (the record keeps slopes, not the time series)`,
    }));
  }
  if (figures.length) out.push(`<div class="charts">${figures.join('\n')}</div>`);
  const m = r.crosstalk?.matrix;
  if (Array.isArray(m) && m.length > 0 && m.every((row) => nums(row) && row.length === m[0].length) && m[0].length > 0) {
    out.push(`<h3>Crosstalk</h3>\n${heatmap(m, r.crosstalk?.maxOffDiagonalRatio ?? null)}`);
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

/** Values one signal chart may carry: all channels of a short stretch, the first few of a long one. */
const MAX_SIGNAL_VALUES = 40_000;

/**
 * One series per channel: all of them when they fit in MAX_SIGNAL_VALUES, the first `shown` drawn
 * and the rest a click away in the legend.
 */
function channelSeries(channels: number[][], prefix: string, len: number, shown: number, extra: { dash?: boolean } = {}) {
  const keep = Math.max(shown, Math.min(channels.length, Math.floor(MAX_SIGNAL_VALUES / Math.max(1, len))));
  return channels.slice(0, keep).map((c, i) => ({
    label: `${prefix} ${i}`, y: Array.from({ length: len }, (_, t) => (t < c.length ? c[t] : null)), ...extra, ...(i >= shown ? { hidden: true } : {}),
  }));
}

function interleave<T>(a: T[], b: T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]);
    if (i < b.length) out.push(b[i]);
  }
  return out;
}

function channelNote(n: number, shown: number, len: number, what: string): string | undefined {
  if (n <= shown) return undefined;
  const kept = Math.max(shown, Math.min(n, Math.floor(MAX_SIGNAL_VALUES / Math.max(1, len))));
  return kept >= n
    ? `all ${n} ${what} channels; ${shown} drawn, click a legend entry to show or hide a channel`
    : `${what} channels 0-${kept - 1} of ${n} (${shown} drawn, click a legend entry to show or hide one)`;
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
          title: 'Test: target and prediction', xLabel: 'test step', yLabel: 'target units', x, log: 'never',
          // Each target next to its prediction, so pairs sit together in the legend and take neighbouring colours.
          series: interleave(channelSeries(trace.target, 'target', len, k), channelSeries(trace.prediction, 'prediction', len, k, { dash: true })),
          note: join(stretch, channelNote(trace.target.length, k, len, 'target')),
        }));
        const residual = trace.target.map((t, c) => t.map((v, i) => (trace.prediction[c]?.[i] ?? NaN) - v));
        figures.push(charts.add({
          title: 'Test: residual (prediction - target)', xLabel: 'test step', yLabel: 'target units', x, log: 'never',
          series: channelSeries(residual, 'residual', len, k), note: join(stretch, channelNote(residual.length, k, len, 'target')),
        }));
      }
      if (trace.drive.length) {
        figures.push(charts.add({
          title: 'Test: drive', xLabel: 'test step', yLabel: 'drive', x, log: 'never',
          series: channelSeries(trace.drive, 'drive', len, maxChannels), note: join(stretch, channelNote(trace.drive.length, maxChannels, len, 'drive')),
        }));
      }
      if (trace.response.length) {
        figures.push(charts.add({
          title: 'Test: response', xLabel: 'test step', yLabel: 'readout input', x, log: 'never',
          series: channelSeries(trace.response, 'response', len, maxChannels), note: join(stretch, channelNote(trace.response.length, maxChannels, len, 'response')),
        }));
      }
    }
  } else if (run.batches > 0) {
    const s = firstSamples(db, run.id, batchSamples);
    const x = Array.from({ length: s.samples }, (_, i) => i);
    intro = `<p>The first ${escapeHtml(s.samples.toLocaleString('en-US'))} samples recorded (${escapeHtml(s.batchesRead)} of ${escapeHtml(run.batches.toLocaleString('en-US'))} batches${
      s.epochs.length > 1 ? `, state epochs ${escapeHtml(s.epochs.join(', '))}` : ''}); the run has no <code>test_trace</code> artifact.</p>`;
    figures.push(charts.add({
      title: 'Recorded drive', xLabel: 'sample', yLabel: `drive (${s.inputFormat} device units)`, x, log: 'never',
      series: channelSeries(s.drive, 'in', s.samples, maxChannels), note: channelNote(s.drive.length, maxChannels, s.samples, 'input'),
    }));
    figures.push(charts.add({
      title: 'Recorded response', xLabel: 'sample', yLabel: `response (${s.outputFormat} device units)`, x, log: 'never',
      series: channelSeries(s.response, 'out', s.samples, maxChannels), note: channelNote(s.response.length, maxChannels, s.samples, 'output'),
    }));
  }
  if (!figures.length && !intro) return '';
  return `<h2>Signals</h2>\n${intro}${figures.length ? `<div class="charts">${figures.join('\n')}</div>` : ''}`;
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
  const t = eventTable(db, run.id, MAX_EVENT_ROWS);
  if (t === null) return '';
  if (t === 'no-run-id') return '<h2>Device events</h2>\n<p>The events table has no run_id column; not shown.</p>';
  const out = [`<h2>Device events</h2>`];
  if (t.total === 0) return `${out[0]}\n<p id="events-none">No device events were recorded for this run.</p>`;
  if (t.typeCol) {
    out.push(`<table class="grid" id="event-counts"><tr><th>${escapeHtml(t.typeCol)}</th><th>count</th></tr>${
      t.counts.map((c) => `<tr><td>${eventCell(c.t)}</td><td class="num">${c.n}</td></tr>`).join('')}</table>`);
  }
  const { shown, rows, total } = t;
  out.push(`<details${total <= 20 ? ' open' : ''}><summary>${total <= MAX_EVENT_ROWS ? `All ${total} events` : `First ${MAX_EVENT_ROWS} of ${total} events`}</summary><div class="scroll"><table class="grid" id="events">` +
    `<tr>${shown.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${shown.map((c) => {
      const v = r[c];
      return /_ms$/.test(c) && typeof v === 'number' ? `<td>${escapeHtml(fmtTime(v))}</td>` : `<td>${eventCell(v)}</td>`;
    }).join('')}</tr>`).join('')}</table></div></details>`);
  return out.join('\n');
}

// ---- gradient fidelity -------------------------------------------------------------------------

/** Checks listed in the fidelity table; a longer run shows its last ones (the slope chart has them all). */
const MAX_FIDELITY_ROWS = 50;

/**
 * The trainer's gradient fidelity checks (pat's fidelity_* metrics), one row per check: the
 * device reading's slope ± standard error with its directions and cost, and on a simulator the
 * twin's slope along the same directions and the cosine to the twin's VJP.
 */
function fidelitySection(db: Database.Database, run: RunDetail): string {
  const names = new Set(run.metrics.map((m) => m.name));
  if (!names.has('fidelity_slope') && !names.has('fidelity_samples')) return '';
  const cols = ['fidelity_slope', 'fidelity_slope_se', 'fidelity_twin_slope', 'fidelity_cosine', 'fidelity_directions', 'fidelity_samples'] as const;
  const at = new Map(cols.map((n) => {
    const s = names.has(n) ? readSeries(db, run.id, n) : { step: [] as number[], value: [] as number[] };
    return [n, new Map(s.step.map((st, i) => [st, s.value[i]]))];
  }));
  const steps = [...new Set([...at.get('fidelity_slope')!.keys(), ...at.get('fidelity_samples')!.keys()])].sort((a, b) => a - b);
  const shown = steps.slice(-MAX_FIDELITY_ROWS);
  const v = (n: typeof cols[number], st: number): number | undefined => at.get(n)!.get(st);
  const twin = names.has('fidelity_twin_slope');
  const rows = shown.map((st) => {
    const b = v('fidelity_slope', st), se = v('fidelity_slope_se', st), t = v('fidelity_twin_slope', st);
    const band = b !== undefined && se !== undefined && Number.isFinite(b) && Number.isFinite(se) ? `${num3(b - 2 * se)} – ${num3(b + 2 * se)}` : '-';
    const inside = t === undefined || band === '-' ? '-' : Math.abs(t - (b as number)) <= 2 * (se as number) ? 'yes' : 'no';
    const n = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : escapeHtml(x.toLocaleString('en-US')));
    return `<tr><td class="num">${escapeHtml(st)}</td><td class="num">${num3(b)} ± ${num3(se)}</td><td class="num">${band}</td>` +
      `${twin ? `<td class="num">${num3(t)}</td><td>${inside}</td><td class="num">${num3(v('fidelity_cosine', st))}</td>` : ''}` +
      `<td class="num">${n(v('fidelity_directions', st))}</td><td class="num">${n(v('fidelity_samples', st))}</td></tr>`;
  }).join('');
  const head = `<tr><th>${escapeHtml(stepLabel(run))}</th><th>slope ± s.e.</th><th>slope ± 2 s.e.</th>${
    twin ? '<th>twin slope, same directions</th><th>twin inside ± 2 s.e.</th><th>cosine to the twin VJP</th>' : ''}<th>directions</th><th>device samples</th></tr>`;
  const more = steps.length > shown.length ? ` The last ${shown.length} of ${steps.length} checks; the slope chart above has them all.` : '';
  return `<h2>Gradient fidelity</h2>
<table class="grid" id="fidelity-checks">${head}${rows}</table>
` +
    `<p class="note">Each check measures the device along random drive directions around the episode's drives (central differences, step sized from the response noise of a repeated segment) and regresses the measured change of the loss on the surrogate's predicted change: slope 1 means the gradient the trainer steps with has the device's slope; the standard error is over the directions. Its device samples are counted in the run's samples.${
      twin ? ' On a simulator the twin slope is what the exact derivative of the simulator twin gives along the same directions: the quantity the reading estimates.' : ''}${more}</p>`;
}

// ---- surrogate choice --------------------------------------------------------------------------

/** A number for a table cell: 3 significant digits, '-' when absent. */
function num3(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? escapeHtml(v.toPrecision(3)) : '-';
}

/**
 * The surrogate a train run chose for its device (artifact `surrogate_choice`, from `--surrogate
 * auto|memoryless`): the design, and with auto every candidate's held-out error and the gradient
 * fidelity measured on the device (slope ± standard error, cosine), and the device's memory.
 */
function surrogateSection(db: Database.Database, run: RunDetail): string {
  if (!run.artifacts.some((a) => a.name === 'surrogate_choice')) return '';
  const c = readArtifact(db, run.id, 'surrogate_choice')?.json as
    { requested?: string; design?: string; window?: number; responseLags?: number; hidden?: number[]; samples?: number; exploration?: Record<string, unknown> } | undefined;
  if (!c || typeof c !== 'object') return `<h2>Surrogate</h2>\n<p class="banner warn">artifact 'surrogate_choice' is not a JSON record</p>`;
  const head = `<p>Design <b>${escapeHtml(String(c.design))}</b> (asked for: ${escapeHtml(String(c.requested))}): ` +
    `${escapeHtml(surrogateShape(c as SurrogateChoiceRecord))}` +
    `${c.samples ? `; chosen by exploring the device with ${escapeHtml(c.samples.toLocaleString('en-US'))} samples (counted in the run's budget)` : ''}.</p>`;
  const ex = c.exploration as { choice?: Record<string, unknown>; scores?: Record<string, unknown>[]; memory?: { capacity?: number; reach?: number }; suggestedTaps?: number } | undefined;
  if (!ex || !Array.isArray(ex.scores)) return `<h2>Surrogate</h2>\n${head}`;
  // Two NARX widths share a design name: the chosen row is the one with the choice's shape too.
  const shapeOf = (r: Record<string, unknown> | undefined) => JSON.stringify([r?.design, r?.window, r?.responseLags, r?.hidden]);
  const chosen = (r: Record<string, unknown>) => shapeOf(r) === shapeOf(ex.choice);
  const rows = ex.scores.map((r) => `<tr${chosen(r) ? ' class="chosen"' : ''}><td>${escapeHtml(String(r.design))}${chosen(r) ? ' (chosen)' : ''}</td>` +
    `<td>${escapeHtml(String(r.window))} / ${escapeHtml(String(r.responseLags))} / ${escapeHtml(Array.isArray(r.hidden) ? r.hidden.join('x') : String(r.hidden ?? '-'))}</td>` +
    `<td>${typeof r.parameters === 'number' ? escapeHtml(r.parameters.toLocaleString('en-US')) : '-'}</td>` +
    `<td>${num3(r.heldOutNmse)}</td><td>${num3(r.slope)} ± ${num3(r.slopeSe)}</td><td>${num3(r.cosine)}</td><td>${num3(r.score)}${typeof r.scoreSe === 'number' && r.scoreSe > 0 ? ` (± ${num3(r.scoreSe)})` : ''}</td></tr>`).join('');
  const mem = ex.memory ? `<p>Device memory measured in the exploration: linear capacity ${num3(ex.memory.capacity)}, recall reaches ${escapeHtml(String(ex.memory.reach))} steps back; suggested input taps ${escapeHtml(String(ex.suggestedTaps))} (recorded, not applied).</p>` : '';
  return `<h2>Surrogate</h2>\n${head}\n<table class="grid"><tr><th>design</th><th>window / lags / hidden</th><th>parameters</th><th>held-out NMSE</th><th>gradient slope on the device ± s.e. (1 is right)</th><th>cosine</th><th>score (lower is better; ± s.e. of its difference from the best)</th></tr>${rows}</table>\n` +
    `<p class="note">Held-out NMSE: the design's prediction error on exploration segments it was not fitted on. Slope and cosine: its directional derivative against the device's measured change along random drive directions (device queries only, no twin). Score: held-out NMSE + (1 - cosine). The best score picks the design; of its sizes, the one with the fewest parameters whose score is within one standard error of the best is trained.</p>\n${mem}`;
}

/**
 * A classification run's confusion matrix (artifact `confusion_matrix`: rows the true class,
 * columns the predicted one), with each class's recall. The counts come from a database, so a
 * malformed artifact is shown as such rather than drawn.
 */
function confusionSection(db: Database.Database, run: RunDetail): string {
  if (!run.artifacts.some((a) => a.name === 'confusion_matrix')) return '';
  const c = readArtifact(db, run.id, 'confusion_matrix')?.json as { classes?: unknown; counts?: unknown } | undefined;
  const k = c?.classes;
  const counts = c?.counts;
  const ok = Number.isInteger(k) && (k as number) >= 1 && (k as number) <= 1000 && Array.isArray(counts) && counts.length === k &&
    counts.every((r) => Array.isArray(r) && r.length === k && r.every((v) => Number.isSafeInteger(v) && v >= 0));
  if (!ok) return `<h2>Confusion matrix</h2>\n<p class="banner warn">artifact 'confusion_matrix' is not a square table of counts</p>`;
  const rows = counts as number[][];
  const total = rows.reduce((a, r) => a + r.reduce((b, v) => b + v, 0), 0);
  const right = rows.reduce((a, r, i) => a + r[i], 0);
  const head = `<tr><th>true \\ predicted</th>${rows.map((_, j) => `<th>${j}</th>`).join('')}<th>recall</th></tr>`;
  const body = rows.map((r, i) => {
    const n = r.reduce((a, v) => a + v, 0);
    return `<tr><th>${i}</th>${r.map((v, j) => `<td class="num"${i === j ? ' style="font-weight:bold"' : ''}>${v}</td>`).join('')}<td class="num">${n ? escapeHtml((r[i] / n).toFixed(3)) : '-'}</td></tr>`;
  }).join('');
  return `<h2>Confusion matrix</h2>\n<p>${escapeHtml(total.toLocaleString('en-US'))} test examples, ${escapeHtml(right.toLocaleString('en-US'))} right (accuracy ${escapeHtml(total ? (right / total).toFixed(4) : '-')}); rows: true class, columns: predicted class.</p>\n` +
    `<table class="grid" id="confusion-matrix">${head}${body}</table>`;
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
