// The dashboard, for collector and fake-MX use: connections and their
// outcomes over time, why clients were refused, DNS list hits, the top
// offenders, and the live session counters. Charts are SVG drawn here.

import { api } from './api.js';
import { h, s, clear, clockTime, absTime, throttle, debounce } from './dom.js';

// RANGES: the span shown and the bucket width (about 50 bars each).
const RANGES = {
  '1h': { label: 'Last hour', span: 3600e3, step: '1m', stepMs: 60e3 },
  '24h': { label: 'Last 24 hours', span: 86400e3, step: '30m', stepMs: 1800e3 },
  '7d': { label: 'Last 7 days', span: 7 * 86400e3, step: '4h', stepMs: 4 * 3600e3 },
};

// SERIES are the charted bucket fields.
const SERIES = [
  { key: 'sessions', label: 'Connections', cls: 'series-sessions' },
  { key: 'accepted', label: 'Accepted messages', cls: 'series-accepted' },
  { key: 'refused', label: 'Refused', cls: 'series-refused' },
  { key: 'early_talk', label: 'Early talkers', cls: 'series-early' },
  { key: 'tarpitted', label: 'Tarpitted', cls: 'series-tarpit' },
  { key: 'trap_hits', label: 'Trap hits', cls: 'series-trap' },
];

