/**
 * Chart specifications: what the page's script hands to uPlot, already bounded in size. Pure.
 */
import { alignSeries, downsampleAligned, roundSig, spansDecades } from './downsample.js';

export interface ChartSeries {
  label: string;
  y: (number | null)[];
  /** Drawn dashed (a reference line, a prediction against its target). */
  dash?: boolean;
  /** 'y2' puts the series on a second y axis, on the right. */
  axis?: 'y' | 'y2';
  /** Not drawn until its legend entry is clicked (a channel among many). */
  hidden?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  x: number[];
  series: ChartSeries[];
  logY: boolean;
  /** 'points' for quantities per channel, where a line between channels would mean nothing. */
  style: 'line' | 'points';
  /** Shown under the chart: downsampling, the stretch shown, how many channels were left out. */
  note: string | null;
}

export interface ChartInput {
  title: string;
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  x: readonly number[];
  series: { label: string; y: readonly (number | null)[]; dash?: boolean; axis?: 'y' | 'y2'; hidden?: boolean }[];
  style?: 'line' | 'points';
  /** Log y when the values span decades (the default), or never. */
  log?: 'auto' | 'never';
  note?: string;
}

/** Default cap on the points of one series in a report. */
export const MAX_POINTS = 2000;

/** How a chart says it was downsampled. */
export function downsampleNote(from: number, to: number): string {
  return `downsampled from ${from.toLocaleString('en-US')} to ${to.toLocaleString('en-US')} points (minimum and maximum of each bucket kept)`;
}

/** A chart spec from `input`: downsampled to `maxPoints` rows, values rounded, log scale decided. */
export function makeChart(id: string, input: ChartInput, maxPoints = MAX_POINTS): ChartSpec {
  const d = downsampleAligned(input.x, input.series.map((s) => s.y), maxPoints);
  const notes: string[] = [];
  if (input.note) notes.push(input.note);
  if (d.x.length < d.from) notes.push(downsampleNote(d.from, d.x.length));
  const left = d.ys.filter((_, i) => input.series[i].axis !== 'y2');
  return {
    id,
    title: input.title,
    xLabel: input.xLabel,
    yLabel: input.yLabel,
    ...(input.y2Label !== undefined ? { y2Label: input.y2Label } : {}),
    x: d.x.map((v) => roundSig(v, 9) as number),
    series: input.series.map((s, i) => ({
      label: s.label,
      y: d.ys[i].map((v) => roundSig(v)),
      ...(s.dash ? { dash: true } : {}),
      ...(s.axis === 'y2' ? { axis: 'y2' as const } : {}),
      ...(s.hidden ? { hidden: true } : {}),
    })),
    logY: (input.log ?? 'auto') === 'auto' && spansDecades(left),
    style: input.style ?? 'line',
    note: notes.length ? notes.join('; ') : null,
  };
}

/** A chart's axis titles. */
export interface AxisLabels { x: string; y: string }

/** A ±k standard-error band around series `of` of a chart, from the metric series `se`. */
export interface MetricBand { of: string; se: string; k: number }

/** One chart of metric series; `band` adds two dashed series, `of` ± k `se`. */
export interface MetricGroup { key: string; title: string; yLabel: string; names: readonly string[]; band?: MetricBand }

/**
 * The metric charts of a run, one quantity per chart (a cosine in [-1, 1] never shares an axis
 * with a ratio or a count); metrics named in no group get a chart each, except DETAIL_METRICS.
 */
export const METRIC_GROUPS: readonly MetricGroup[] = [
  { key: 'loss', title: 'Training loss', yLabel: 'MSE (in-sample)', names: ['loss'] },
  { key: 'readout', title: 'Readout error on the next episode', yLabel: 'NMSE (out-of-sample)', names: ['readout_nmse'] },
  { key: 'surrogate', title: 'Surrogate error', yLabel: 'surrogate NMSE', names: ['surrogate_nmse', 'surrogate_heldout_nmse'] },
  { key: 'fidelity', title: 'Gradient fidelity: cosine to the exact VJP', yLabel: 'cosine', names: ['fidelity_cosine'] },
  {
    key: 'slope', title: 'Gradient fidelity: slope on the device', yLabel: 'slope (1: right)', names: ['fidelity_slope', 'fidelity_twin_slope'],
    band: { of: 'fidelity_slope', se: 'fidelity_slope_se', k: 2 },
  },
  { key: 'saturation', title: 'Drive saturation', yLabel: 'share |a| > 0.95', names: ['saturation'] },
  { key: 'samples', title: 'Device samples used', yLabel: 'device samples (cumulative)', names: ['device_samples'] },
  { key: 'drift', title: 'Drift alarms', yLabel: 'alarms (cumulative)', names: ['drift_alarms'] },
  { key: 'guard', title: 'Learning rate (rising-loss guard)', yLabel: 'Adam rate of the step', names: ['learning_rate'] },
  { key: 'rollbacks', title: 'Guard rollbacks', yLabel: 'rollbacks (cumulative)', names: ['rollbacks'] },
];

/** Metrics shown inside another chart (a band) or in a table, not in a chart of their own. */
export const DETAIL_METRICS: ReadonlySet<string> = new Set(['fidelity_slope_se', 'fidelity_directions', 'fidelity_samples']);

/** Final metrics: shown as a table, not plotted. */
export const isTestMetric = (name: string): boolean => name.startsWith('test_');

export interface MetricGrouping {
  /** The groups that have at least one series, in METRIC_GROUPS order, names in group order; a band only when its SE series is there. */
  groups: { key: string; title: string; yLabel: string; names: string[]; band?: MetricBand }[];
  /** Series in no group and not in DETAIL_METRICS, sorted: one chart each. */
  other: string[];
  /** test_* names, sorted. */
  test: string[];
}

/** Sorts a run's metric names into the report's charts and its table of final metrics. */
export function groupMetrics(names: readonly string[]): MetricGrouping {
  const present = new Set(names);
  const grouped = new Set(METRIC_GROUPS.flatMap((g) => g.names));
  const groups = METRIC_GROUPS
    .map((g) => ({
      key: g.key, title: g.title, yLabel: g.yLabel, names: g.names.filter((n) => present.has(n)),
      ...(g.band && present.has(g.band.of) && present.has(g.band.se) ? { band: g.band } : {}),
    }))
    .filter((g) => g.names.length > 0);
  const sorted = [...present].sort();
  return {
    groups,
    other: sorted.filter((n) => !grouped.has(n) && !DETAIL_METRICS.has(n) && !isTestMetric(n)),
    test: sorted.filter(isTestMetric),
  };
}

/** A chart of metric series over steps, on the union of their steps. Labels default to 'step' and the series' name. */
export function metricChart(id: string, title: string, series: { name: string; step: readonly number[]; value: readonly number[] }[], maxPoints = MAX_POINTS,
  labels?: AxisLabels): ChartSpec {
  const a = alignSeries(series.map((s) => ({ x: s.step, y: s.value })));
  return makeChart(id, {
    title,
    xLabel: labels?.x ?? 'step',
    yLabel: labels?.y ?? (series.length === 1 ? series[0].name : 'value'),
    x: a.x,
    series: series.map((s, i) => ({ label: s.name, y: a.ys[i] })),
  }, maxPoints);
}
