/**
 * The report page around its sections: inline CSS, the charting library and its stylesheet read
 * from node_modules at generation time, the chart data as JSON, and the page script. Nothing is
 * loaded from the network when the page is opened.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ChartSpec } from './charts.js';
import { CLIENT_JS } from './client.js';
import { escapeHtml, inlineCode, jsonForScript } from './html.js';

export interface ChartingLibrary {
  name: string;
  version: string;
  license: string;
  js: string;
  css: string;
}

let library: ChartingLibrary | null = null;

/** uPlot's browser build and stylesheet, from the installed package (read once). */
export function chartingLibrary(): ChartingLibrary {
  if (library) return library;
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')) as { version: string; license: string };
  library = {
    name: 'uPlot',
    version: pkg.version,
    license: pkg.license,
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return library;
}

export const REPORT_CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; margin: 0; background: #fafafa; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 12px; }
h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
table { border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
table.kv th { font-weight: 600; color: #555; white-space: nowrap; padding-right: 16px; }
table.grid th, table.grid td { border: 1px solid #e2e2e2; padding: 3px 8px; }
table.grid td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #fff; border: 1px solid #e2e2e2; padding: 8px; overflow: auto; max-height: 480px; white-space: pre-wrap; word-break: break-all; }
details { margin: 6px 0; }
summary { cursor: pointer; color: #244f8f; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.badge.completed { background: #dff3e2; color: #1b5e20; }
.badge.running { background: #e3eefc; color: #0d47a1; }
.badge.failed, .badge.interrupted { background: #fde2e1; color: #b71c1c; }
.banner { border-radius: 4px; padding: 10px 14px; margin: 8px 0 14px; }
.banner.bad { background: #fde2e1; border: 1px solid #e57373; color: #7f1010; }
.banner.warn { background: #fff4d6; border: 1px solid #e0b84a; color: #5c4300; }
.banner pre { background: transparent; border: 0; padding: 4px 0 0; margin: 0; max-height: 200px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
figure.chart { margin: 0; background: #fff; border: 1px solid #e2e2e2; border-radius: 4px; padding: 8px 10px; min-width: 0; }
figure.chart figcaption { font-weight: 600; margin-bottom: 4px; }
figure.chart .plot { overflow: hidden; }
.note { color: #666; font-size: 12px; margin: 4px 0 0; }
.chart-error { color: #b71c1c; }
table.heat td { width: 14px; height: 14px; padding: 0; border: 1px solid #fff; }
table.heat td.num { width: auto; padding: 1px 6px; font-size: 11px; text-align: right; }
table.heat th { font-weight: normal; font-size: 11px; color: #555; padding: 0 6px 0 0; white-space: nowrap; }
.scroll { overflow-x: auto; }
.colourbar { position: relative; width: 320px; height: 34px; margin: 6px 0 0; }
.colourbar .bar { position: absolute; left: 0; right: 0; top: 0; height: 12px; border: 1px solid #ccc; }
.colourbar .tick { position: absolute; top: 15px; font-size: 11px; color: #555; transform: translateX(-50%); white-space: nowrap; }
footer { color: #777; font-size: 12px; margin-top: 32px; border-top: 1px solid #ddd; padding-top: 8px; }
.uplot { font-family: inherit; }
.u-legend { font-size: 12px; }
`;

/** A whole report page. `body` is HTML already escaped by its builder; `charts` go in as JSON. */
export function page(title: string, body: string, charts: readonly ChartSpec[]): string {
  const lib = chartingLibrary();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="reservoir-hil rhil report">
<title>${escapeHtml(title)}</title>
<style>${inlineCode(lib.css, 'style')}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
${body}
</main>
<noscript><p>The charts need JavaScript; the tables above do not.</p></noscript>
<script type="application/json" id="rhil-data">${jsonForScript({ charts })}</script>
<script>/* ${escapeHtml(lib.name)} ${escapeHtml(lib.version)}, ${escapeHtml(lib.license)} license */
${inlineCode(lib.js, 'script')}</script>
<script>${inlineCode(CLIENT_JS, 'script')}</script>
</body>
</html>
`;
}
