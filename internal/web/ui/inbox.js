// The inbox: the message list with search, paging, selection and live
// updates.

import { api, ApiError } from './api.js';
import { h, clear, icon, button, fmtSize, timeEl, refreshTimes, plural, debounce, throttle } from './dom.js';

const PAGE = 50;

// OPERATORS is the search help (docs/api.md, "Query language").
const OPERATORS = [
  ['from:alice', 'From header or MAIL FROM contains "alice"'],
  ['to:bob@example.net', 'To, Cc or RCPT TO contains the text'],
  ['subject:invoice', 'the subject has the word'],
  ['ip:192.0.2.0/24', 'client IP address, prefix or CIDR range'],
  ['helo:localhost', 'HELO/EHLO name contains the text'],
  ['has:attachment', 'messages with attachments'],
  ['is:unread', 'unread messages (is:read for read ones)'],
  ['finding:bare-lf-data', 'messages with this client-diagnosis finding'],
  ['verdict:tls', 'messages with this screening verdict'],
  ['tag:NAME', 'messages with this tag'],
  ['after:2026-01-31', 'received on or after the date'],
  ['before:2026-02-01', 'received before the date'],
  ['"exact phrase"', 'the words in this order'],
  ['-term', 'negation: messages NOT matching term (e.g. -has:attachment)'],
];

