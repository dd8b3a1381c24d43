// SMTP sessions: a filterable list, and one session with its transcript.

import { api, ApiError } from './api.js';
import { h, clear, icon, button, timeEl, absTime, parseDate, hostPort, plural, transcript, refreshTimes, throttle } from './dom.js';

const PAGE = 50;

function flags(x) {
  const out = [];
  if (x.tls) out.push(['TLS', 'chip-ok']);
  if (x.auth_user) out.push([`AUTH ${x.auth_user}`, 'chip-ok']);
  if (x.early_talk) out.push(['early talk', 'chip-bad']);
  if (x.tarpitted) out.push(['tarpitted', 'chip-warn']);
  if (x.trap_hit) out.push(['trap hit', 'chip-bad']);
  for (const z of x.dns_lists || []) out.push([`listed: ${z}`, 'chip-bad']);
  for (const f of x.findings || []) out.push([f, 'chip-warn']);
  return out.map(([t, c]) => h('span', { class: `chip ${c}` }, t));
}

export function mountSessions(root, route, app) {
  const st = { filters: read(route.params), page: pageOf(route.params), seq: 0, sessions: [], total: 0 };
  app.setTitle('Sessions');
  app.state.sessionsHash = location.hash || '#/sessions';

  const inputs = {
    ip: h('input', { id: 'f-ip', name: 'ip', type: 'text', inputmode: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: '192.0.2.7', value: st.filters.ip }),
    helo: h('input', { id: 'f-helo', name: 'helo', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'client.example', value: st.filters.helo }),
    reason: h('input', { id: 'f-reason', name: 'reason', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'quit, timeout, listed…', value: st.filters.reason }),
  };
  const form = h('form', { class: 'filters', action: '#' },
    h('div', { class: 'field' }, h('label', { for: 'f-ip' }, 'Client IP'), inputs.ip),
    h('div', { class: 'field' }, h('label', { for: 'f-helo' }, 'HELO'), inputs.helo),
    h('div', { class: 'field' }, h('label', { for: 'f-reason' }, 'End reason (prefix)'), inputs.reason),
    h('div', { class: 'field field-buttons' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Filter'),
      button('Clear', { onclick: () => { for (const i of Object.values(inputs)) i.value = ''; apply(); } })));
  const countEl = h('span', { class: 'list-count', 'aria-live': 'polite' });
  const prevBtn = button('Newer', { icon: 'prev', cls: 'btn-ghost', onclick: () => go(st.page - 1) });
  const nextBtn = button('Older', { icon: 'next', cls: 'btn-ghost btn-icon-right', onclick: () => go(st.page + 1) });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prevBtn, nextBtn);
  const errEl = h('p', { class: 'load-error', role: 'alert', hidden: true });
  const tbody = h('tbody');
  const table = h('table', { class: 'sessions' },
    h('thead', null, h('tr', null, ['Started', 'Client', 'HELO', 'Messages', 'Notes', 'Ended by'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody);
  const empty = h('p', { class: 'empty', hidden: true });

  root.append(h('section', { class: 'page sessions-page' },
    h('h1', null, 'Sessions'), form,
    h('div', { class: 'listbar' }, countEl, pager), errEl, h('div', { class: 'scroll-x' }, table), empty));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });

  function apply() {
    st.filters = { ip: inputs.ip.value.trim(), helo: inputs.helo.value.trim(), reason: inputs.reason.value.trim() };
    st.page = 1;
    syncURL();
    load();
  }

  function go(p) {
    st.page = Math.max(1, p);
    syncURL();
    load();
  }

  function syncURL() {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(st.filters)) if (v) p.set(k, v);
    if (st.page > 1) p.set('page', String(st.page));
    const q = p.toString();
    app.state.sessionsHash = q ? `#/sessions?${q}` : '#/sessions';
    history.replaceState(null, '', app.state.sessionsHash);
  }

  async function load() {
    const seq = ++st.seq;
    try {
      const r = await api.listSessions({ ...st.filters, limit: PAGE, offset: (st.page - 1) * PAGE });
      if (seq !== st.seq) return;
      st.sessions = r.sessions || [];
      st.total = r.total;
      errEl.hidden = true;
      render();
    } catch (err) {
      if (seq !== st.seq) return;
      errEl.textContent = `Could not load sessions: ${err.message}`;
      errEl.hidden = false;
    }
  }

  function render() {
    clear(tbody);
    for (const x of st.sessions) {
      const href = `#/sessions/${encodeURIComponent(x.id)}`;
      tbody.append(h('tr', { dataset: { id: x.id } },
        h('td', { 'data-label': 'Started' }, h('a', { href, class: 'session-link' }, timeEl(x.start))),
        h('td', { 'data-label': 'Client' }, h('code', null, hostPort(x.client_ip, x.client_port))),
        h('td', { 'data-label': 'HELO', class: 'helo' }, x.helo ? h('code', null, x.helo) : h('span', { class: 'muted' }, '—')),
        h('td', { 'data-label': 'Messages', class: 'num' },
          `${x.accepted}`, x.refused ? h('span', { class: 'refused', title: 'refused' }, ` / ${x.refused} refused`) : ''),
        h('td', { 'data-label': 'Notes' }, flags(x)),
        h('td', { 'data-label': 'Ended by' }, x.reason ? h('code', null, x.reason) : '')));
    }
    const from = st.total ? (st.page - 1) * PAGE + 1 : 0;
    countEl.textContent = st.total ? `${from}–${from + st.sessions.length - 1} of ${plural(st.total, 'session')}` : '';
    const pages = Math.max(1, Math.ceil(st.total / PAGE));
    prevBtn.disabled = st.page <= 1;
    nextBtn.disabled = st.page >= pages;
    pager.hidden = pages <= 1;
    table.hidden = !st.sessions.length;
    empty.hidden = !!st.sessions.length;
    empty.textContent = Object.values(st.filters).some(Boolean) ? 'No session matches these filters.' : 'No sessions recorded yet.';
  }

  const reload = throttle(load, 1000);
  const tick = setInterval(() => refreshTimes(tbody), 30000);
  load();

  return {
    update(r) {
      st.filters = read(r.params);
      st.page = pageOf(r.params);
      for (const [k, i] of Object.entries(inputs)) i.value = st.filters[k];
      app.state.sessionsHash = location.hash;
      load();
    },
    unmount() {
      clearInterval(tick);
      reload.cancel();
    },
    onEvent(name) {
      if ((name === 'session' && st.page === 1) || name === 'resync') reload();
    },
    onKey(e, typing) {
      if (typing) return false;
      const links = [...tbody.querySelectorAll('a.session-link')];
      const i = links.indexOf(document.activeElement);
      if (e.key === 'j' || e.key === 'ArrowDown') {
        links[Math.min(links.length - 1, i + 1)]?.focus();
        return links.length > 0;
      }
      if (e.key === 'k' || e.key === 'ArrowUp') {
        links[Math.max(0, i - 1)]?.focus();
        return links.length > 0;
      }
      return false;
    },
  };
}

