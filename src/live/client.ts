/**
 * The live page's script: polls `/state` with its cursor, keeps every series it has received, and
 * redraws the uPlot charts that changed. Plain browser JavaScript kept as a string (this package
 * compiles for Node, without DOM types); the live view's test runs it in Chromium.
 *
 * For tests and screenshots the page exposes what it shows: `#run-status[data-status]` (waiting,
 * running, finished, interrupted, failed, lost) and `figure.chart[data-points]` (finite values drawn).
 */
import { NUMBERS_JS } from '../report/client.js';

export const LIVE_JS = String.raw`
(function () {
  'use strict';
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#17becf', '#e377c2', '#8c564b', '#bcbd22', '#3949ab'];
  var HEIGHT = 220;
  var MAX_WINDOW_CHANNELS = 8;
  var settings = JSON.parse(document.getElementById('rhil-live').textContent);
  var cursor = { m: 0, e: 0, s: -1 };
  var haveTrace = false;
  var failures = 0;
  var stopped = false;
  var kind = null;
  var totals = { batches: 0, samples: 0 };
  var startedMs = null;

  // One panel per quantity, so a cosine in [-1, 1] never shares an axis with a ratio or a count.
  var PANELS = [
    { key: 'loss', title: 'Training loss', y: 'MSE (in-sample)', names: ['loss'], log: true },
    { key: 'readout', title: 'Readout error on the next episode', y: 'NMSE', names: ['readout_nmse'], log: true },
    { key: 'surrogate', title: 'Surrogate error and drift alarms', y: 'surrogate NMSE', names: ['surrogate_nmse', 'surrogate_heldout_nmse'], log: true, alarms: true },
    { key: 'cosine', title: 'Gradient fidelity: cosine to the exact VJP', y: 'cosine', names: ['fidelity_cosine'], range: [-1, 1] },
    // The device reading's slope with its ±2 s.e. band (dashed), and on a simulator the twin's slope along the same directions.
    { key: 'slope', title: 'Gradient fidelity: slope on the device', y: 'slope (1: right)', names: ['fidelity_slope', 'fidelity_twin_slope'], band: { of: 'fidelity_slope', se: 'fidelity_slope_se', k: 2 } },
    { key: 'saturation', title: 'Drive saturation', y: 'share |a| > 0.95', names: ['saturation'] },
    { key: 'samples', title: 'Device samples used', y: 'samples (cumulative)', names: ['device_samples'] },
    { key: 'guard', title: 'Learning rate (rising-loss guard)', y: 'Adam rate of the step', names: ['learning_rate'] },
  ];
  var LABELS = {
    surrogate_nmse: 'newest pairs, before refit', surrogate_heldout_nmse: 'held-out, in use',
    readout_nmse: 'readout NMSE', loss: 'loss', fidelity_cosine: 'cosine', fidelity_slope: 'device reading', fidelity_twin_slope: 'twin, same directions',
    saturation: 'saturation', device_samples: 'device samples', learning_rate: 'learning rate',
  };
  // Drawn inside another panel (alarms, the slope's band) or a count of no interest on its own.
  var HIDDEN = { drift_alarms: true, rollbacks: true, fidelity_slope_se: true, fidelity_directions: true, fidelity_samples: true };
  var ORDER = PANELS.map(function (p) { return p.key; }).concat(['rate', 'drive', 'response']);
  var panelOf = {};
  PANELS.forEach(function (p) { p.names.forEach(function (n) { panelOf[n] = p; }); });
  var points = {};       // metric name -> Map(step -> value)
  var charts = {};       // chart key -> { fig, host, u, build }
  var rates = new Map(); // second since start -> samples
  var finals = {};
  var events = [];

  ${NUMBERS_JS}
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }

  function figure(parent, key, title, note) {
    var fig = el('figure', { 'class': 'chart empty', id: 'live-' + key, 'data-points': '0' });
    fig.appendChild(el('figcaption', null, title));
    var host = el('div', { 'class': 'plot' });
    fig.appendChild(host);
    var p = el('p', { 'class': 'note' }, note || '');
    fig.appendChild(p);
    var box = document.getElementById(parent);
    var placeholder = box.querySelector(':scope > p.note');
    if (placeholder) placeholder.remove();
    // Panels keep their fixed order whichever metric arrives first; others follow in arrival order.
    var rank = function (k) { var i = ORDER.indexOf(k); return i < 0 ? ORDER.length : i; };
    var next = Array.prototype.find.call(box.children, function (c) { return rank(c.id.replace(/^live-/, '')) > rank(key); });
    box.insertBefore(fig, next || null);
    return { fig: fig, host: host, note: p, u: null };
  }

  // data: [x, y1, y2, ...]; series: [{ label, points?, dash? }]
  var INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
  // opts: { log, range, integerX }
  function draw(key, parent, title, xLabel, yLabel, o, series, data, note) {
    var c = charts[key];
    if (!c) c = charts[key] = figure(parent, key, title, note);
    if (note != null) c.note.textContent = note;
    c.fig.querySelector('figcaption').textContent = title;
    var n = 0;
    for (var i = 1; i < data.length; i++) data[i].forEach(function (v) { if (v != null && isFinite(v)) n++; });
    c.fig.setAttribute('data-points', String(n));
    // uPlot draws axis titles on the canvas; the figure names them too, for tests and screen readers.
    c.fig.setAttribute('data-x-label', xLabel);
    c.fig.setAttribute('data-y-label', yLabel);
    if (n === 0) return;
    c.fig.classList.remove('empty');
    var marked = data.slice(1).map(sparse);
    var sig = series.map(function (s, i) { return s.label + (marked[i] ? ' *' : ''); }).join('|');
    if (c.u && c.sig === sig) { c.u.setData(data); return; }
    if (c.u) c.u.destroy();
    var logRange = function (u, min, max) { return min == null || !(min > 0) ? [0.1, 1] : [nice(min, false), nice(max, true)]; };
    var opts = {
      width: Math.max(300, c.host.clientWidth), height: HEIGHT,
      scales: { x: { time: false }, y: o.log ? { distr: 3, range: logRange } : o.range ? { range: o.range } : {} },
      axes: [
        { label: xLabel, stroke: '#333', grid: { stroke: '#e6e6e6' }, ticks: { stroke: '#ccc' }, incrs: o.integerX ? INTEGER_STEPS : undefined },
        { label: yLabel, stroke: '#333', grid: { stroke: '#e6e6e6' }, ticks: { stroke: '#ccc' }, size: 70, values: function (u, s) { return s.map(fmt); } },
      ],
      // A static legend (labels only): it reads the same in a screenshot as on screen.
      legend: { live: false },
      series: [{ label: xLabel }].concat(series.map(function (s, i) {
        var colour = s.colour || PALETTE[i % PALETTE.length];
        var o = { label: s.label, stroke: colour, width: 1.5, spanGaps: true, points: { show: false } };
        if (s.dash) o.dash = [6, 4];
        if (marked[i]) o.points = { show: true, size: 5, stroke: colour, fill: colour };
        if (s.points) { o.paths = function () { return null; }; o.points = { show: true, size: 8, stroke: colour, fill: colour }; }
        return o;
      })),
    };
    c.u = new uPlot(opts, data, c.host);
    c.sig = sig;
  }

  function metricPanel(p) {
    var steps = new Set();
    p.names.forEach(function (n) { if (points[n]) points[n].forEach(function (_, s) { steps.add(s); }); });
    var x = Array.from(steps).sort(function (a, b) { return a - b; });
    var present = p.names.filter(function (n) { return points[n]; });
    if (!present.length) return;
    var series = present.map(function (n) { return { label: LABELS[n] || n }; });
    var data = [x].concat(present.map(function (n) { return x.map(function (s) { var v = points[n].get(s); return v === undefined ? null : v; }); }));
    if (p.alarms && points.drift_alarms && points.surrogate_nmse) {
      // A new drift alarm shows as a marker on the error that raised it.
      var prev = 0;
      data.push(x.map(function (s) {
        var a = points.drift_alarms.get(s);
        if (a === undefined || a === null) return null;
        var raised = a > prev;
        prev = a;
        var v = points.surrogate_nmse.get(s);
        return raised && v != null ? v : null;
      }));
      series.push({ label: 'drift alarm', points: true, colour: '#d62728' });
    }
    if (p.band && points[p.band.of] && points[p.band.se]) {
      [-1, 1].forEach(function (sign) {
        data.push(x.map(function (s) {
          var v = points[p.band.of].get(s), e = points[p.band.se].get(s);
          return v == null || e == null ? null : v + sign * p.band.k * e;
        }));
        series.push({ label: (sign < 0 ? '- ' : '+ ') + p.band.k + ' s.e.', dash: true, colour: '#888' });
      });
    }
    var xLabel = kind === 'train' ? 'episode' : 'step';
    draw(p.key, 'charts', p.title, xLabel, p.y, { log: p.log, range: p.range, integerX: true }, series, data, null);
  }

  function redraw() {
    var seen = {};
    PANELS.forEach(function (p) { metricPanel(p); p.names.forEach(function (n) { seen[n] = true; }); });
    Object.keys(points).sort().forEach(function (n) {
      if (seen[n] || HIDDEN[n] || n.indexOf('test_') === 0) return;
      metricPanel({ key: 'm-' + n.replace(/[^A-Za-z0-9_-]/g, '_'), title: n, y: n, names: [n] });
    });
    if (rates.size) {
      var secs = Array.from(rates.keys()).sort(function (a, b) { return a - b; });
      draw('rate', 'device-charts', 'Device rate (recorded samples per second)', 'time since start (s)', 'samples/s', { integerX: true },
        [{ label: 'samples/s' }], [secs, secs.map(function (s) { return rates.get(s); })], null);
    }
    var names = Object.keys(finals).sort();
    if (names.length) {
      document.getElementById('final').innerHTML = '';
      document.getElementById('final').appendChild(el('h2', null, 'Final metrics'));
      var t = el('table', { 'class': 'grid', id: 'live-final' });
      t.appendChild(el('tr')).innerHTML = '<th>metric</th><th>value</th>';
      names.forEach(function (n) { var r = el('tr'); r.appendChild(el('td', null, n)); r.appendChild(el('td', { 'class': 'num' }, fmt(finals[n]) || '-')); t.appendChild(r); });
      document.getElementById('final').appendChild(t);
    }
  }

  function channels(cols, prefix) {
    var k = Math.min(cols.length, MAX_WINDOW_CHANNELS);
    var x = cols.length ? cols[0].map(function (_, i) { return i; }) : [];
    return { series: cols.slice(0, k).map(function (_, i) { return { label: prefix + ' ' + i }; }), data: [x].concat(cols.slice(0, k)) };
  }

  function drawWindow(w) {
    var d = channels(w.drive, 'in');
    draw('drive', 'device-charts', 'Newest batch: drive (batch ' + w.seq + ', epoch ' + w.epoch + ')', 'sample in batch', 'drive (' + w.inputFormat + ' units)', { integerX: true },
      d.series, d.data, w.inChannels > MAX_WINDOW_CHANNELS ? 'inputs 0-' + (MAX_WINDOW_CHANNELS - 1) + ' of ' + w.inChannels : (w.inChannels === 1 ? 'the one input' : 'all ' + w.inChannels + ' inputs'));
    var r = channels(w.response, 'out');
    draw('response', 'device-charts', 'Newest batch: response (batch ' + w.seq + ')', 'sample in batch', 'response (' + w.outputFormat + ' units)', { integerX: true },
      r.series, r.data, w.outChannels > MAX_WINDOW_CHANNELS ? 'outputs 0-' + (MAX_WINDOW_CHANNELS - 1) + ' of ' + w.outChannels : (w.outChannels === 1 ? 'the one output' : 'all ' + w.outChannels + ' outputs'));
  }

  function drawTrace(t) {
    if (!t || !t.target || !t.prediction) return;
    var x = t.target.map(function (_, i) { return i; });
    var res = t.target.map(function (v, i) { return t.prediction[i] == null ? null : t.prediction[i] - v; });
    draw('prediction', 'test-charts', 'Test: target and prediction (output 0)', 'test step', 'target units', { integerX: true },
      [{ label: 'target' }, { label: 'prediction', dash: true }], [x, t.target, t.prediction], null);
    draw('residual', 'test-charts', 'Test: residual (prediction - target)', 'test step', 'target units', { integerX: true },
      [{ label: 'residual' }], [x, res], null);
  }

  var WORDS = { running: 'running', completed: 'finished', interrupted: 'interrupted', failed: 'failed' };
  function setStatus(key, text) {
    var b = document.getElementById('run-status');
    b.setAttribute('data-status', key);
    b.className = 'badge ' + ({ finished: 'completed' }[key] || key);
    b.textContent = text;
  }

  function statusLine(run) {
    var line = document.getElementById('status-line');
    var now = run.endedMs || Date.now();
    var facts = [
      ['run', String(run.id) + ' (' + run.kind + ')'], ['seed', run.seed == null ? '-' : String(run.seed)],
      ['device', run.device || 'none'], ['batches', totals.batches.toLocaleString('en-US')],
      ['samples', totals.samples.toLocaleString('en-US')], ['elapsed', ((now - run.startedMs) / 1000).toFixed(1) + ' s'],
    ];
    var alarms = points.drift_alarms ? Array.from(points.drift_alarms.values()).pop() : null;
    if (alarms != null) facts.push(['drift alarms', String(alarms)]);
    line.innerHTML = '';
    facts.forEach(function (f) { var s = el('span', { 'class': 'fact' }, f[0] + ' '); s.appendChild(el('b', null, f[1])); line.appendChild(s); });
  }

  function drawEvents() {
    var box = document.getElementById('events');
    if (!events.length) return;
    box.innerHTML = '';
    var t = el('table', { 'class': 'grid', id: 'live-events' });
    t.appendChild(el('tr')).innerHTML = '<th>time</th><th>after batch</th><th>kind</th><th>detail</th>';
    events.slice(-30).reverse().forEach(function (e) {
      var r = el('tr');
      r.appendChild(el('td', null, new Date(e.tMs).toISOString().slice(11, 23)));
      r.appendChild(el('td', { 'class': 'num' }, String(e.seqAfter)));
      r.appendChild(el('td', null, e.kind));
      r.appendChild(el('td', null, e.detail == null ? '' : e.detail.length > 200 ? e.detail.slice(0, 200) + '…' : e.detail));
      t.appendChild(r);
    });
    box.appendChild(el('p', { 'class': 'note' }, events.length + ' events' + (events.length > 30 ? ', newest 30 shown' : '')));
    box.appendChild(t);
  }

  function apply(s) {
    if (s.waiting) { setStatus('waiting', 'waiting for the run to start'); return false; }
    if (s.error) { document.getElementById('problem').innerHTML = ''; document.getElementById('problem').appendChild(el('p', { 'class': 'banner bad' }, s.error)); return false; }
    kind = s.run.kind;
    startedMs = s.run.startedMs;
    document.getElementById('title').firstChild.textContent = 'Run ' + s.run.id + ': ' + s.run.kind + ' ';
    document.title = 'rhil live: run ' + s.run.id;
    s.metrics.forEach(function (m) {
      if (m[0].indexOf('test_') === 0) { finals[m[0]] = m[2]; return; }
      (points[m[0]] = points[m[0]] || new Map()).set(m[1], m[2]);
    });
    s.rates.forEach(function (r) { rates.set(r[0], (rates.get(r[0]) || 0) + r[1]); });
    totals.batches += s.newBatches;
    totals.samples += s.newSamples;
    events = events.concat(s.events);
    cursor = { m: s.cursor.metricId, e: s.cursor.eventId, s: s.cursor.seq };
    redraw();
    if (s.window) drawWindow(s.window);
    if (s.trace) { haveTrace = true; drawTrace(s.trace); }
    drawEvents();
    statusLine(s.run);
    var ended = s.run.status !== 'running';
    if (ended) {
      setStatus(WORDS[s.run.status] === 'finished' ? 'finished' : s.run.status, WORDS[s.run.status]);
      if (s.run.error) { var pb = document.getElementById('problem'); pb.innerHTML = ''; pb.appendChild(el('pre', { 'class': 'banner bad' }, s.run.error)); }
    } else if (s.closing) {
      setStatus('lost', 'viewer stopped (the run may still be running)');
    } else {
      setStatus('running', 'running');
    }
    return (ended || s.closing) && !s.moreMetrics;
  }

  function poll() {
    var q = '/state?m=' + cursor.m + '&e=' + cursor.e + '&s=' + cursor.s + (haveTrace ? '&t=1' : '');
    fetch(q, { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (s) {
      failures = 0;
      var done = apply(s);
      if (done) { stopped = true; return; }
      setTimeout(poll, s.moreMetrics ? 0 : settings.pollMs);
    }).catch(function (e) {
      failures++;
      if (failures >= 3) { setStatus('lost', 'connection lost: the run\'s process ended or the viewer stopped'); stopped = true; return; }
      setTimeout(poll, settings.pollMs);
    });
  }

  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      Object.keys(charts).forEach(function (k) { var c = charts[k]; if (c.u) c.u.setSize({ width: Math.max(300, c.host.clientWidth), height: HEIGHT }); });
    });
  });
  poll();
})();
`;
