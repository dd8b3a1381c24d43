// One message: headers, findings, and tabs for the HTML body (in a
// sandboxed frame), text, headers, raw source, attachments, envelope
// and the SMTP session.

import { api, urls, ApiError } from './api.js';
import {
  h, clear, icon, button, fmtSize, timeEl, absTime, parseDate, hostPort, plural, transcript,
  tabs as tabWidget,
} from './dom.js';

// RAW_SHOWN caps how much raw source is put in the page; the rest is a
// download away (a 50 MB message would freeze the tab).
const RAW_SHOWN = 2 * 1024 * 1024;

export function mountMessage(root, route, app) {
  const id = route.id;
  let msg = null;
  let gone = false;
  let tabset = null;
  app.state.lastOpened = id;
  app.setTitle('Message');

  const page = h('article', { class: 'page message', 'aria-busy': 'true' });
  root.append(page);

  const backLink = h('a', { class: 'btn btn-ghost', href: app.state.listHash }, icon('back'), h('span', { class: 'btn-label' }, 'Inbox'));
  const pos = app.state.listIds.indexOf(id);
  const prevID = pos > 0 ? app.state.listIds[pos - 1] : null;
  const nextID = pos >= 0 && pos < app.state.listIds.length - 1 ? app.state.listIds[pos + 1] : null;
  const navBtn = (target, ic, label) => (target
    ? h('a', { class: 'btn btn-ghost btn-icon', href: `#/message/${encodeURIComponent(target)}`, 'aria-label': label, title: label }, icon(ic))
    : h('span', { class: 'btn btn-ghost btn-icon', 'aria-disabled': 'true', title: label }, icon(ic)));

  const readBtn = button('Mark unread', { icon: 'mail', onclick: toggleRead });
  const dlBtn = h('a', { class: 'btn', href: urls.raw(id, true), download: `${id}.eml`, title: 'Download the message as received (.eml)' }, icon('download'), h('span', { class: 'btn-label' }, 'Download .eml'));
  const delBtn = button('Delete', { icon: 'trash', onclick: del, cls: 'btn-danger-soft', title: 'Delete (Delete)' });
  const bar = h('div', { class: 'msgbar' },
    h('div', { class: 'msgbar-nav' }, backLink,
      navBtn(prevID, 'prev', 'Newer message (k)'), navBtn(nextID, 'next', 'Older message (j)')),
    h('div', { class: 'msgbar-actions' }, readBtn, dlBtn, delBtn));
  const banner = h('p', { class: 'banner banner-gone', role: 'status', hidden: true }, 'This message has been deleted.');
  const body = h('div', { class: 'msgbody' }, h('p', { class: 'loading' }, 'Loading…'));
  page.append(bar, banner, body);

  load();

  async function load() {
    try {
      msg = await api.getMessage(id);
    } catch (err) {
      page.removeAttribute('aria-busy');
      clear(body);
      if (err instanceof ApiError && err.status === 404) {
        body.append(h('h1', null, 'Message not found'),
          h('p', null, 'It may have been deleted. ', h('a', { href: app.state.listHash }, 'Back to the inbox'), '.'));
        readBtn.disabled = true;
        delBtn.disabled = true;
      } else {
        body.append(h('p', { class: 'load-error', role: 'alert' }, `Could not load the message: ${err.message}`),
          button('Retry', { onclick: load }));
      }
      return;
    }
    page.removeAttribute('aria-busy');
    app.setTitle(msg.subject || '(no subject)');
    render();
    if (!msg.read) {
      try {
        await api.setRead(id, true);
        msg.read = true;
        app.refreshUnread();
      } catch (err) {
        app.toast(`Could not mark as read: ${err.message}`, 'error');
      }
    }
    syncReadBtn();
  }

  function syncReadBtn() {
    clear(readBtn).append(icon(msg && msg.read ? 'mail' : 'open'),
      h('span', { class: 'btn-label' }, msg && msg.read ? 'Mark unread' : 'Mark read'));
  }

  async function toggleRead() {
    if (!msg) return;
    try {
      await api.setRead(id, !msg.read);
      msg.read = !msg.read;
      syncReadBtn();
      app.refreshUnread();
      app.toast(msg.read ? 'Marked read' : 'Marked unread');
    } catch (err) {
      app.toast(`Could not update: ${err.message}`, 'error');
    }
  }

  async function del() {
    try {
      await api.deleteMessage(id);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) {
        app.toast(`Could not delete: ${err.message}`, 'error');
        return;
      }
    }
    app.toast('Message deleted');
    // Go on to the next message like a mail client; else to the list.
    const ids = app.state.listIds;
    const i = ids.indexOf(id);
    app.state.listIds = ids.filter((x) => x !== id);
    const next = i >= 0 ? (ids[i + 1] || ids[i - 1]) : null;
    app.state.lastOpened = next;
    app.refreshUnread();
    app.navigate(app.state.listHash);
  }

  function render() {
    clear(body);
    const m = msg;
    const from = m.from && m.from.length ? m.from : (m.mail_from ? [m.mail_from] : []);
    const to = m.to && m.to.length ? m.to : [];
    body.append(h('h1', { class: 'subject' }, m.subject || '(no subject)'));

    const details = m.finding_details && m.finding_details.length
      ? m.finding_details
      : (m.findings || []).map((name) => ({ name, detail: '' }));
    if (details.length) {
      body.append(h('section', { class: 'notice notice-warn findings', 'aria-labelledby': 'findings-h' },
        h('h2', { id: 'findings-h' }, icon('warn'), ` ${plural(details.length, 'finding')} about how this message was sent`),
        h('ul', null, details.map((f) => h('li', null, h('code', { class: 'finding-name' }, f.name), f.detail ? ` ${f.detail}` : '')))));
    }
    if (m.problems && m.problems.length) {
      body.append(h('section', { class: 'notice notice-info', 'aria-labelledby': 'problems-h' },
        h('h2', { id: 'problems-h' }, 'MIME problems (the message is shown as well as it could be parsed)'),
        h('ul', null, m.problems.map((p) => h('li', null, p)))));
    }

    const date = parseDate(m.date);
    const rows = [
      ['From', from.join(', ') || '—'],
      ['To', to.length ? to.join(', ')
        : h('span', { class: 'muted' }, `(no To field; RCPT TO: ${(m.rcpt_to || []).join(', ') || 'none'})`)],
      m.cc && m.cc.length ? ['Cc', m.cc.join(', ')] : null,
      ['Date', date ? absTime(date) : '(none)'],
      ['Received', h('span', null, timeEl(m.received_at), ' from ', h('code', null, hostPort(m.client_ip, m.client_port)))],
      ['Size', fmtSize(m.size)],
      (m.tags && m.tags.length) ? ['Tags', m.tags.map((t) => h('span', { class: 'chip' }, t))] : null,
      (m.verdicts && m.verdicts.length) ? ['Verdicts', m.verdicts.map((t) => h('span', { class: 'chip' }, t))] : null,
    ].filter(Boolean);
    body.append(h('dl', { class: 'headers-block' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));

    const attachments = (m.parts || []).filter((p) => p.attachment);
    const items = [];
    if (m.html) items.push({ id: 'html', label: 'HTML', render: renderHTML });
    items.push({ id: 'text', label: 'Text', render: renderText });
    items.push({ id: 'headers', label: 'Headers', render: renderHeaders });
    items.push({ id: 'raw', label: 'Raw', render: renderRaw });
    items.push({ id: 'attachments', label: `Attachments (${attachments.length})`, render: renderParts });
    items.push({ id: 'envelope', label: 'Envelope', render: renderEnvelope });
    if (m.session) items.push({ id: 'session', label: 'Session', render: renderSession });
    const initial = route.tab && items.some((i) => i.id === route.tab) ? route.tab : items[0].id;
    tabset = tabWidget(items, initial, (tab) => {
      history.replaceState(null, '', `#/message/${encodeURIComponent(id)}/${tab}`);
    });
    body.append(tabset.el);
  }

  // ---- tabs ----

  function renderHTML(panel) {
    let images = false;
    const frame = h('iframe', {
      sandbox: '', // no scripts, no same origin, no forms, no popups
      class: 'html-frame', title: 'HTML body of the message', referrerpolicy: 'no-referrer', src: urls.html(id, false),
    });
    const imgBtn = button('Show remote images', { icon: 'image', cls: 'btn-small' });
    imgBtn.setAttribute('aria-pressed', 'false');
    imgBtn.addEventListener('click', () => {
      images = !images;
      imgBtn.setAttribute('aria-pressed', String(images));
      imgBtn.querySelector('.btn-label').textContent = images ? 'Block remote images' : 'Show remote images';
      frame.src = urls.html(id, images);
    });
    panel.append(h('div', { class: 'panel-bar' },
      h('span', { class: 'hint' }, 'Shown without scripts; remote content is blocked unless you allow images.'), imgBtn), frame);
  }

  function renderText(panel) {
    if (!msg.text) {
      panel.append(h('p', { class: 'muted' }, msg.html ? 'This message has no plain-text part.' : 'The message body is empty.'));
      return;
    }
    panel.append(h('pre', { class: 'body-text' }, msg.text));
  }

  function renderHeaders(panel) {
    const hs = msg.headers || [];
    const table = h('table', { class: 'kv' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))),
      h('tbody', null, hs.map((x) => h('tr', null, h('th', { scope: 'row' }, x.name), h('td', null, x.value)))));
    const raw = h('pre', { class: 'raw', hidden: true }, hs.map((x) => (x.raw != null ? `${x.name}:${x.raw}\n` : `${x.name}: ${x.value}\n`)).join(''));
    const toggle = button('Show raw', { cls: 'btn-small' });
    toggle.setAttribute('aria-pressed', 'false');
    toggle.addEventListener('click', () => {
      const on = raw.hidden;
      raw.hidden = !on;
      tableWrap.hidden = on;
      toggle.setAttribute('aria-pressed', String(on));
      toggle.querySelector('.btn-label').textContent = on ? 'Show decoded' : 'Show raw';
    });
    const tableWrap = h('div', { class: 'scroll-x' }, table);
    panel.append(h('div', { class: 'panel-bar' }, h('span', { class: 'hint' }, plural(hs.length, 'header field')), toggle), tableWrap, raw);
  }

  function renderRaw(panel) {
    const pre = h('pre', { class: 'raw' }, 'Loading…');
    const withEnv = h('input', { type: 'checkbox', id: 'raw-env' });
    const note = h('p', { class: 'hint', hidden: true });
    async function fill() {
      pre.textContent = 'Loading…';
      try {
        const text = await api.raw(id, withEnv.checked);
        note.hidden = text.length <= RAW_SHOWN;
        note.textContent = `Showing the first ${fmtSize(RAW_SHOWN)} of ${fmtSize(text.length)}; download the .eml for all of it.`;
        pre.textContent = text.length > RAW_SHOWN ? text.slice(0, RAW_SHOWN) : text;
      } catch (err) {
        pre.textContent = `Could not load the source: ${err.message}`;
      }
    }
    withEnv.addEventListener('change', fill);
    panel.append(h('div', { class: 'panel-bar' },
      h('label', { class: 'inline-check' }, withEnv, ' Include fakesmtp’s envelope headers'),
      h('a', { class: 'btn btn-small', href: urls.raw(id, true), download: `${id}.eml` }, icon('download'), h('span', { class: 'btn-label' }, 'Download .eml'))),
    note, pre);
    fill();
  }

  function partTable(parts) {
    return h('div', { class: 'scroll-x' }, h('table', { class: 'parts' },
      h('thead', null, h('tr', null, ['Name', 'Type', 'Size', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, parts.map((p) => {
        const name = p.filename || (p.content_id ? `<${p.content_id}>` : `part ${p.id}`);
        return h('tr', null,
          h('td', { class: 'part-name' }, h('a', { href: urls.part(id, p.id, false), target: '_blank', rel: 'noopener noreferrer' }, name)),
          h('td', null, h('code', null, p.content_type || 'application/octet-stream')),
          h('td', { class: 'num' }, fmtSize(p.size)),
          h('td', null, h('a', {
            class: 'btn btn-small', href: urls.part(id, p.id, true), download: p.filename || '',
            'aria-label': `Download ${name}`,
          }, icon('download'), h('span', { class: 'btn-label' }, 'Download'))));
      }))));
  }

  function renderParts(panel) {
    const parts = msg.parts || [];
    const att = parts.filter((p) => p.attachment);
    const other = parts.filter((p) => !p.attachment);
    if (att.length) panel.append(partTable(att));
    else panel.append(h('p', { class: 'muted' }, 'No attachments.'));
    if (other.length) {
      panel.append(h('h2', { class: 'h3' }, 'Other parts'), partTable(other));
    }
  }

  function renderEnvelope(panel) {
    const e = msg.envelope || {};
    const rows = [
      ['MAIL FROM', h('code', null, e.mail_from ? `<${e.mail_from}>` : '<> (null sender)')],
      ['RCPT TO', h('ul', { class: 'plain' }, (e.rcpt_to || []).map((r) => h('li', null, h('code', null, `<${r}>`))))],
      ['Client', h('code', null, hostPort(e.client_ip, e.client_port) || '—')],
      ['HELO/EHLO', h('code', null, e.helo || '—')],
      ['Received at', (() => { const d = parseDate(e.received_at); return d ? `${absTime(d)} (${d.toISOString()})` : '—'; })()],
      ['Session', e.session ? h('a', { href: `#/sessions/${encodeURIComponent(e.session)}` }, h('code', null, e.session)) : '—'],
      ['Annotations', (e.annotations || []).length
        ? h('ul', { class: 'plain annotations' }, e.annotations.map((a) => h('li', null, h('code', null, a))))
        : '—'],
    ];
    panel.append(h('dl', { class: 'kvlist' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
  }

  function renderSession(panel) {
    panel.append(h('p', { class: 'loading' }, 'Loading…'));
    api.getSession(msg.session).then((sess) => {
      clear(panel);
      panel.append(h('p', { class: 'panel-bar' },
        h('span', null, 'Session ', h('a', { href: `#/sessions/${encodeURIComponent(sess.id)}` }, h('code', null, sess.id)),
          ` from ${hostPort(sess.client_ip, sess.client_port)}`, sess.tls ? ', TLS' : '', sess.auth_user ? `, AUTH as ${sess.auth_user}` : '')),
      sess.transcript
        ? transcript(sess.transcript)
        : h('p', { class: 'muted' }, 'No transcript was recorded for this session.'));
    }).catch((err) => {
      clear(panel);
      panel.append(h('p', { class: 'muted' }, err instanceof ApiError && err.status === 404
        ? 'The session record is no longer kept.'
        : `Could not load the session: ${err.message}`));
    });
  }

  // ---- view interface ----
  return {
    onEvent(name, data) {
      if (name === 'deleted' && data && (data.all || (data.ids || []).includes(id)) && !gone) {
        gone = true;
        banner.hidden = false;
        readBtn.disabled = true;
        delBtn.disabled = true;
      }
    },
    onKey(e) {
      if (e.key === 'Escape' || e.key === 'u') {
        app.navigate(app.state.listHash);
        return true;
      }
      if (e.key === 'j' && nextID) {
        app.navigate(`#/message/${encodeURIComponent(nextID)}`);
        return true;
      }
      if (e.key === 'k' && prevID) {
        app.navigate(`#/message/${encodeURIComponent(prevID)}`);
        return true;
      }
      if ((e.key === 'Delete' || e.key === '#') && !gone) {
        del();
        return true;
      }
      if (e.key >= '1' && e.key <= '9' && tabset) {
        const t = tabset.ids[Number(e.key) - 1];
        if (t) {
          tabset.select(t, true);
          return true;
        }
      }
      return false;
    },
  };
}