function read(params) {
  return { ip: params.get('ip') || '', helo: params.get('helo') || '', reason: params.get('reason') || '' };
}

function pageOf(params) {
  return Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
}

export function mountSession(root, route, app) {
  const id = route.id;
  app.setTitle('Session');
  const page = h('article', { class: 'page session' },
    h('div', { class: 'msgbar' }, h('div', { class: 'msgbar-nav' },
      h('a', { class: 'btn btn-ghost', href: app.state.sessionsHash || '#/sessions' }, icon('back'), h('span', { class: 'btn-label' }, 'Sessions')))));
  const body = h('div', null, h('p', { class: 'loading' }, 'Loading…'));
  page.append(body);
  root.append(page);

  api.getSession(id).then((x) => {
    clear(body);
    app.setTitle(`Session ${hostPort(x.client_ip, x.client_port)}`);
    const start = parseDate(x.start);
    const end = parseDate(x.end);
    const dur = start && end ? `${((end - start) / 1000).toFixed(1)} s` : '';
    const rows = [
      ['Client', h('code', null, hostPort(x.client_ip, x.client_port))],
      ['HELO/EHLO', x.helo ? h('code', null, x.helo) : '—'],
      ['Started', start ? absTime(start) : '—'],
      ['Ended', end ? `${absTime(end)}${dur ? ` (${dur})` : ''}` : '—'],
      ['Messages', `${x.accepted} accepted, ${x.refused} refused, ${plural(x.errors, 'error')}`],
      ['Ended by', x.reason ? h('code', null, x.reason) : '—'],
      ['Notes', flags(x).length ? flags(x) : '—'],
      ['Verdicts', (x.verdicts || []).length ? x.verdicts.map((v) => h('span', { class: 'chip' }, v)) : '—'],
      ['Message IDs', (x.message_ids || []).length
        ? h('ul', { class: 'plain' }, x.message_ids.map((m) => h('li', null, h('a', { href: `#/message/${encodeURIComponent(m)}` }, h('code', null, m)))))
        : '—'],
    ];
    body.append(h('h1', null, 'Session ', h('code', null, x.id)),
      h('dl', { class: 'kvlist' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
      h('h2', null, 'Transcript'),
      x.transcript ? transcript(x.transcript) : h('p', { class: 'muted' }, 'No transcript was recorded for this session.'));
  }).catch((err) => {
    clear(body);
    body.append(h('p', { class: err instanceof ApiError && err.status === 404 ? 'muted' : 'load-error' },
      err instanceof ApiError && err.status === 404 ? 'No such session (it may have been pruned).' : `Could not load the session: ${err.message}`));
  });

  return {
    onKey(e) {
      if (e.key === 'Escape') {
        app.navigate(app.state.sessionsHash || '#/sessions');
        return true;
      }
      return false;
    },
  };
}
