// Browser tests of the web UI: the real fakesmtp binary with a fresh
// store, real mail from swaks, Debian's headless Chromium driven by
// playwright-core.
//
//   cd test/browser && npm ci && node --test ui.test.mjs
//
// Environment: FAKESMTP_BIN (else the binary is built with `go build`),
// CHROMIUM_BIN (default /usr/bin/chromium), SCREENSHOTS (directory,
// default ./screenshots).
//
// No assertion depends on timing: every wait polls for a state with a
// deadline, and fails with what it last saw.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const SHOTS = process.env.SCREENSHOTS || path.join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const WAIT = 15000; // deadline of one wait

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

// ---- harness ----

let tmp;
let server;
let serverLog = '';
let smtpPort;
let base; // http://127.0.0.1:PORT
let browser;
let context;
let page;
const pageErrors = [];
const cspViolations = [];
const serverErrors = [];

let bin;
let httpPort;

// startServer runs fakesmtp on the chosen ports and store, and waits
// until it is ready.
async function startServer() {
  server = spawn(bin, ['serve', '--listen', `127.0.0.1:${smtpPort}`, '--http-listen', `127.0.0.1:${httpPort}`,
    '--store-path', path.join(tmp, 'store')], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => { serverLog += d; });
  server.stderr.on('data', (d) => { serverLog += d; });
  let exited = null;
  server.on('exit', (code) => { exited = code; });
  await eventually(async () => {
    if (exited !== null) throw new Error(`fakesmtp exited (${exited}):\n${serverLog}`);
    const r = await fetch(`${base}/readyz`);
    return r.status === 200;
  }, 'GET /readyz → 200', 30000);
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const gone = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await gone;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function binary() {
  if (process.env.FAKESMTP_BIN) return path.resolve(process.env.FAKESMTP_BIN);
  const out = path.join(tmp, 'fakesmtp');
  await run('go', ['build', '-o', out, './cmd/fakesmtp'], { cwd: repo });
  return out;
}

// eventually polls fn until it returns a truthy value, or fails with the
// last value or error after the deadline.
async function eventually(fn, what, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(pathAndQuery, init) {
  const resp = await fetch(`${base}${pathAndQuery}`, init);
  const text = await resp.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: resp.status, headers: resp.headers, body };
}

async function indexed(id) {
  await eventually(async () => {
    const r = await api('/api/v1/messages?limit=200');
    return r.status === 200 && r.body.messages.some((m) => m.id === id);
  }, `message ${id} in the index`);
}

// swaks sends one message and returns its ID (from "queued as ID").
async function swaks(args) {
  const { stdout } = await run('swaks', ['--server', `127.0.0.1:${smtpPort}`, ...args], { timeout: 30000 });
  const m = /queued as ([0-9A-Za-z]+)/.exec(stdout);
  assert.ok(m, `swaks: no "queued as" in:\n${stdout}`);
  await indexed(m[1]);
  return m[1];
}

async function sendPlain(subject, { from = 'sender@example.com', to = 'rcpt@example.net', body = 'Hello.' } = {}) {
  return swaks(['--from', from, '--to', to, '--header', `Subject: ${subject}`, '--body', body]);
}

// rawSMTP talks SMTP by hand, for what swaks will not send (bare LF in
// DATA, a space after "MAIL FROM:"): the findings panel needs them.
async function rawSMTP(lines, data) {
  const sock = net.createConnection(smtpPort, '127.0.0.1');
  sock.setEncoding('latin1');
  let buf = '';
  const replies = [];
  const waiters = [];
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (/^\d{3} /.test(line)) {
        replies.push(line);
        waiters.shift()?.();
      }
    }
  });
  const reply = () => new Promise((resolve, reject) => {
    const take = () => resolve(replies.shift());
    if (replies.length) take();
    else waiters.push(take);
    setTimeout(() => reject(new Error(`no SMTP reply; got so far: ${buf}`)), WAIT).unref();
  });
  await reply(); // greeting
  for (const l of lines) {
    sock.write(`${l}\r\n`);
    const r = await reply();
    assert.match(r, /^[23]/, `${l} → ${r}`);
  }
  sock.write(data);
  const queued = await reply();
  sock.write('QUIT\r\n');
  await reply();
  sock.end();
  const m = /queued as ([0-9A-Za-z]+)/.exec(queued);
  assert.ok(m, queued);
  await indexed(m[1]);
  return m[1];
}