export function mountInbox(root, route, app) {
  const st = {
    q: route.params.get('q') || '',
    page: Math.max(1, parseInt(route.params.get('page') || '1', 10) || 1),
    total: 0,
    unread: 0,
    messages: [],
    selected: new Set(),
    cursor: app.state.lastOpened,
    loaded: false,
    seq: 0,
    known: null, // IDs shown before a live reload, to mark new arrivals
  };
  app.setTitle('Inbox');

  // ---- skeleton ----
  const input = h('input', {
    id: 'search', type: 'search', name: 'q', class: 'search-input', value: st.q,
    placeholder: 'Search: from:alice has:attachment "exact words"', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'search-error', enterkeyhint: 'search',
  });
  const helpBtn = h('button', {
    type: 'button', class: 'btn btn-icon help-btn', popovertarget: 'search-help', 'aria-label': 'Search help', title: 'Search help',
  }, '?');
  const form = h('form', { class: 'search', role: 'search', action: '#' },
    h('label', { for: 'search', class: 'vh' }, 'Search messages'),
    icon('search'), input, helpBtn);
  const searchErr = h('p', { id: 'search-error', class: 'search-error', role: 'alert', hidden: true });

  const checkAll = h('input', { type: 'checkbox', class: 'check', id: 'check-all' });
  const btnRead = button('Mark read', { icon: 'open', onclick: () => markSelected(true), disabled: true, title: 'Mark the selected messages read' });
  const btnUnread = button('Mark unread', { icon: 'mail', onclick: () => markSelected(false), disabled: true, title: 'Mark the selected messages unread' });
  const btnDel = button('Delete', { icon: 'trash', onclick: () => deleteSelected(), disabled: true, cls: 'btn-danger-soft', title: 'Delete the selected messages (Delete)' });
  const btnDelAll = button('Delete all…', { icon: 'trash', onclick: () => deleteAll(), cls: 'btn-danger' });
  const selInfo = h('span', { class: 'sel-info', 'aria-live': 'polite' });

  const countEl = h('span', { class: 'list-count', 'aria-live': 'polite' });
  const prevBtn = button('Newer', { icon: 'prev', onclick: () => go(st.page - 1), cls: 'btn-ghost' });
  const nextBtn = button('Older', { icon: 'next', onclick: () => go(st.page + 1), cls: 'btn-ghost btn-icon-right' });
  const pageEl = h('span', { class: 'page-of' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prevBtn, pageEl, nextBtn);

  const list = h('ul', { class: 'msglist', 'aria-label': 'Messages', id: 'msglist' });
  const empty = h('div', { class: 'empty', hidden: true });
  const loadErr = h('p', { class: 'load-error', role: 'alert', hidden: true });

  const help = h('div', { id: 'search-help', class: 'popover', popover: 'auto', 'aria-label': 'Search help' },
    h('h2', null, 'Search'),
    h('p', null, 'Terms are combined with AND. Click an example to add it.'),
    h('table', { class: 'ops' },
      h('tbody', null, OPERATORS.map(([op, desc]) => h('tr', null,
        h('td', null, h('button', { type: 'button', class: 'op', dataset: { op } }, op)),
        h('td', null, desc))))));

  root.append(h('section', { class: 'page inbox' },
    h('h1', { class: 'vh' }, 'Inbox'),
    h('div', { class: 'toolbar' }, form),
    searchErr,
    h('div', { class: 'listbar' },
      h('div', { class: 'bulk' },
        h('label', { class: 'check-all', for: 'check-all' }, checkAll, h('span', { class: 'vh' }, 'Select all on this page')),
        btnRead, btnUnread, btnDel, selInfo),
      h('div', { class: 'listnav' }, countEl, pager, btnDelAll)),
    loadErr, list, empty, help));

  // ---- search ----
  const searchNow = () => {
    const q = input.value.trim();
    if (q === st.q) return;
    st.q = q;
    st.page = 1;
    st.selected.clear();
    syncURL(false);
    load();
  };
  const searchSoon = debounce(searchNow, 350);
  input.addEventListener('input', searchSoon);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    searchSoon.cancel();
    searchNow();
  });
  help.addEventListener('toggle', (e) => {
    if (e.newState !== 'open') return;
    const r = helpBtn.getBoundingClientRect();
    const w = Math.min(480, window.innerWidth - 16);
    help.style.width = `${w}px`;
    help.style.top = `${r.bottom + 6}px`;
    help.style.left = `${Math.max(8, Math.min(r.right - w, window.innerWidth - w - 8))}px`;
  });
  help.addEventListener('click', (e) => {
    const b = e.target.closest('button.op');
    if (!b) return;
    const v = input.value.trim();
    input.value = v ? `${v} ${b.dataset.op}` : b.dataset.op;
    help.hidePopover();
    input.focus();
    searchSoon.cancel();
    searchNow();
  });

  // ---- selection ----
  checkAll.addEventListener('change', () => {
    for (const m of st.messages) {
      if (checkAll.checked) st.selected.add(m.id);
      else st.selected.delete(m.id);
    }
    syncSelection();
  });
  list.addEventListener('change', (e) => {
    const cb = e.target.closest('input.row-check');
    if (!cb) return;
    const id = cb.closest('li').dataset.id;
    if (cb.checked) st.selected.add(id);
    else st.selected.delete(id);
    syncSelection();
  });
  list.addEventListener('click', (e) => {
    const del = e.target.closest('button.row-del');
    if (del) deleteIDs([del.closest('li').dataset.id]);
  });
  list.addEventListener('focusin', (e) => {
    const li = e.target.closest('li.msg');
    if (li) setCursor(li.dataset.id, false);
  });

  function syncSelection() {
    const onPage = st.messages.filter((m) => st.selected.has(m.id)).length;
    checkAll.checked = onPage > 0 && onPage === st.messages.length;
    checkAll.indeterminate = onPage > 0 && onPage < st.messages.length;
    checkAll.disabled = st.messages.length === 0;
    for (const li of list.children) {
      const on = st.selected.has(li.dataset.id);
      li.classList.toggle('selected', on);
      const cb = li.querySelector('input.row-check');
      if (cb) cb.checked = on;
    }
    const n = st.selected.size;
    for (const b of [btnRead, btnUnread, btnDel]) b.disabled = n === 0;
    btnDel.querySelector('.btn-label').textContent = n ? `Delete ${n}` : 'Delete';
    selInfo.textContent = n ? `${n} selected` : '';
  }

  // ---- loading ----
  async function load({ live = false } = {}) {
    const seq = ++st.seq;
    if (!st.loaded) list.setAttribute('aria-busy', 'true');
    try {
      const r = await api.listMessages({ q: st.q, limit: PAGE, offset: (st.page - 1) * PAGE });
      if (seq !== st.seq) return;
      const pages = Math.max(1, Math.ceil(r.total / PAGE));
      if (st.page > pages && r.total > 0) {
        // The page emptied (deletions): show the last one instead.
        st.page = pages;
        syncURL(false);
        load({ live });
        return;
      }
      searchErr.hidden = true;
      input.removeAttribute('aria-invalid');
      loadErr.hidden = true;
      st.known = live && st.loaded ? new Set(st.messages.map((m) => m.id)) : null;
      st.total = r.total;
      st.unread = r.unread;
      st.messages = r.messages || [];
      st.loaded = true;
      app.state.listIds = st.messages.map((m) => m.id);
      const ids = new Set(app.state.listIds);
      for (const id of st.selected) if (!ids.has(id)) st.selected.delete(id);
      render();
    } catch (err) {
      if (seq !== st.seq) return;
      if (err instanceof ApiError && err.status === 400 && st.q) {
        searchErr.textContent = `Search not understood: ${err.message.replace(/^index: query: /, '')}`;
        searchErr.hidden = false;
        input.setAttribute('aria-invalid', 'true');
      } else {
        loadErr.textContent = `Could not load messages: ${err.message}`;
        loadErr.hidden = false;
      }
    } finally {
      if (seq === st.seq) list.removeAttribute('aria-busy');
    }
  }

  function render() {
    const hadFocus = list.contains(document.activeElement);
    clear(list);
    for (const m of st.messages) list.append(row(m, st.known && !st.known.has(m.id)));
    st.known = null;

    const from = st.total ? (st.page - 1) * PAGE + 1 : 0;
    const to = (st.page - 1) * PAGE + st.messages.length;
    countEl.textContent = st.total
      ? `${from}–${to} of ${st.total}${st.unread ? `, ${st.unread} unread` : ''}`
      : '';
    const pages = Math.max(1, Math.ceil(st.total / PAGE));
    pageEl.textContent = pages > 1 ? `Page ${st.page} of ${pages}` : '';
    prevBtn.disabled = st.page <= 1;
    nextBtn.disabled = st.page >= pages;
    pager.hidden = pages <= 1;
    btnDelAll.querySelector('.btn-label').textContent = st.q ? 'Delete matching…' : 'Delete all…';
    btnDelAll.disabled = st.total === 0;

    clear(empty);
    empty.hidden = st.messages.length > 0;
    if (!st.messages.length) {
      if (st.q) {
        empty.append(h('p', null, 'No message matches ', h('code', null, st.q), '.'),
          h('p', null, button('Clear search', { onclick: () => { input.value = ''; searchNow(); } })));
      } else {
        const where = h('p', null, 'Mail sent to this fakesmtp appears here as it arrives.');
        empty.append(icon('mail'), h('p', { class: 'empty-title' }, 'No messages yet'), where);
        // Say where to send, from the instance's own settings.
        api.info().then((info) => {
          const addr = (info.smtp_listen || [])[0];
          if (addr) where.replaceChildren('Send mail to ', h('code', null, addr), ' (SMTP); it appears here as it arrives.');
        }).catch(() => {});
      }
    }
    syncSelection();
    if (st.cursor && !st.messages.some((m) => m.id === st.cursor)) st.cursor = null;
    markCursor();
    // Keep keyboard focus on the cursor row across reloads, and put it
    // back on the message just closed.
    // Never take focus from something the user moved it to meanwhile
    // (the search box, a button).
    const back = app.state.lastOpened && st.cursor === app.state.lastOpened;
    app.state.lastOpened = null;
    const ae = document.activeElement;
    const free = !ae || ae === document.body || ae.id === 'main';
    if (hadFocus || (back && free)) {
      const li = cursorRow();
      if (li) {
        li.querySelector('a.msg-link').focus({ preventScroll: true });
        li.scrollIntoView({ block: 'nearest' });
      }
    }
    if (app.state.focusSearch) {
      app.state.focusSearch = false;
      input.focus();
    }
  }

  function row(m, fresh) {
    const from = (m.from && m.from.length ? m.from.join(', ') : m.mail_from) || '(no sender)';
    const to = (m.to && m.to.length ? m.to : m.rcpt_to || []).join(', ');
    const subject = m.subject || '(no subject)';
    const findings = m.findings || [];
    const link = h('a', { class: 'msg-link', href: `#/message/${encodeURIComponent(m.id)}` },
      h('span', { class: 'from' }, m.read ? null : h('span', { class: 'vh' }, 'Unread. '), from),
      h('span', { class: ['subject', m.subject ? '' : 'none'] }, subject),
      h('span', { class: 'to' }, to ? `to ${to}` : ''),
      h('span', { class: 'meta' },
        findings.length
          ? h('span', { class: 'badge badge-warn', title: `Findings: ${findings.join(', ')}` },
            icon('warn'), h('span', { class: 'vh' }, `${plural(findings.length, 'finding')}: `),
            h('span', { class: 'badge-n' }, String(findings.length)))
          : null,
        m.attachments
          ? h('span', { class: 'attach', title: plural(m.attachments, 'attachment') }, icon('clip'),
            h('span', { class: 'vh' }, plural(m.attachments, 'attachment')))
          : null,
        h('span', { class: 'size' }, fmtSize(m.size)),
        timeEl(m.received_at, 'when')));
    const name = `${from}: ${subject}`;
    return h('li', {
      class: ['msg', m.read ? 'read' : 'unread', fresh ? 'fresh' : '', st.selected.has(m.id) ? 'selected' : ''],
      dataset: { id: m.id },
    },
    h('input', { type: 'checkbox', class: 'check row-check', checked: st.selected.has(m.id), 'aria-label': `Select ${name}` }),
    link,
    h('button', { type: 'button', class: 'btn btn-icon btn-ghost row-del', 'aria-label': `Delete ${name}`, title: 'Delete' }, icon('trash')));
  }

  // ---- cursor (keyboard) ----
  function cursorRow() {
    return st.cursor ? list.querySelector(`li[data-id="${CSS.escape(st.cursor)}"]`) : null;
  }
  function markCursor() {
    for (const li of list.children) li.classList.toggle('cursor', li.dataset.id === st.cursor);
  }
  function setCursor(id, focus) {
    st.cursor = id;
    markCursor();
    const li = cursorRow();
    if (li && focus) {
      li.querySelector('a.msg-link').focus();
      li.scrollIntoView({ block: 'nearest' });
    }
  }
  function moveCursor(delta) {
    if (!st.messages.length) return;
    let i = st.messages.findIndex((m) => m.id === st.cursor);
    if (i < 0) i = delta > 0 ? 0 : st.messages.length - 1;
    else i = Math.min(st.messages.length - 1, Math.max(0, i + delta));
    setCursor(st.messages[i].id, true);
  }

  // ---- actions ----
  function go(page) {
    st.page = Math.max(1, page);
    syncURL(true);
    load();
  }

  function syncURL(push) {
    const p = new URLSearchParams();
    if (st.q) p.set('q', st.q);
    if (st.page > 1) p.set('page', String(st.page));
    const s = p.toString();
    const hash = s ? `#/?${s}` : '#/';
    app.state.listHash = hash;
    if (location.hash !== hash && !(hash === '#/' && location.hash === '')) {
      history[push ? 'pushState' : 'replaceState'](null, '', hash);
    }
  }

  async function deleteIDs(ids) {
    if (!ids.length) return;
    if (ids.length > 1 && !(await app.confirm(`Delete ${ids.length} messages? This cannot be undone.`, `Delete ${ids.length}`))) return;
    // Keep the cursor near where it was.
    const idx = st.messages.findIndex((m) => m.id === st.cursor);
    const focusWasInList = list.contains(document.activeElement);
    for (const id of ids) list.querySelector(`li[data-id="${CSS.escape(id)}"]`)?.classList.add('leaving');
    const failed = [];
    for (const id of ids) {
      try {
        await api.deleteMessage(id);
        st.selected.delete(id);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) failed.push(err);
      }
    }
    if (failed.length) app.toast(`Could not delete ${plural(failed.length, 'message')}: ${failed[0].message}`, 'error');
    else app.toast(ids.length === 1 ? 'Message deleted' : `${ids.length} messages deleted`);
    if (ids.includes(st.cursor)) {
      const rest = st.messages.filter((m) => !ids.includes(m.id));
      st.cursor = rest.length ? rest[Math.min(Math.max(idx, 0), rest.length - 1)].id : null;
    }
    await load();
    if (focusWasInList) cursorRow()?.querySelector('a.msg-link').focus();
    app.refreshUnread();
  }

  function deleteSelected() {
    deleteIDs([...st.selected]);
  }

  async function deleteAll() {
    const n = st.total;
    if (st.q) {
      if (!(await app.confirm(`Delete all ${plural(n, 'message')} matching “${st.q}”? This cannot be undone.`, 'Delete matching'))) return;
    } else if (!(await app.confirm(`Delete all ${plural(n, 'message')}? This cannot be undone.`, 'Delete all'))) {
      return;
    }
    try {
      const r = st.q ? await api.deleteMatching(st.q) : await api.deleteAll();
      app.toast(`${plural(r.deleted, 'message')} deleted`);
    } catch (err) {
      app.toast(`Could not delete: ${err.message}`, 'error');
    }
    st.selected.clear();
    st.page = 1;
    syncURL(false);
    load();
    app.refreshUnread();
  }

  async function markSelected(read) {
    const ids = [...st.selected];
    if (!ids.length) return;
    // Unselect now: what is selected while the request runs is a new
    // selection, not to be cleared when it returns.
    st.selected.clear();
    syncSelection();
    try {
      await api.markRead(ids, read);
    } catch (err) {
      app.toast(`Could not mark ${read ? 'read' : 'unread'}: ${err.message}`, 'error');
    }
    load();
    app.refreshUnread();
  }

  async function toggleRead(id) {
    const m = st.messages.find((x) => x.id === id);
    if (!m) return;
    try {
      await api.markRead([id], !m.read);
    } catch (err) {
      app.toast(`Could not update: ${err.message}`, 'error');
    }
    load();
    app.refreshUnread();
  }

  // ---- live ----
  const reload = throttle(() => load({ live: true }), 400);
  const tick = setInterval(() => refreshTimes(list), 30000);
  load();

  return {
    update(r) {
      const q = r.params.get('q') || '';
      const page = Math.max(1, parseInt(r.params.get('page') || '1', 10) || 1);
      if (q === st.q && page === st.page) return;
      st.q = q;
      st.page = page;
      input.value = q;
      app.state.listHash = location.hash || '#/';
      load();
    },
    unmount() {
      clearInterval(tick);
      reload.cancel();
      searchSoon.cancel();
      if (help.matches(':popover-open')) help.hidePopover();
    },
    onEvent(name, data) {
      if (name === 'message' || name === 'deleted' || name === 'read' || name === 'updated' || name === 'resync') {
        reload();
      }
      void data;
    },
    focusSearch() {
      input.focus();
      input.select();
    },
    onKey(e, typing) {
      if (e.key === 'Escape') {
        if (typing && e.target === input) {
          if (input.value) {
            input.value = '';
            searchNow();
          } else input.blur();
          return true;
        }
        if (st.selected.size) {
          st.selected.clear();
          syncSelection();
          return true;
        }
        return false;
      }
      if (typing) return false;
      switch (e.key) {
        case 'j':
        case 'ArrowDown':
          moveCursor(1);
          return true;
        case 'k':
        case 'ArrowUp':
          moveCursor(-1);
          return true;
        case 'Enter':
          if (e.target.closest && e.target.closest('a, button')) return false;
          if (st.cursor) {
            app.navigate(`#/message/${encodeURIComponent(st.cursor)}`);
            return true;
          }
          return false;
        case 'x':
        case ' ':
          if (e.key === ' ' && e.target.closest && e.target.closest('button, input')) return false;
          if (!st.cursor) return false;
          if (st.selected.has(st.cursor)) st.selected.delete(st.cursor);
          else st.selected.add(st.cursor);
          syncSelection();
          return true;
        case 'Delete':
        case '#':
          if (st.selected.size) deleteSelected();
          else if (st.cursor) deleteIDs([st.cursor]);
          else return false;
          return true;
        case 'u':
          if (st.cursor) toggleRead(st.cursor);
          return !!st.cursor;
        case ']':
          if (!nextBtn.disabled) go(st.page + 1);
          return true;
        case '[':
          if (!prevBtn.disabled) go(st.page - 1);
          return true;
        default:
          return false;
      }
    },
  };
}
