// DOM and formatting helpers shared by the views.
//
// Everything that comes from a message (addresses, subjects, headers,
// transcripts) reaches the page as text nodes: h() turns string children
// into text, and no view ever assigns innerHTML. The page's CSP forbids
// inline styles, so presentation goes through classes (and SVG
// presentation attributes for the charts).

const SVG_NS = 'http://www.w3.org/2000/svg';

// h builds an HTML element. props: "class", "dataset", "on<event>"
// handlers, a few DOM properties (value, checked, indeterminate,
// disabled, hidden), anything else is an attribute. Children may be
// nodes, strings (inserted as text), numbers, arrays, null or false.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

// s builds an SVG element with attributes.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, attrs);
  append(el, children);
  return el;
}

const PROPS = new Set(['value', 'checked', 'indeterminate', 'disabled', 'hidden']);

function setProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (PROPS.has(k) && !(el instanceof SVGElement)) {
      el[k] = v;
    } else if (k === 'style') {
      // The CSP blocks style attributes; fail loudly in development.
      throw new Error('dom: use a class, not a style attribute');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// clear removes every child of el.
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// Icons: 24×24 stroked paths, drawn with currentColor.
const ICONS = {
  trash: 'M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6',
  clip: 'M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.6-8.6a3.4 3.4 0 0 1 4.8 4.8l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9',
  warn: 'M12 3.5L22 20H2zM12 10v4.5M12 17.2v.3',
  download: 'M12 3v12M7 10.5l5 5 5-5M4 20h16',
  back: 'M20 12H5M11 5l-7 7 7 7',
  prev: 'M15 5l-7 7 7 7',
  next: 'M9 5l7 7-7 7',
  mail: 'M3 5.5h18v13H3zM3.5 6l8.5 7 8.5-7',
  open: 'M3 10l9-6 9 6v10H3zM3.5 10.5l8.5 5.5 8.5-5.5',
  image: 'M3 5h18v14H3zM3 16l5-5 4 4 3-3 6 6M15.5 9.5v.1',
  search: 'M10.5 17a6.5 6.5 0 1 1 0-13 6.5 6.5 0 0 1 0 13zM15.5 15.5L21 21',
  check: 'M4 12.5l5 5L20 6.5',
};

export function icon(name, label) {
  const svg = s('svg', {
    class: 'icon', viewBox: '0 0 24 24', width: 18, height: 18, fill: 'none',
    stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round',
    'aria-hidden': label ? null : 'true', role: label ? 'img' : null, 'aria-label': label || null,
    focusable: 'false',
  }, s('path', { d: ICONS[name] }));
  return svg;
}

// button builds a <button type=button> with an optional icon.
export function button(label, { icon: ic, onclick, cls, title, ariaLabel, disabled } = {}) {
  return h('button', {
    type: 'button', class: cls ? `btn ${cls}` : 'btn', title, 'aria-label': ariaLabel, onclick, disabled,
  }, ic ? icon(ic) : null, label ? h('span', { class: 'btn-label' }, label) : null);
}

// ---- formatting ----

export function fmtSize(n) {
  if (n == null || Number.isNaN(n)) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const absFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const shortFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function parseDate(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

// relTime is "12 sec. ago", "5 min. ago", "3 hr. ago" within a day,
// then the date.
export function relTime(d, now = Date.now()) {
  if (!d) return '';
  const sec = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(sec);
  if (abs < 10) return 'just now';
  if (abs < 60) return rtf.format(sec, 'second');
  if (abs < 3600) return rtf.format(Math.round(sec / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(sec / 3600), 'hour');
  if (abs < 7 * 86400) return rtf.format(Math.round(sec / 86400), 'day');
  return shortFmt.format(d);
}

export function absTime(d) {
  return d ? absFmt.format(d) : '';
}

export function clockTime(d) {
  return d ? timeFmt.format(d) : '';
}

// timeEl is a <time> showing the relative time, the absolute one on
// hover; refreshTimes() keeps the relative text current.
export function timeEl(v, cls) {
  const d = parseDate(v);
  if (!d) return h('span', { class: cls }, '—');
  return h('time', { class: cls, datetime: d.toISOString(), title: `${absTime(d)} (${d.toISOString()})` }, relTime(d));
}

export function refreshTimes(root) {
  const now = Date.now();
  for (const t of root.querySelectorAll('time[datetime]')) {
    if (t.dataset.fixed) continue;
    t.textContent = relTime(new Date(t.getAttribute('datetime')), now);
  }
}

// hostPort joins an address and a port, bracketing IPv6.
export function hostPort(ip, port) {
  if (!ip) return '';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return port ? `${host}:${port}` : host;
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// debounce runs fn once calls have stopped for ms.
export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => { t = null; fn(...args); }, ms);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}

// throttle runs fn at most once per ms, always with a trailing call so
// the last change is never lost.
export function throttle(fn, ms) {
  let last = 0;
  let t = null;
  const run = () => { last = Date.now(); t = null; fn(); };
  const f = () => {
    if (t) return;
    const wait = Math.max(0, last + ms - Date.now());
    t = setTimeout(run, wait);
  };
  f.cancel = () => { clearTimeout(t); t = null; };
  return f;
}

// isTyping reports whether keyboard input belongs to a text field.
export function isTyping(el) {
  if (!el) return false;
  if (el.isContentEditable) return true;
  if (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
  if (el.tagName === 'INPUT') {
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(el.type);
  }
  return false;
}

// transcript renders a session transcript ("C: ..." / "S: ..." lines)
// into a <pre>, client and server lines in their own classes.
export function transcript(text) {
  const pre = h('pre', { class: 'transcript', tabindex: 0, 'aria-label': 'SMTP transcript' });
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    let cls = 'tl';
    if (line.startsWith('C:')) cls = 'tl tl-c';
    else if (line.startsWith('S:')) cls = 'tl tl-s';
    pre.append(h('span', { class: cls }, line), '\n');
  }
  return pre;
}

// tabs builds an ARIA tab widget. items: [{id, label, render(panel)}];
// render runs once, the first time the tab is shown. onChange(id) is
// told of every switch.
export function tabs(items, initial, onChange) {
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Message parts' });
  const panels = h('div', { class: 'tabpanels' });
  const byID = new Map();
  const uid = `t${Math.random().toString(36).slice(2, 8)}`;
  for (const it of items) {
    const tab = h('button', {
      type: 'button', role: 'tab', id: `${uid}-${it.id}`, class: 'tab', 'aria-selected': 'false',
      'aria-controls': `${uid}-${it.id}-panel`, tabindex: -1, dataset: { tab: it.id },
    }, it.label);
    const panel = h('div', {
      role: 'tabpanel', id: `${uid}-${it.id}-panel`, class: 'tabpanel', 'aria-labelledby': tab.id, hidden: true, tabindex: 0,
    });
    tab.addEventListener('click', () => select(it.id, true));
    list.append(tab);
    panels.append(panel);
    byID.set(it.id, { it, tab, panel, rendered: false });
  }
  list.addEventListener('keydown', (e) => {
    const ids = items.map((i) => i.id);
    const cur = ids.indexOf(document.activeElement?.dataset?.tab);
    if (cur < 0) return;
    let next = -1;
    if (e.key === 'ArrowRight') next = (cur + 1) % ids.length;
    else if (e.key === 'ArrowLeft') next = (cur - 1 + ids.length) % ids.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = ids.length - 1;
    if (next < 0) return;
    e.preventDefault();
    e.stopPropagation();
    select(ids[next], true);
    byID.get(ids[next]).tab.focus();
  });
  let current = null;
  function select(id, user) {
    const t = byID.get(id);
    if (!t) return;
    for (const [k, v] of byID) {
      const on = k === id;
      v.tab.setAttribute('aria-selected', on ? 'true' : 'false');
      v.tab.tabIndex = on ? 0 : -1;
      v.panel.hidden = !on;
    }
    if (!t.rendered) {
      t.rendered = true;
      t.it.render(t.panel);
    }
    current = id;
    if (user && onChange) onChange(id);
  }
  select(byID.has(initial) ? initial : items[0].id, false);
  return { el: h('div', { class: 'tabset' }, list, panels), select, get current() { return current; }, ids: items.map((i) => i.id) };
}