async function screenshot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

// luminance of a CSS rgb()/rgba() colour, 0 (black) … 1 (white).
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const rows = () => page.locator('#msglist > li.msg');
const row = (text) => page.locator('#msglist > li.msg', { hasText: text });

// openInbox loads the UI afresh (a new document, so no state is carried
// over from the previous test).
async function openInbox() {
  await page.goto('about:blank');
  await page.goto(`${base}/#/`);
  await page.locator('#msglist').waitFor({ state: 'attached' });
}

async function noHorizontalOverflow(what) {
  const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(sw <= cw, `${what}: page is ${sw}px wide in a ${cw}px viewport`);
}

// ---- the messages every test can rely on ----

const ids = {};
const attachmentBytes = randomBytes(3000);
const XSS_SUBJECT = 'Weird <img src=x onerror=alert(1)> & <b>bold</b>';
const HTML_SUBJECT = 'Newsletter with a script';

function htmlMail() {
  return [
    'From: Alice Example <alice@example.org>',
    'To: Bob <bob@example.net>',
    `Subject: ${HTML_SUBJECT}`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0000',
    'Message-ID: <html-1@example.org>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Plain text version.',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><head><title>inner</title></head><body>',
    '<h1 id="marker">Hello from the HTML part</h1>',
    '<script>document.title=\'pwned\'; parent.postMessage(\'pwned\',\'*\'); try { parent.document.title = \'pwned\' } catch (e) {}</script>',
    '<img src=x onerror="document.title=\'pwned-img\'; parent.postMessage(\'pwned-img\',\'*\')">',
    '<img src="http://198.51.100.1/track.gif" alt="remote">',
    '</body></html>',
    '--b1--',
    '',
  ].join('\r\n');
}

// ---- tests ----

