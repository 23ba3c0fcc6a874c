/** Self-contained HTML reports of recorded runs (`rhil report`). */
export { type ReportOptions, type ReportSummary, type TestTrace, parseTestTrace, renderReport, writeReport } from './report.js';
export {
  type ChartInput, type ChartSeries, type ChartSpec, type MetricBand, type MetricGroup, type MetricGrouping, DETAIL_METRICS, MAX_POINTS, METRIC_GROUPS, downsampleNote,
  groupMetrics, isTestMetric, makeChart, metricChart,
} from './charts.js';
export { type Aligned, alignSeries, downsampleAligned, roundSig, spansDecades } from './downsample.js';
export { escapeHtml, inlineCode, jsonForScript } from './html.js';
export { type ChartingLibrary, chartingLibrary } from './page.js';
export { type SeedGroup, groupBySetting, renderComparison, spread } from './compare.js';
export { type Comparison, compareRuns } from './comparison-data.js';
