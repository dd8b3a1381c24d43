// Sends one message with nodemailer over STARTTLS with AUTH, the way a
// Node.js application would, and writes the exact bytes it sent to a file
// so the test can compare them with what fakesmtp stored.
//
// usage: node send.js HOST PORT USER PASS OUTFILE
'use strict';
const fs = require('fs');
const nodemailer = require('nodemailer');
const MailComposer = require('nodemailer/lib/mail-composer');

async function main() {
  const [host, port, user, pass, out] = process.argv.slice(2);
  const mail = new MailComposer({
    from: 'Ünïcödé Sender <sender@example.org>',
    to: 'rcpt@example.net',
    subject: 'nodemailer → fakesmtp ✓',
    text: 'Grüße from nodemailer.\n.a line starting with a dot\n',
    attachments: [{ filename: 'data.bin', content: Buffer.from([0, 1, 2, 255, 13, 10, 46]) }],
  });
  // SMTP carries CRLF lines (RFC 5321 2.3.8); nodemailer converts bare LF
  // on the way out, so convert first and send exactly these bytes.
  const built = await mail.compile().build();
  const raw = Buffer.from(built.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
  const transport = nodemailer.createTransport({
    host, port: Number(port), secure: false, requireTLS: true,
    auth: { user, pass },
    tls: { rejectUnauthorized: false }, // dev mode's self-signed certificate
  });
  const info = await transport.sendMail({
    envelope: { from: 'sender@example.org', to: ['rcpt@example.net'] },
    raw,
  });
  fs.writeFileSync(out, raw);
  console.log(info.response);
}

main().catch((err) => { console.error(err); process.exit(1); });
