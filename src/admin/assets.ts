/**
 * The dashboard's static files, served by the Worker under `/__ipgate/assets/` so that pages
 * load nothing from elsewhere and the CSP can say `default-src 'self'` with no inline script:
 * the chart library (uPlot, embedded from the pinned npm package by scripts/admin-assets.ts),
 * the page script that draws the charts from the report's JSON data block, and the style sheet.
 * They hold no data and no secret, so they are public and cacheable.
 */
import { ADMIN_ASSET_MAX_AGE_S } from '../constants';
import { UPLOT_CSS, UPLOT_JS } from './vendor/uplot';

/**
 * Draws each `[data-chart]` element from the `#ipgate-report` JSON block with uPlot. Plain ES5
 * in a string (it runs in the browser, not the Worker); the tables beside the charts carry the
 * same numbers for readers without script.
 */
const DASHBOARD_JS = `(function () {
  'use strict';
  var block = document.getElementById('ipgate-report');
  if (!block || typeof uPlot === 'undefined') return;
  var data;
  try { data = JSON.parse(block.textContent || '{}'); } catch (e) { return; }
  var COLORS = ['#2563eb', '#dc2626', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2'];
  var ACTION_COLORS = { allow: '#059669', block: '#dc2626', challenge: '#d97706',
    monitor_block: '#7c3aed', monitor_challenge: '#db2777' };
  var SCORES = ['safe', 'low', 'moderate', 'dangerous', 'critical', 'unknown'];

  function width(el) { return Math.max(260, Math.floor(el.getBoundingClientRect().width) || 480); }
  function short(s) { s = String(s); return s.length > 14 ? s.slice(0, 13) + '\\u2026' : s; }
  function fromZero(u, min, max) { return [0, Math.max(1, max) * 1.1]; }

  function bars(el, labels, series) {
    if (!labels.length) { el.textContent = 'No data in this window.'; return; }
    var xs = labels.map(function (_, i) { return i; });
    var opts = {
      width: width(el),
      height: 220,
      legend: { show: series.length > 1 },
      cursor: { points: { show: false } },
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: fromZero } },
      axes: [
        { splits: function () { return xs; },
          values: function (u, splits) { return splits.map(function (i) { return short(labels[i]); }); } },
        {}
      ],
      series: [{ label: 'x', value: function (u, i) { return i == null ? '' : labels[i]; } }].concat(
        series.map(function (s, k) {
          var c = s.color || COLORS[k % COLORS.length];
          return { label: s.label, stroke: c, fill: c, paths: uPlot.paths.bars({ size: [0.7, 64] }) };
        }))
    };
    new uPlot(opts, [xs].concat(series.map(function (s) { return s.values; })), el);
  }

  function timeline(el, rows) {
    if (!rows.length) { el.textContent = 'No data in this window.'; return; }
    var times = [], index = {}, actions = [];
    rows.forEach(function (r) {
      var t = Date.parse(r.bucket) / 1000;
      if (!(t in index)) { index[t] = true; times.push(t); }
      if (actions.indexOf(r.action) < 0) actions.push(r.action);
    });
    times.sort(function (a, b) { return a - b; });
    times.forEach(function (t, i) { index[t] = i; });
    var values = actions.map(function (a) {
      var v = times.map(function () { return 0; });
      rows.forEach(function (r) { if (r.action === a) v[index[Date.parse(r.bucket) / 1000]] += r.requests; });
      return v;
    });
    var w = data.window || {};
    var from = Date.parse(w.since) / 1000, to = Date.parse(w.until) / 1000;
    new uPlot({
      width: width(el),
      height: 240,
      scales: { x: from < to ? { time: true, range: [from, to] } : { time: true }, y: { range: fromZero } },
      series: [{}].concat(actions.map(function (a, k) {
        return { label: a, stroke: ACTION_COLORS[a] || COLORS[k % COLORS.length], width: 2 };
      }))
    }, [times].concat(values), el);
  }

  function entries(obj) { return Object.keys(obj || {}).map(function (k) { return [k, obj[k]]; }); }

  var charts = {
    scores: function (el) {
      bars(el, SCORES, [{ label: 'IPs', values: SCORES.map(function (s) { return (data.scores || {})[s] || 0; }) }]);
    },
    categories: function (el) {
      var rows = entries(data.categories).sort(function (a, b) { return b[1].ips - a[1].ips; });
      bars(el, rows.map(function (r) { return r[0]; }), [
        { label: 'IPs', color: '#93c5fd', values: rows.map(function (r) { return r[1].ips; }) },
        { label: 'dirty', color: '#dc2626', values: rows.map(function (r) { return r[1].dirty; }) }
      ]);
    },
    countries: function (el) {
      var rows = data.countries || [];
      bars(el, rows.map(function (r) { return r.country || '??'; }), [{ label: 'IPs', values: rows.map(function (r) { return r.ips; }) }]);
    },
    isps: function (el) {
      var rows = data.isps || [];
      bars(el, rows.map(function (r) { return r.org || ('AS' + r.asn); }), [{ label: 'IPs', values: rows.map(function (r) { return r.ips; }) }]);
    },
    reasons: function (el) {
      var rows = entries(data.reasons).sort(function (a, b) { return b[1].requests - a[1].requests; });
      bars(el, rows.map(function (r) { return r[0]; }), [{ label: 'requests', values: rows.map(function (r) { return r[1].requests; }) }]);
    },
    timeline: function (el) { timeline(el, data.timeline || []); }
  };

  var nodes = document.querySelectorAll('[data-chart]');
  for (var i = 0; i < nodes.length; i++) {
    var draw = charts[nodes[i].getAttribute('data-chart')];
    if (draw) { try { draw(nodes[i]); } catch (e) { nodes[i].textContent = 'Chart unavailable.'; } }
  }
})();
`;