describe('web UI', { timeout: 300000 }, () => {
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fakesmtp-ui-'));
    await mkdir(SHOTS, { recursive: true });
    bin = await binary();
    smtpPort = await freePort();
    httpPort = await freePort();
    base = `http://127.0.0.1:${httpPort}`;
    await startServer();

    // Mail that is there before the page opens.
    ids.plain1 = await sendPlain('First plain message', { from: 'first@example.com' });
    ids.plain2 = await sendPlain('Second plain message', { from: 'second@example.com' });
    await writeFile(path.join(tmp, 'html.eml'), htmlMail());
    ids.html = await swaks(['--from', 'alice@example.org', '--to', 'bob@example.net', '--data', `@${path.join(tmp, 'html.eml')}`]);
    await writeFile(path.join(tmp, 'report.bin'), attachmentBytes);
    ids.attach = await swaks(['--from', 'carol@example.com', '--to', 'dave@example.net', '--header', 'Subject: Quarterly report attached',
      '--body', 'See the attachment.', '--attach-type', 'application/octet-stream', '--attach-name', 'report.bin',
      '--attach', `@${path.join(tmp, 'report.bin')}`]);
    ids.xss = await sendPlain(XSS_SUBJECT, { from: 'mallory@example.com' });
    ids.findings = await rawSMTP(['EHLO bad_helo!', 'MAIL FROM: <eve@sloppy.example>', 'RCPT TO:<x@example.net>', 'DATA'],
      'Subject: Sloppy client\r\nFrom: eve@sloppy.example\r\n\r\nbare\nline feed\r\n.\r\n');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light', acceptDownloads: true });
    page = await context.newPage();
    // CSP violations of the UI itself, over every page load. The message
    // frame is another document (and runs no script), so the remote
    // image it is refused does not count here.
    await context.exposeBinding('__reportCSP', ({ frame }, v) => {
      if (frame === page.mainFrame()) cspViolations.push(`${frame.url()}: ${v}`);
    });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__reportCSP(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('response', (r) => {
      if (r.status() >= 500) serverErrors.push(`${r.request().method()} ${r.url()} → ${r.status()}`);
    });
  });

  after(async () => {
    if (browser) await browser.close();
    await stopServer();
    // The server's log, for when something failed.
    await writeFile(path.join(SHOTS, 'fakesmtp.log'), serverLog).catch(() => {});
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('serves the UI with its Content-Security-Policy', async () => {
    const r = await api('/');
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy') || '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(r.body, /<script type="module" src="app\.js"><\/script>/);
    assert.doesNotMatch(r.body, /<script>|\son[a-z]+=|style=/i, 'index.html has inline script, handler or style');
  });

  it('lists the messages with unread count, attachment and findings markers', async () => {
    await openInbox();
    await eventually(async () => (await rows().count()) === 6, '6 rows');
    await eventually(async () => /^\(6\) /.test(await page.title()), 'title with (6) unread');
    assert.equal(await row('Quarterly report').locator('.attach').count(), 1, 'attachment icon');
    assert.equal(await row('First plain').locator('.attach').count(), 0);
    const badge = row('Sloppy client').locator('.badge-warn .badge-n');
    assert.ok(Number(await badge.innerText()) >= 3, 'findings badge count');
    assert.equal(await row('First plain').locator('.badge-warn').count(), 0, 'a findings badge on a clean message');
    assert.ok(await row('First plain').evaluate((li) => li.classList.contains('unread')), 'unread rows are marked');
    const fromWeight = await row('First plain').locator('.from').evaluate((el) => getComputedStyle(el).fontWeight);
    assert.ok(Number(fromWeight) >= 600, `unread is bold (font-weight ${fromWeight})`);
    // Relative time with the absolute one on hover.
    const when = row('First plain').locator('time');
    assert.match(await when.getAttribute('title'), /\d{4}/);
    assert.match(await when.getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  });

  it('shows message text as text, never as markup', async () => {
    const r = row('Weird');
    await r.waitFor();
    assert.equal(await r.locator('.subject').innerText(), XSS_SUBJECT);
    assert.equal(await r.locator('img, b').count(), 0);
    assert.deepEqual(pageErrors, []);
  });

  it('adds new mail to the open list live, without a reload', async () => {
    await openInbox();
    await rows().first().waitFor();
    await page.evaluate(() => { window.__sameDocument = true; });
    // The stream is open (so the row can only come from an event).
    await page.locator('#conn[data-state="live"]').waitFor();
    const subject = `Arrived while watching ${Date.now()}`;
    ids.live = await sendPlain(subject, { from: 'live@example.com' });
    await row(subject).waitFor({ timeout: WAIT });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
    await eventually(async () => /^\(7\) /.test(await page.title()), 'title with (7) unread');
    // Newest first.
    assert.match(await rows().first().innerText(), new RegExp(subject));

    // A change made elsewhere (another client marks it read) shows too.
    const r = await api('/api/v1/messages/read', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ids: [ids.live], read: true }),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await eventually(async () => row(subject).evaluate((li) => li.classList.contains('read')), 'the row to turn read');
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
  });

  it('renders HTML mail in a sandbox where its scripts do not run', async () => {
    await openInbox();
    await page.evaluate(() => {
      window.__posted = [];
      window.addEventListener('message', (e) => window.__posted.push(String(e.data)));
    });
    const htmlResponse = page.waitForResponse((r) => r.url().includes(`/api/v1/messages/${ids.html}/html`));
    await row(HTML_SUBJECT).locator('a.msg-link').click();
    await page.waitForURL(new RegExp(`#/message/${ids.html}`));
    const resp = await htmlResponse;
    assert.equal(resp.status(), 200);
    const csp = (await resp.allHeaders())['content-security-policy'] || '';
    assert.match(csp, /default-src 'none'/, `CSP of /html: ${csp}`);
    assert.match(csp, /(^|;\s*)sandbox(\s*;|$)/, `CSP of /html has no sandbox: ${csp}`);
    assert.doesNotMatch(csp, /script-src/, `CSP of /html allows scripts: ${csp}`);

    const iframe = page.locator('iframe.html-frame');
    assert.equal(await iframe.getAttribute('sandbox'), '', 'the iframe must have an empty sandbox attribute');
    const frame = await (await iframe.elementHandle()).contentFrame();
    await frame.waitForLoadState('load');
    assert.equal(await frame.locator('#marker').innerText(), 'Hello from the HTML part', 'the HTML was rendered');
    assert.equal(await frame.title(), 'inner', 'a script ran inside the message frame');
    assert.doesNotMatch(await page.title(), /pwned/);
    assert.match(await page.title(), new RegExp(HTML_SUBJECT));
    // A message posted during the frame's load would have been queued
    // before this round trip.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
    assert.deepEqual(await page.evaluate(() => window.__posted), [], 'the message frame posted to the UI');

    // Remote images only on request.
    const withImages = page.waitForResponse((r) => r.url().includes(`/api/v1/messages/${ids.html}/html?images=1`));
    await page.getByRole('button', { name: 'Show remote images', exact: true }).click();
    const r2 = await withImages;
    assert.match((await r2.allHeaders())['content-security-policy'] || '', /img-src \*/);
    assert.equal(await iframe.getAttribute('sandbox'), '');
    await screenshotsOfView('message');
  });

  it('marks an opened message read and shows its findings', async () => {
    await openInbox();
    await row('Sloppy client').locator('a.msg-link').click();
    const panel = page.locator('section.findings');
    await panel.waitFor();
    const text = await panel.innerText();
    assert.match(text, /bare-lf-data/);
    assert.match(text, /line feed without carriage return/);
    assert.match(text, /space-after-colon/);
    await eventually(async () => (await api(`/api/v1/messages/${ids.findings}`)).body.read === true, 'read=true in the API');
    // The envelope, headers, raw and session tabs.
    await page.getByRole('tab', { name: 'Envelope' }).click();
    await eventually(async () => /eve@sloppy\.example/.test(await page.locator('[role=tabpanel]:not([hidden])').innerText()), 'MAIL FROM in Envelope');
    await page.getByRole('tab', { name: 'Headers' }).click();
    await eventually(async () => /Sloppy client/.test(await page.locator('[role=tabpanel]:not([hidden])').innerText()), 'Subject in Headers');
    await page.getByRole('tab', { name: 'Raw' }).click();
    await eventually(async () => /Subject: Sloppy client/.test(await page.locator('pre.raw:visible').innerText()), 'raw source');
    await page.getByRole('tab', { name: 'Session' }).click();
    const client = page.locator('pre.transcript .tl-c', { hasText: 'MAIL FROM' });
    await client.waitFor();
    const server = page.locator('pre.transcript .tl-s').first();
    const [cc, sc] = await Promise.all([client.evaluate((e) => getComputedStyle(e).color), server.evaluate((e) => getComputedStyle(e).color)]);
    assert.notEqual(cc, sc, 'client and server lines look the same');
    // Back to the list with Escape: the row is no longer unread.
    await page.keyboard.press('Escape');
    await page.waitForURL(/#\/(\?.*)?$/);
    await eventually(async () => row('Sloppy client').evaluate((li) => li.classList.contains('read')), 'the row to be read');
  });

  it('downloads an attachment byte for byte', async () => {
    await page.goto(`${base}/#/message/${ids.attach}`);
    await page.getByRole('tab', { name: /Attachments \(1\)/ }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download report.bin' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'report.bin');
    const got = await readFile(await download.path());
    assert.ok(got.equals(attachmentBytes), `downloaded ${got.length} bytes, want the ${attachmentBytes.length} sent`);

    const [eml] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('.msgbar').getByRole('link', { name: 'Download .eml' }).click(),
    ]);
    assert.equal(eml.suggestedFilename(), `${ids.attach}.eml`);
    assert.match(await readFile(await eml.path(), 'latin1'), /Subject: Quarterly report attached/);
  });

  it('searches with the query language', async () => {
    await openInbox();
    await eventually(async () => (await rows().count()) === 7, '7 rows');
    const search = page.getByRole('searchbox', { name: 'Search messages' });
    await search.fill('has:attachment');
    await search.press('Enter');
    await eventually(async () => (await rows().count()) === 1, '1 row for has:attachment');
    assert.match(await rows().first().innerText(), /Quarterly report attached/);
    assert.match(page.url(), /q=has%3Aattachment/);

    await search.fill('from:second');
    await search.press('Enter');
    await eventually(async () => (await rows().count()) === 1 && /Second plain/.test(await rows().first().innerText()), 'from:second');

    // A query the server refuses is reported, not swallowed.
    await search.fill('subject:"unterminated');
    await search.press('Enter');
    await page.locator('#search-error').waitFor({ state: 'visible' });
    assert.equal(await search.getAttribute('aria-invalid'), 'true');

    // The operator help.
    await page.getByRole('button', { name: 'Search help', exact: true }).click();
    const help = page.locator('#search-help');
    await help.waitFor({ state: 'visible' });
    assert.match(await help.innerText(), /has:attachment/);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });

    await search.fill('');
    await search.press('Enter');
    await eventually(async () => (await rows().count()) === 7, 'all 7 rows again');
  });

  it('works from the keyboard', async () => {
    await openInbox();
    await rows().first().waitFor();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    const second = await rows().nth(1).getAttribute('data-id');
    assert.equal(await page.evaluate(() => document.activeElement.closest('li')?.dataset.id), second, 'j moves down');
    assert.ok(await rows().nth(1).evaluate((li) => li.classList.contains('cursor')));
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(ring, 'none', 'the focused row has a visible focus ring');
    await page.keyboard.press('k');
    const first = await rows().first().getAttribute('data-id');
    assert.equal(await page.evaluate(() => document.activeElement.closest('li')?.dataset.id), first, 'k moves up');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`#/message/${first}`));
    await page.locator('h1.subject').waitFor();
    await page.keyboard.press('Escape');
    await page.waitForURL(/#\/(\?.*)?$/);
    await rows().first().waitFor();
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'search', '/ focuses the search');
    await page.keyboard.press('Escape');
  });

  it('shows the dashboard and updates it live', async () => {
    await page.goto(`${base}/#/dashboard`);
    await eventually(async () => (await page.locator('.chart svg.barchart').count()) === 6, '6 charts');
    const connections = page.locator('.card.series-sessions .card-value');
    const before = await eventually(async () => {
      const n = Number((await connections.innerText()).replace(/\D/g, ''));
      return n >= 7 ? n : 0;
    }, 'at least 7 connections');
    assert.ok(await page.locator('.chart.series-sessions rect.bar, .series-sessions rect.bar').count() >= 1, 'a bar for the connections');
    assert.match(await page.locator('.tops').innerText(), /127\.0\.0\.1/);
    await sendPlain('Seen by the dashboard', { from: 'dash@example.com' });
    await eventually(async () => Number((await connections.innerText()).replace(/\D/g, '')) > before, 'the connections count to grow');
    await page.locator('.segmented label', { hasText: '1h' }).click();
    await page.waitForURL(/range=1h/);
    await eventually(async () => (await page.locator('.chart svg.barchart').count()) === 6, '6 charts for 1h');
    await screenshotsOfView('dashboard');
  });

  it('lists sessions and shows a transcript', async () => {
    await page.goto(`${base}/#/sessions`);
    await page.locator('table.sessions tbody tr').first().waitFor();
    await page.getByLabel('HELO', { exact: true }).fill('bad_helo!');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await eventually(async () => (await page.locator('table.sessions tbody tr').count()) === 1, 'one session with that HELO');
    await page.locator('table.sessions tbody tr a.session-link').click();
    await page.locator('pre.transcript .tl-c', { hasText: 'EHLO bad_helo!' }).waitFor();
    assert.match(await page.locator('.kvlist').innerText(), new RegExp(ids.findings));
  });

  it('selects, marks read and deletes messages', async () => {
    await openInbox();
    await eventually(async () => (await rows().count()) === 8, '8 rows');
    // One, from its row button.
    await row('First plain').getByRole('button', { name: /^Delete / }).click();
    await row('First plain').waitFor({ state: 'detached' });
    assert.equal((await api(`/api/v1/messages/${ids.plain1}`)).status, 404, 'deleted on the server');

    // Two, selected with their checkboxes.
    await row('Second plain').locator('input.row-check').check();
    await row('Weird').locator('input.row-check').check();
    await page.getByRole('button', { name: 'Mark unread', exact: true }).click();
    await eventually(async () => (await api(`/api/v1/messages/${ids.xss}`)).body.read === false, 'marked unread');
    await eventually(async () => row('Weird').evaluate((li) => li.classList.contains('unread')), 'the row to show unread');
    await row('Second plain').locator('input.row-check').check();
    await row('Weird').locator('input.row-check').check();
    await page.getByRole('button', { name: 'Mark read', exact: true }).click();
    await eventually(async () => (await api(`/api/v1/messages/${ids.xss}`)).body.read === true
      && (await api(`/api/v1/messages/${ids.plain2}`)).body.read === true, 'marked read');
    await eventually(async () => row('Weird').evaluate((li) => li.classList.contains('read')), 'the row to show read');
    await row('Second plain').locator('input.row-check').check();
    await row('Weird').locator('input.row-check').check();
    await page.getByRole('button', { name: 'Delete 2', exact: true }).click();
    await page.locator('#confirm-dialog .confirm-ok').click();
    await row('Second plain').waitFor({ state: 'detached' });
    await row('Weird').waitFor({ state: 'detached' });
    assert.equal((await api(`/api/v1/messages/${ids.plain2}`)).status, 404);

    // Select all on the page.
    await page.getByLabel('Select all on this page').check();
    const n = await rows().count();
    assert.equal(await page.locator('#msglist input.row-check:checked').count(), n);
    await page.getByLabel('Select all on this page').uncheck();
    assert.equal(await page.locator('#msglist input.row-check:checked').count(), 0);

    // From the keyboard.
    await page.keyboard.press('j');
    const target = await page.evaluate(() => document.activeElement.closest('li').dataset.id);
    await page.keyboard.press('Delete');
    await page.locator(`#msglist li[data-id="${target}"]`).waitFor({ state: 'detached' });
    assert.equal((await api(`/api/v1/messages/${target}`)).status, 404);
  });

  it('follows the system dark mode', async () => {
    await openInbox();
    await rows().first().waitFor();
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.ok(luminance(light) > 0.8, `light background ${light}`);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const text = await page.evaluate(() => getComputedStyle(document.body).color);
    assert.ok(luminance(dark) < 0.05, `dark background ${dark}`);
    assert.ok((luminance(text) + 0.05) / (luminance(dark) + 0.05) >= 7, `dark text ${text} on ${dark}`);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('fits a phone screen, the list as cards', async () => {
    await page.setViewportSize(PHONE);
    await openInbox();
    await rows().first().waitFor();
    await noHorizontalOverflow('inbox');
    const first = rows().first();
    // A live update may redraw the row between two reads (boundingBox is
    // then null): read both boxes of one drawing, and try again if not.
    let subj, meta;
    for (let i = 0; i < 20 && !(subj && meta); i++) {
      await first.locator('.meta').waitFor();
      [subj, meta] = await Promise.all([first.locator('.subject').boundingBox(), first.locator('.meta').boundingBox()]);
    }
    assert.ok(subj && meta, 'the first row has a subject and details');
    assert.ok(meta.y >= subj.y + subj.height - 1, 'on a phone the details go under the subject');
    await first.locator('a.msg-link').click();
    await page.locator('h1.subject').waitFor();
    await noHorizontalOverflow('message');
    await page.goto(`${base}/#/dashboard`);
    await page.locator('.chart svg.barchart').first().waitFor();
    await noHorizontalOverflow('dashboard');
    await page.goto(`${base}/#/sessions`);
    await page.locator('table.sessions tbody tr').first().waitFor();
    await noHorizontalOverflow('sessions');
    await page.setViewportSize(DESKTOP);
  });

  it('takes screenshots of the inbox', async () => {
    await openInbox();
    await rows().first().waitFor();
    await screenshotsOfView('inbox');
  });

  it('says when the server is away, and catches up when it is back', async () => {
    await openInbox();
    await page.locator('#conn[data-state="live"]').waitFor();
    await page.evaluate(() => { window.__sameDocument = true; });
    await stopServer();
    await page.locator('#conn[data-state="reconnecting"], #conn[data-state="offline"]').waitFor();
    assert.match(await page.locator('#conn').innerText(), /Reconnecting|Offline/);
    // An action fails visibly.
    await rows().first().locator('input.row-check').check();
    await page.getByRole('button', { name: 'Mark read', exact: true }).click();
    await page.locator('.toast-error').waitFor();

    await startServer();
    const subject = `Sent during the outage ${Date.now()}`;
    await sendPlain(subject, { from: 'outage@example.com' });
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: WAIT });
    await row(subject).waitFor({ timeout: WAIT });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
  });

  it('deletes everything after confirmation', async () => {
    await openInbox();
    await rows().first().waitFor();
    await page.getByRole('button', { name: 'Delete all…', exact: true }).click();
    await page.locator('#confirm-dialog .confirm-cancel').click();
    assert.ok((await api('/api/v1/messages')).body.total > 0, 'cancel deleted messages');
    await page.getByRole('button', { name: 'Delete all…', exact: true }).click();
    await page.locator('#confirm-dialog .confirm-ok').click();
    await eventually(async () => (await rows().count()) === 0, 'an empty list');
    await page.locator('.empty').waitFor({ state: 'visible' });
    // The empty inbox says where to send, from /api/v1/info.
    await eventually(async () => (await page.locator('.empty').textContent()).includes(`127.0.0.1:${smtpPort}`),
      'the SMTP address in the empty inbox');
    assert.equal((await api('/api/v1/messages')).body.total, 0);
    await eventually(async () => !/^\(\d+\)/.test(await page.title()), 'no unread count in the title');
  });

  it('had no script errors, CSP violations or server errors', async () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(serverErrors, []);
    assert.deepEqual(cspViolations, []);
  });

  // screenshotsOfView saves the current view in light and dark, desktop
  // and phone (the route is reloaded for each size).
  async function screenshotsOfView(name) {
    const url = page.url();
    for (const [size, vp] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      await page.setViewportSize(vp);
      for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.goto(url);
        await page.locator('main > *').first().waitFor();
        if (name === 'message') await page.locator('iframe.html-frame').waitFor();
        if (name === 'dashboard') await page.locator('.chart svg.barchart').first().waitFor();
        if (name === 'inbox') await rows().first().waitFor();
        assert.deepEqual(cspViolations, [], `CSP violations on ${name}`);
        await screenshot(`${name}-${scheme}-${size}`);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize(DESKTOP);
    await page.goto(url);
  }
});
