/**
 * The live view's page: the report's stylesheet and uPlot inlined (so it opens with no network),
 * an empty frame the script fills, and the settings the script needs as JSON.
 */
import { escapeHtml, inlineCode, jsonForScript } from '../report/html.js';
import { REPORT_CSS, chartingLibrary } from '../report/page.js';
import { LIVE_JS } from './client.js';

const LIVE_CSS = `
#status-line { display: flex; gap: 18px; flex-wrap: wrap; align-items: baseline; margin: 4px 0 12px; }
#status-line .fact { color: #444; }
#status-line .fact b { color: #1a1a1a; font-variant-numeric: tabular-nums; }
.badge.waiting { background: #eee; color: #555; }
.badge.lost { background: #fff4d6; color: #5c4300; }
figure.chart.empty .plot::before { content: 'no points yet'; color: #999; font-size: 12px; }
`;

/** The page served at `/`; `pollMs` is how often it asks `/state` for news. */
export function livePage(settings: { pollMs: number }): string {
  const lib = chartingLibrary();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="reservoir-hil live view">
<title>rhil live</title>
<style>${inlineCode(lib.css, 'style')}</style>
<style>${REPORT_CSS}${LIVE_CSS}</style>
</head>
<body>
<main>
<h1 id="title">rhil live view <span class="badge waiting" id="run-status" data-status="waiting">waiting</span></h1>
<div id="status-line"></div>
<div id="problem"></div>
<h2>Training</h2>
<div class="charts" id="charts"><p class="note">no metrics yet</p></div>
<div id="final"></div>
<div class="charts" id="test-charts"></div>
<h2>Device</h2>
<div class="charts" id="device-charts"><p class="note">no batches yet</p></div>
<h2>Device events</h2>
<div id="events"><p class="note">none yet</p></div>
<footer>Served by <code>rhil</code> from what the run has committed to its database (read-only), polled every ${escapeHtml(settings.pollMs)} ms. Charts: ${escapeHtml(lib.name)} ${escapeHtml(lib.version)} (${escapeHtml(lib.license)}), inlined; the page loads nothing from the network.</footer>
</main>
<script type="application/json" id="rhil-live">${jsonForScript(settings)}</script>
<script>/* ${escapeHtml(lib.name)} ${escapeHtml(lib.version)}, ${escapeHtml(lib.license)} license */
${inlineCode(lib.js, 'script')}</script>
<script>${inlineCode(LIVE_JS, 'script')}</script>
</body>
</html>
`;
}