const DASHBOARD_CSS = `:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa;--accent:#2563eb;--bad:#b91c1c;--good:#047857}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
header.top{display:flex;gap:1.5rem;align-items:center;padding:.6rem 1.2rem;border-bottom:1px solid var(--line);background:var(--soft)}
header.top .brand{font-weight:700}
header.top nav a{margin-right:1rem;color:var(--fg);text-decoration:none}
header.top nav a.active{color:var(--accent);font-weight:600}
header.top .who{margin-left:auto;color:var(--muted);display:flex;gap:.6rem;align-items:center}
main{padding:1rem 1.2rem;max-width:1400px}
h1{font-size:1.35rem;margin:.2rem 0 1rem}
h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
a{color:var(--accent)}
code,pre,textarea{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
table{border-collapse:collapse;width:100%;margin:.3rem 0 1rem}
th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1rem}
figure.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:.6rem}
figure.chart figcaption{font-weight:600;margin-bottom:.4rem}
figure.chart details{margin-top:.4rem}
.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
input,select,textarea,button{font:inherit}
input[type=text],input[type=password],select{padding:.25rem .4rem;border:1px solid var(--line);border-radius:4px}
textarea{width:100%;border:1px solid var(--line);border-radius:4px;padding:.4rem}
button{padding:.3rem .8rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:4px;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}
.notice{padding:.6rem .8rem;border-radius:6px;background:#eff6ff;border:1px solid #bfdbfe;margin:.6rem 0}
.notice.error{background:#fef2f2;border-color:#fecaca;color:var(--bad)}
.notice.ok{background:#ecfdf5;border-color:#a7f3d0;color:var(--good)}
.totals{display:flex;gap:2rem;margin:.4rem 0 1rem}
.totals div{font-size:1.6rem;font-weight:700}
.totals span{display:block;font-size:12px;color:var(--muted);font-weight:400}
fieldset{border:1px solid var(--line);border-radius:6px;margin:0 0 1rem;padding:.6rem .9rem}
legend{font-weight:600;padding:0 .3rem}
.checks{display:flex;flex-wrap:wrap;gap:.2rem .9rem}
.checks label{white-space:nowrap}
.lists{display:grid;grid-template-columns:repeat(3,1fr);gap:.8rem}
pre.diff{border:1px solid var(--line);border-radius:6px;padding:.5rem;overflow:auto;max-height:70vh}
pre.diff .add{background:#e6ffec;display:block}
pre.diff .del{background:#ffebe9;display:block}
pre.diff .skip{color:var(--muted);display:block}
.login{max-width:26rem;margin:12vh auto}
.login input{width:100%;margin:.4rem 0 .8rem}
.inline{display:inline}
.muted{color:var(--muted)}
`;

interface Asset {
  body: string;
  type: string;
}

const ASSETS: Record<string, Asset> = {
  'uplot.js': { body: UPLOT_JS, type: 'text/javascript; charset=utf-8' },
  'uplot.css': { body: UPLOT_CSS, type: 'text/css; charset=utf-8' },
  'dashboard.js': { body: DASHBOARD_JS, type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { body: DASHBOARD_CSS, type: 'text/css; charset=utf-8' },
};

/** The asset called `name`, or null. */
export function serveAsset(name: string): Response | null {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return null;
  return new Response(asset.body, {
    headers: {
      'content-type': asset.type,
      'cache-control': `public, max-age=${ADMIN_ASSET_MAX_AGE_S}`,
      'x-content-type-options': 'nosniff',
    },
  });
}
