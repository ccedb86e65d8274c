#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A loopback RFC 3161 time-stamping authority for tests, around `openssl ts -reply`.

usage: test_tsa.py TSA_CNF [MODE] [PORT]
  TSA_CNF  the configuration made by samples/keys/make-test-tsa.sh
  MODE     normal (default): POST a TimeStampReq, get the reply of `openssl ts -reply`
           slow:    answer only after 30 s (longer than any client timeout in the tests)
           garbage: random bytes, with Content-Type application/timestamp-reply
           http500: HTTP status 500
           reject:  a TimeStampResp with status rejection (2) and a status text
  PORT     0 (default): pick a free port
Listens on 127.0.0.1 only and prints "port N" once it accepts connections.
"""
import http.server
import os
import subprocess
import sys
import tempfile
import time

CONFIG = sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__)
MODE = sys.argv[2] if len(sys.argv) > 2 else "normal"
PORT = int(sys.argv[3]) if len(sys.argv) > 3 else 0
MODES = ("normal", "slow", "garbage", "http500", "reject")
if MODE not in MODES:
    sys.exit(f"unknown mode {MODE!r}; one of {', '.join(MODES)}")

REJECTION_TEXT = b"request rejected by the test TSA"


def der(tag, content):
    """One DER TLV (definite length)."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        size = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(size)]) + size
    return bytes([tag]) + length + content


def rejection():
    # TimeStampResp ::= SEQUENCE { status PKIStatusInfo }
    # PKIStatusInfo ::= SEQUENCE { status INTEGER (2 = rejection), statusString SEQUENCE OF
    #                              UTF8String, failInfo BIT STRING (badAlg = bit 0) }
    status = der(0x02, b"\x02")
    text = der(0x30, der(0x0C, REJECTION_TEXT))
    fail_info = der(0x03, b"\x07\x80")
    return der(0x30, der(0x30, status + text + fail_info))


def openssl_reply(query):
    with tempfile.TemporaryDirectory() as scratch:
        q = os.path.join(scratch, "q.tsq")
        r = os.path.join(scratch, "r.tsr")
        with open(q, "wb") as out:
            out.write(query)
        subprocess.run(["openssl", "ts", "-reply", "-config", CONFIG, "-queryfile", q,
                        "-out", r], check=True, capture_output=True)
        with open(r, "rb") as reply:
            return reply.read()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        query = self.rfile.read(length)
        if MODE == "http500":
            self.send_error(500, "test TSA failure")
            return
        if MODE == "slow":
            time.sleep(30)
        if MODE == "garbage":
            body = os.urandom(200)
        elif MODE == "reject":
            body = rejection()
        else:
            try:
                body = openssl_reply(query)
            except subprocess.CalledProcessError as error:
                sys.stderr.write(error.stderr.decode(errors="replace"))
                self.send_error(500, "openssl ts -reply failed")
                return
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # quiet


server = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
print(f"port {server.server_address[1]}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