export function mountDashboard(root, route, app) {
  const st = { range: RANGES[route.params.get('range')] ? route.params.get('range') : '24h', data: null, seq: 0 };
  app.setTitle('Dashboard');

  const radios = Object.entries(RANGES).map(([k, r]) => h('label', { class: 'seg' },
    h('input', { type: 'radio', name: 'range', value: k, checked: k === st.range }),
    h('span', { title: r.label }, k)));
  const rangeSel = h('fieldset', { class: 'segmented' }, h('legend', { class: 'vh' }, 'Time range'), radios);
  const updated = h('span', { class: 'hint', 'aria-live': 'off' });
  const errEl = h('p', { class: 'load-error', role: 'alert', hidden: true });

  const nowCards = {
    sessions: card('Open sessions', 'now'),
    tarpitted: card('Tarpitted now', 'now'),
    messages: card('Messages stored', 'now'),
    unread: card('Unread', 'now'),
  };
  const totalCards = Object.fromEntries(SERIES.map((x) => [x.key, card(x.label, x.cls)]));
  const charts = h('div', { class: 'charts' });
  const breakdowns = h('div', { class: 'breakdowns' });
  const tops = h('div', { class: 'tops' });

  root.append(h('section', { class: 'page dashboard' },
    h('div', { class: 'dash-head' }, h('h1', null, 'Dashboard'), rangeSel, updated),
    errEl,
    h('h2', { class: 'vh' }, 'Right now'),
    h('div', { class: 'cards cards-now' }, Object.values(nowCards).map((c) => c.el)),
    h('h2', { class: 'section-title', id: 'totals-h' }, RANGES[st.range].label),
    h('div', { class: 'cards' }, Object.values(totalCards).map((c) => c.el)),
    charts, breakdowns, tops));

  rangeSel.addEventListener('change', (e) => {
    st.range = e.target.value;
    root.querySelector('#totals-h').textContent = RANGES[st.range].label;
    history.replaceState(null, '', `#/dashboard?range=${st.range}`);
    load();
  });

  function card(label, cls) {
    const value = h('span', { class: 'card-value' }, '–');
    const el = h('div', { class: `card ${cls}` }, h('span', { class: 'card-label' }, label), value);
    return { el, set(v) { value.textContent = v == null ? '–' : Number(v).toLocaleString(); } };
  }

  async function load() {
    const seq = ++st.seq;
    const r = RANGES[st.range];
    // Align to the step so buckets stay put between reloads; the last
    // bucket is the current, partial one (ending in the future, so a
    // session that started a moment ago is always in it).
    const to = Math.ceil((Date.now() + 1) / r.stepMs) * r.stepMs;
    const from = to - r.span;
    try {
      const data = await api.stats({ from: iso(new Date(from)), to: iso(new Date(to)), step: r.step });
      if (seq !== st.seq) return;
      st.data = data;
      errEl.hidden = true;
      render();
      updated.textContent = `Updated ${clockTime(new Date())}`;
    } catch (err) {
      if (seq !== st.seq) return;
      errEl.textContent = `Could not load statistics: ${err.message}`;
      errEl.hidden = false;
    }
  }

  function render() {
    const d = st.data;
    const buckets = d.buckets || [];
    for (const [k, c] of Object.entries(nowCards)) c.set(d.now ? d.now[k] : null);
    for (const x of SERIES) totalCards[x.key].set(buckets.reduce((a, b) => a + (b[x.key] || 0), 0));
    drawCharts();

    clear(breakdowns);
    breakdowns.append(
      breakdown('Refused or cut short, by reason', sumMaps(buckets, 'refused_by'), 'Every session in this period ended with QUIT.'),
      breakdown('DNS list hits, by zone', sumMaps(buckets, 'list_hits'), 'No DNS list hits in this period.'));

    clear(tops);
    const top = d.top || {};
    tops.append(
      topTable('Top client IPs', 'IP address', top.ip, (k) => [
        h('a', { href: `#/sessions?ip=${encodeURIComponent(k)}`, title: 'Sessions from this address' }, k),
        ' ', h('a', { class: 'subtle', href: `#/?q=${encodeURIComponent(`ip:${k}`)}`, title: 'Messages from this address' }, 'mail')]),
      topTable('Top HELO names', 'HELO/EHLO', top.helo, (k) => h('a', { href: `#/sessions?helo=${encodeURIComponent(k)}` }, k)),
      topTable('Top sender domains', 'Domain', top.sender_domain, (k) => h('a', { href: `#/?q=${encodeURIComponent(`from:${quote(k)}`)}` }, k)));
  }

  function drawCharts() {
    if (!st.data) return;
    clear(charts);
    lastWidth = charts.clientWidth;
    const buckets = st.data.buckets || [];
    for (const x of SERIES) {
      const fig = h('figure', { class: 'chart' });
      charts.append(fig);
      const total = buckets.reduce((a, b) => a + (b[x.key] || 0), 0);
      fig.append(h('figcaption', null, h('span', null, x.label), h('span', { class: 'chart-total' }, total.toLocaleString())));
      fig.append(barChart(buckets, x, Math.max(240, fig.clientWidth - 2)));
    }
  }

  function barChart(buckets, series, width) {
    const H = 150;
    const m = { l: 34, r: 6, t: 8, b: 22 };
    const pw = width - m.l - m.r;
    const ph = H - m.t - m.b;
    const vals = buckets.map((b) => b[series.key] || 0);
    const peak = Math.max(0, ...vals);
    const top = niceMax(peak);
    const n = Math.max(1, vals.length);
    const bw = pw / n;
    const gap = bw > 4 ? 1 : 0;
    let peakAt = null;
    if (peak > 0) peakAt = parseDateSafe(buckets[vals.indexOf(peak)].start);
    const svg = s('svg', {
      class: `barchart ${series.cls}`, width, height: H, viewBox: `0 0 ${width} ${H}`, role: 'img',
      'aria-label': `${series.label}: ${vals.reduce((a, b) => a + b, 0)} in total`
        + (peakAt ? `, at most ${peak} per interval (${absTime(peakAt)})` : ''),
    });
    for (const f of [0, 0.5, 1]) {
      const y = m.t + ph - f * ph;
      svg.append(s('line', { class: 'grid', x1: m.l, x2: width - m.r, y1: y, y2: y }));
      svg.append(s('text', { class: 'axis', x: m.l - 4, y: y + 3.5, 'text-anchor': 'end' }, fmtCount(top * f)));
    }
    vals.forEach((v, i) => {
      if (!v) return;
      const bh = Math.max(1, (v / top) * ph);
      const start = parseDateSafe(buckets[i].start);
      svg.append(s('rect', {
        class: 'bar', x: (m.l + i * bw + gap).toFixed(1), y: (m.t + ph - bh).toFixed(1),
        width: Math.max(1, bw - 2 * gap).toFixed(1), height: bh.toFixed(1),
      }, s('title', null, `${start ? absTime(start) : ''}: ${v}`)));
    });
    const idx = buckets.length > 2 ? [0, Math.floor(buckets.length / 2), buckets.length - 1] : buckets.map((_, i) => i);
    for (const i of idx) {
      const d = parseDateSafe(buckets[i].start);
      if (!d) continue;
      const anchor = i === 0 ? 'start' : (i === buckets.length - 1 ? 'end' : 'middle');
      const x = i === buckets.length - 1 ? m.l + (i + 1) * bw : m.l + i * bw + (anchor === 'middle' ? bw / 2 : 0);
      svg.append(s('text', { class: 'axis', x: x.toFixed(1), y: H - 6, 'text-anchor': anchor }, axisLabel(d)));
    }
    if (!peak) {
      svg.append(s('text', { class: 'axis nodata', x: m.l + pw / 2, y: m.t + ph / 2, 'text-anchor': 'middle' }, 'none'));
    }
    return svg;
  }

  function axisLabel(d) {
    if (st.range === '7d') return `${d.toLocaleDateString(undefined, { weekday: 'short' })} ${clockTime(d)}`;
    return clockTime(d);
  }

  function breakdown(title, map, emptyText) {
    const rows = Object.entries(map).sort((a, b) => b[1] - a[1]);
    const max = rows.length ? rows[0][1] : 1;
    return h('section', { class: 'panel' },
      h('h2', null, title),
      rows.length
        ? h('table', { class: 'hbars' }, h('tbody', null, rows.map(([k, v]) => h('tr', null,
          h('th', { scope: 'row', title: k }, h('code', null, k)),
          h('td', { class: 'num' }, v.toLocaleString()),
          h('td', { class: 'hbar-cell' }, s('svg', { class: 'hbar', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
            s('rect', { width: Math.max(0.5, (v / max) * 100).toFixed(2), height: 10 })))))))
        : h('p', { class: 'muted' }, emptyText));
  }

  function topTable(title, col, rows, cell) {
    rows = rows || [];
    return h('section', { class: 'panel' },
      h('h2', null, title),
      rows.length
        ? h('table', { class: 'top' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, col), h('th', { scope: 'col', class: 'num' }, 'Count'))),
          h('tbody', null, rows.map((r) => h('tr', null, h('td', { class: 'key' }, cell(r.key)), h('td', { class: 'num' }, r.count.toLocaleString())))))
        : h('p', { class: 'muted' }, 'Nothing in this period.'));
  }

  // ---- live ----
  const reload = throttle(load, 3000);
  const every = setInterval(load, 60000);
  let lastWidth = 0;
  const redraw = debounce(() => {
    if (charts.clientWidth === lastWidth) return;
    lastWidth = charts.clientWidth;
    drawCharts();
  }, 150);
  const ro = new ResizeObserver(redraw);
  ro.observe(charts);
  load();

  return {
    update(r) {
      const range = RANGES[r.params.get('range')] ? r.params.get('range') : '24h';
      if (range === st.range) return;
      st.range = range;
      for (const i of rangeSel.querySelectorAll('input')) i.checked = i.value === range;
      root.querySelector('#totals-h').textContent = RANGES[range].label;
      load();
    },
    unmount() {
      clearInterval(every);
      reload.cancel();
      ro.disconnect();
    },
    onEvent(name, data) {
      if (name === 'stats' && data) {
        nowCards.sessions.set(data.sessions);
        nowCards.tarpitted.set(data.tarpitted);
        return;
      }
      if (['session', 'message', 'deleted', 'resync'].includes(name)) reload();
    },
  };
}

function iso(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseDateSafe(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

function sumMaps(buckets, field) {
  const out = {};
  for (const b of buckets) {
    for (const [k, v] of Object.entries(b[field] || {})) out[k] = (out[k] || 0) + v;
  }
  return out;
}

// niceMax rounds up to 1, 2 or 5 × 10^n so the axis reads well.
function niceMax(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}

function fmtCount(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v * 10) / 10);
}

function quote(v) {
  return /[\s"]/.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : v;
}
