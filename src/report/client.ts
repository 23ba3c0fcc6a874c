/**
 * The script of a report page: reads the chart specs (ChartSpec[] in charts.ts) from the page's
 * JSON element and draws each with uPlot into its figure. Plain browser JavaScript, kept as a
 * string because this package compiles for Node (no DOM types); the rendering test runs it in
 * Chromium.
 *
 * After drawing, each figure carries data-points (the finite values it plots) and, on failure,
 * data-error; a failure is also a console error, which the rendering test treats as a failure.
 */
/**
 * Number helpers both pages' scripts share: `nice` rounds an axis bound to 1, 2 or 5 x 10^k, and
 * `fmt` writes tick and legend numbers (uPlot's default labels keep 3 decimals, so a loss of 1e-5
 * would read 0; small and huge values go exponential).
 */
export const NUMBERS_JS = String.raw`function nice(v, up) {
    var e = Math.pow(10, Math.floor(Math.log10(v)));
    var m = v / e;
    var steps = [1, 2, 5, 10];
    var k = up ? steps.find(function (x) { return x >= m - 1e-9; }) : steps.slice().reverse().find(function (x) { return x <= m + 1e-9; });
    return Number((k * e).toPrecision(12));
  }
  function fmt(v) {
    if (v == null || !isFinite(v)) return null;
    if (v === 0) return '0';
    var r = Number(v.toPrecision(6));
    var a = Math.abs(r);
    if (a >= 1e6 || a < 1e-3) return r.toExponential();
    return r.toLocaleString('en-US', { maximumFractionDigits: 6 });
  }
  // A line needs two values: a series sampled now and then (the fidelity checks, every 25 episodes)
  // or a one-episode run draws nothing as a line, so such a series gets a marker at each value.
  function sparse(ys) {
    var n = 0;
    ys.forEach(function (v) { if (v != null && isFinite(v)) n++; });
    return n < 2 || 4 * n <= ys.length;
  }`;

export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  // Saturated colours only: the rendering test finds plotted data by colour, axes and grid are grey.
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#17becf', '#e377c2', '#8c564b', '#bcbd22', '#3949ab'];
  var HEIGHT = 260;
  var spec = JSON.parse(document.getElementById('rhil-data').textContent);
  var plots = [];

  // Wide enough for the longest tick label, so labels such as 0.000125 or 2047.5 never overlap the axis title.
  function axisSize(self, values, axisIdx, cycleNum) {
    var axis = self.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    var size = axis.ticks.size + axis.gap;
    var longest = (values || []).reduce(function (a, v) { return String(v).length > a.length ? String(v) : a; }, '');
    if (longest !== '') {
      self.ctx.font = axis.font[0];
      size += self.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
    }
    return Math.ceil(size);
  }


  ${NUMBERS_JS}
  function tickValues(u, splits) { return splits.map(fmt); }
  // A log axis gets a split at every 1..9 x 10^k; grid lines and ticks only at whole decades stay readable over many decades.
  function decades(u, splits) {
    return splits.map(function (v) { var l = Math.log10(v); return v > 0 && Math.abs(l - Math.round(l)) < 1e-9 ? v : null; });
  }

  function seriesOpts(c, s, i) {
    var colour = PALETTE[i % PALETTE.length];
    var o = {
      label: s.label, stroke: colour, width: 1.5, spanGaps: true, scale: s.axis === 'y2' ? 'y2' : 'y',
      value: function (u, v) { return v == null ? '--' : fmt(v); },
    };
    if (s.dash) o.dash = [6, 4];
    if (s.hidden) o.show = false;
    if (c.style === 'points') {
      o.paths = function () { return null; };
      o.points = { show: true, size: 6, space: 0, stroke: colour, fill: colour };
    } else {
      o.points = sparse(s.y) ? { show: true, size: 5, space: 0, stroke: colour, fill: colour } : { show: false };
    }
    return o;
  }

  function draw(c) {
    var fig = document.getElementById(c.id);
    var host = fig.querySelector('.plot');
    var hasY2 = c.series.some(function (s) { return s.axis === 'y2'; });
    // uPlot rounds a log range out to whole decades, which leaves most of the plot empty for a loss
    // between 0.02 and 1.2; rounding to the next 1, 2 or 5 keeps the curve filling the height and
    // the end labels round.
    var logRange = function (u, min, max) { return min == null || !(min > 0) ? [0.1, 1] : [nice(min, false), nice(max, true)]; };
    var scales = { x: { time: false }, y: c.logY ? { distr: 3, range: logRange } : {} };
    if (c.style === 'points') scales.x.range = function (u, min, max) { return [min - 0.5, max + 0.5]; };
    if (hasY2) scales.y2 = {};
    var grid = { stroke: '#e6e6e6', width: 1 };
    var yGrid = c.logY ? { stroke: grid.stroke, width: 1, filter: decades } : grid;
    var yTicks = c.logY ? { stroke: '#ccc', filter: decades } : { stroke: '#ccc' };
    var axes = [
      { label: c.xLabel, stroke: '#333', grid: grid, ticks: { stroke: '#ccc' } },
      { label: c.yLabel, stroke: '#333', grid: yGrid, ticks: yTicks, size: axisSize, scale: 'y', values: tickValues },
    ];
    if (hasY2) axes.push({ label: c.y2Label || '', stroke: '#333', side: 1, scale: 'y2', grid: { show: false }, size: axisSize, values: tickValues });
    var opts = {
      width: Math.max(300, host.clientWidth),
      height: HEIGHT,
      scales: scales,
      axes: axes,
      series: [{ label: c.xLabel }].concat(c.series.map(function (s, i) { return seriesOpts(c, s, i); })),
      // Labels only, no cursor values: the legend reads the same printed or in a screenshot as on screen.
      legend: { live: false },
      cursor: { drag: { x: true, y: false } },
    };
    var data = [c.x].concat(c.series.map(function (s) { return s.y; }));
    var u = new uPlot(opts, data, host);
    plots.push({ u: u, host: host });
    var n = 0;
    c.series.forEach(function (s) { s.y.forEach(function (v) { if (v !== null && isFinite(v)) n++; }); });
    fig.setAttribute('data-points', String(n));
    // uPlot draws axis titles on the canvas; the figure names them too, for tests and screen readers.
    fig.setAttribute('data-x-label', c.xLabel);
    fig.setAttribute('data-y-label', c.yLabel);
  }

  spec.charts.forEach(function (c) {
    try {
      draw(c);
    } catch (e) {
      var fig = document.getElementById(c.id);
      if (fig) {
        fig.setAttribute('data-error', String(e));
        var p = document.createElement('p');
        p.className = 'chart-error';
        p.textContent = 'chart failed: ' + String(e);
        fig.appendChild(p);
      }
      console.error('chart ' + c.id + ': ' + String(e));
    }
  });

  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      plots.forEach(function (p) { p.u.setSize({ width: Math.max(300, p.host.clientWidth), height: HEIGHT }); });
    });
  });
  document.documentElement.setAttribute('data-charts-drawn', String(plots.length));
})();
`;
