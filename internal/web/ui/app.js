// fakesmtp web UI: hash router, live events, global keys, toasts.
//
// Each view is a module whose mount(root, route, app) returns an object
// with optional unmount(), update(route) (same view, new parameters),
// onEvent(name, data) and onKey(event, typing) → handled.

import { api, connectEvents } from './api.js';
import { h, clear, isTyping, throttle } from './dom.js';
import { mountInbox } from './inbox.js';
import { mountMessage } from './message.js';
import { mountDashboard } from './dashboard.js';
import { mountSessions, mountSession } from './sessions.js';

const main = document.getElementById('main');
const connEl = document.getElementById('conn');
const toastsEl = document.getElementById('toasts');
const unreadEl = document.getElementById('nav-unread');

// ---- routes ----

const ROUTES = [
  { name: 'inbox', re: /^\/$/, mount: mountInbox, nav: 'inbox' },
  { name: 'message', re: /^\/message\/([^/]+)(?:\/([a-z]+))?$/, keys: ['id', 'tab'], mount: mountMessage, nav: 'inbox' },
  { name: 'dashboard', re: /^\/dashboard$/, mount: mountDashboard, nav: 'dashboard' },
  { name: 'sessions', re: /^\/sessions$/, mount: mountSessions, nav: 'sessions' },
  { name: 'session', re: /^\/sessions\/([^/]+)$/, keys: ['id'], mount: mountSession, nav: 'sessions' },
];

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (!m) continue;
    const route = { name: r.name, def: r, params, path };
    (r.keys || []).forEach((k, i) => { route[k] = m[i + 1] ? decodeURIComponent(m[i + 1]) : ''; });
    return route;
  }
  return { name: 'notfound', def: { mount: mountNotFound, nav: '' }, params, path };
}

function mountNotFound(root, route, app) {
  app.setTitle('Not found');
  root.append(h('section', { class: 'page narrow' },
    h('h1', null, 'Not found'),
    h('p', null, 'There is no page at ', h('code', null, `#${route.path}`), '. ', h('a', { href: '#/' }, 'Go to the inbox'), '.')));
  return {};
}

// ---- app context given to the views ----

let viewTitle = 'Inbox';

const app = {
  state: {
    listHash: '#/', // where "back to the inbox" goes (keeps search and page)
    listIds: [], // the inbox page last shown, for next/previous message
    lastOpened: null, // the message last opened, to put the cursor back on
    unread: 0,
    focusSearch: false,
  },
  setTitle(name) {
    viewTitle = name;
    renderTitle();
  },
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  toast,
  confirm: confirmDialog,
  refreshUnread: null,
};

function renderTitle() {
  const n = app.state.unread;
  document.title = `${n ? `(${n}) ` : ''}${viewTitle} · fakesmtp`;
  unreadEl.textContent = n ? String(n) : '';
  unreadEl.hidden = !n;
  unreadEl.setAttribute('aria-label', `${n} unread`);
}

app.refreshUnread = throttle(async () => {
  try {
    const r = await api.listMessages({ limit: 1 });
    app.state.unread = r.unread || 0;
    renderTitle();
  } catch { /* the connection indicator tells */ }
}, 1000);

// ---- router ----

let current = null; // { route, view }

function route() {
  const r = parseHash();
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.def.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (current && current.route.name === r.name && current.view.update) {
    current.route = r;
    current.view.update(r);
    return;
  }
  if (current && current.view.unmount) current.view.unmount();
  clear(main);
  const before = document.activeElement;
  let view;
  try {
    view = r.def.mount(main, r, app) || {};
  } catch (err) {
    console.error(err);
    main.append(h('p', { class: 'error' }, `This page failed to load: ${err.message}`));
    view = {};
  }
  current = { route: r, view };
  // Move focus into the new page (for screen readers) unless the view
  // took it itself.
  if (document.activeElement === before || document.activeElement === document.body) {
    main.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);

// ---- live events ----

const STATUS_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline, retrying…',
};

connectEvents({
  onStatus(state) {
    connEl.dataset.state = state;
    connEl.textContent = STATUS_TEXT[state] || state;
    connEl.title = state === 'live'
      ? 'Receiving live updates'
      : 'The live update stream is not connected; the page will catch up when it is back.';
  },
  onEvent(name, data) {
    if (['message', 'deleted', 'read', 'updated', 'resync'].includes(name)) app.refreshUnread();
    if (current && current.view.onEvent) current.view.onEvent(name, data);
  },
});

// ---- keyboard ----

let gPending = false;
let gTimer = null;

document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  const typing = isTyping(e.target);
  if (e.key === 'Escape') {
    if (document.querySelector(':popover-open')) return;
    if (current && current.view.onKey && current.view.onKey(e, typing)) e.preventDefault();
    else if (typing) e.target.blur();
    return;
  }
  if (typing) return;
  if (gPending) {
    gPending = false;
    clearTimeout(gTimer);
    const to = { i: '#/', d: '#/dashboard', s: '#/sessions' }[e.key];
    if (to) {
      e.preventDefault();
      app.navigate(to);
      return;
    }
  }
  if (e.key === 'g') {
    gPending = true;
    gTimer = setTimeout(() => { gPending = false; }, 1200);
    return;
  }
  if (e.key === '?') {
    e.preventDefault();
    document.getElementById('keys-dialog').showModal();
    return;
  }
  if (e.key === '/') {
    e.preventDefault();
    if (current && current.view.focusSearch) current.view.focusSearch();
    else {
      app.state.focusSearch = true;
      app.navigate(app.state.listHash);
    }
    return;
  }
  if (current && current.view.onKey && current.view.onKey(e, false)) e.preventDefault();
});

document.getElementById('keys-btn').addEventListener('click', () => {
  document.getElementById('keys-dialog').showModal();
});

// ---- toasts and confirmation ----

// toast shows a short unobtrusive message; kind "error" stays longer.
function toast(text, kind = 'info') {
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : null }, h('span', null, text), close);
  const remove = () => t.remove();
  close.addEventListener('click', remove);
  toastsEl.append(t);
  while (toastsEl.children.length > 4) toastsEl.firstElementChild.remove();
  setTimeout(remove, kind === 'error' ? 9000 : 4000);
}

// confirmDialog asks with a modal <dialog>; resolves true on OK.
function confirmDialog(text, okLabel = 'OK') {
  const dlg = document.getElementById('confirm-dialog');
  dlg.querySelector('.confirm-text').textContent = text;
  const ok = dlg.querySelector('.confirm-ok');
  ok.textContent = okLabel;
  return new Promise((resolve) => {
    const done = () => {
      dlg.removeEventListener('close', done);
      resolve(dlg.returnValue === 'ok');
    };
    dlg.returnValue = '';
    dlg.addEventListener('close', done);
    dlg.showModal();
    dlg.querySelector('.confirm-cancel').focus();
  });
}

// ---- start ----

app.refreshUnread();
route();
