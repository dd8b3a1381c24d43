// The REST API (docs/api.md) and the live event stream.
//
// URLs are relative so the UI also works behind a reverse proxy that
// mounts fakesmtp under a path prefix.

const BASE = 'api/v1';

// ApiError is a failed request: status 0 when the server could not be
// reached, otherwise the HTTP status and the API's {"error"} text.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

async function request(method, path, { body, as } = {}) {
  let resp;
  try {
    resp = await fetch(`${BASE}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'cannot reach fakesmtp (is it running?)');
  }
  if (!resp.ok) {
    let msg = `${resp.status} ${resp.statusText}`.trim();
    try {
      const j = await resp.json();
      if (j && j.error) msg = j.error;
    } catch { /* not JSON */ }
    throw new ApiError(resp.status, msg);
  }
  if (resp.status === 204) return null;
  if (as === 'text') return resp.text();
  return resp.json();
}

const enc = encodeURIComponent;

export const api = {
  info: () => request('GET', '/info'),
  listMessages: ({ q, limit = 50, offset = 0, sort } = {}) =>
    request('GET', `/messages${qs({ q, limit, offset, sort })}`),
  deleteMatching: (q) => request('DELETE', `/messages${qs({ q })}`),
  deleteAll: () => request('DELETE', '/messages?all=true'),
  markRead: (ids, read) => request('POST', '/messages/read', { body: { ids, read } }),
  getMessage: (id) => request('GET', `/messages/${enc(id)}`),
  deleteMessage: (id) => request('DELETE', `/messages/${enc(id)}`),
  setRead: (id, read) => request('PUT', `/messages/${enc(id)}/read`, { body: { read } }),
  raw: (id, withHeaders) => request('GET', `/messages/${enc(id)}/raw${withHeaders ? '?headers=1' : ''}`, { as: 'text' }),
  listSessions: ({ ip, helo, reason, limit = 50, offset = 0 } = {}) =>
    request('GET', `/sessions${qs({ ip, helo, reason, limit, offset })}`),
  getSession: (id) => request('GET', `/sessions/${enc(id)}`),
  stats: ({ from, to, step } = {}) => request('GET', `/stats${qs({ from, to, step })}`),
};

// urls are for links and frames (the browser fetches them itself).
export const urls = {
  html: (id, images) => `${BASE}/messages/${enc(id)}/html${images ? '?images=1' : ''}`,
  raw: (id, download) => `${BASE}/messages/${enc(id)}/raw${download ? '?download=1' : ''}`,
  part: (id, part, download) => `${BASE}/messages/${enc(id)}/parts/${enc(part)}${download ? '?download=1' : ''}`,
};

// EVENTS are the stream's event names. "updated" is what the server
// sends for read/tag changes today; docs/api.md names it "read".
const EVENTS = ['message', 'deleted', 'read', 'updated', 'session', 'stats'];

// connectEvents opens /api/v1/events and keeps it open. onEvent(name,
// data) gets each event, and ("resync", null) each time the stream
// opens: views reload then, since whatever happened between their
// first load (or the last drop) and now was not streamed to them.
// onStatus(state) gets "connecting", "live", "reconnecting" or
// "offline".
export function connectEvents({ onEvent, onStatus }) {
  let es = null;
  let hadGap = false;
  let retry = 1000;
  let timer = null;

  function open() {
    onStatus(hadGap ? 'reconnecting' : 'connecting');
    es = new EventSource(`${BASE}/events`);
    es.addEventListener('open', () => {
      onStatus('live');
      retry = 1000;
      hadGap = false;
      onEvent('resync', null);
    });
    es.addEventListener('error', () => {
      hadGap = true;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (a non-200 answer): retry ourselves.
        onStatus('offline');
        es.close();
        clearTimeout(timer);
        timer = setTimeout(open, retry);
        retry = Math.min(retry * 2, 30000);
      } else {
        onStatus('reconnecting');
      }
    });
    for (const name of EVENTS) {
      es.addEventListener(name, (e) => {
        let data = null;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        onEvent(name, data);
      });
    }
  }
  open();
  return () => {
    clearTimeout(timer);
    if (es) es.close();
  };
}
