#!/usr/bin/python3
"""A smarthost for fakesmtp's relay tests, built on Debian's python3-aiosmtpd.

    aiosmtpd_upstream.py PORT OUTDIR

It listens on 127.0.0.1:PORT and:
  * refuses, with 550 5.1.1, every recipient whose local part starts with
    "bad" (a permanent failure);
  * answers the first DATA of each distinct message (by Message-ID, or the
    whole content) with 451 4.3.0 and accepts the next (a temporary failure
    followed by success);
  * writes each accepted message to OUTDIR/N.json: envelope and the content
    in base64, exactly as received after dot-unstuffing.
It prints "ready" once listening, and runs until killed.
"""
import base64
import hashlib
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.seen = set()
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("bad"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        key = hashlib.sha256(content).hexdigest()
        if key not in self.seen:
            self.seen.add(key)
            return "451 4.3.0 please try again later"
        self.count += 1
        rec = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content": base64.b64encode(content).decode(),
        }
        tmp = os.path.join(self.outdir, ".%d.tmp" % self.count)
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(self.outdir, "%d.json" % self.count))
        return "250 2.0.0 OK queued upstream"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    ctl = Controller(Handler(outdir), hostname="127.0.0.1", port=port, decode_data=False)
    ctl.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
