#!/usr/bin/env python3
"""An independent OpenID Shared Signals receiver, for the tests of `revoke signals`.

No code of revoke's is used in its checks: it reads the transmitter's metadata
(/.well-known/ssf-configuration), fetches the JWKS that names, and verifies every SET with PyJWT
(signature, `typ: secevent+jwt`, `iss`, `aud`, `iat` not in the future and recent, `jti` unique,
one event of a known type URI, the subject identifier's format per RFC 9493). Each accepted
SET's header and claims are appended as one JSON line to --out; refusals to --out + ".refused".

Delivery:
  push (default)  serves POST / on 127.0.0.1 (--port, else one the OS chooses; printed as
                  PORT=<n>), answers 202 or 400 {"err", "description"} (RFC 8935).
  --poll URL      polls URL (RFC 8936) with --token, acknowledging what it accepted.

Modes: --invalid-key N answers the first N pushes 400 invalid_key before looking at them.
It stops by itself when its stdin closes (the test that started it ended) or after --lifetime s.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt  # PyJWT

EVENT_TYPES = {
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
    "https://schemas.openid.net/secevent/caep/event-type/credential-change",
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
    "https://schemas.openid.net/secevent/ssf/event-type/verification",
}
SUBJECT_MEMBERS = {"email": {"email"}, "iss_sub": {"iss", "sub"}, "opaque": {"id"}}


class Receiver:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.seen = set()
        self.invalid_key_left = args.invalid_key
        self.jwks = None
        self.metadata = None

    def get_json(self, url):
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def keys(self, refresh=False):
        if self.metadata is None:
            self.metadata = self.get_json(self.args.metadata)
            if self.metadata.get("issuer") != self.args.issuer:
                raise ValueError("metadata issuer %r is not %r" % (self.metadata.get("issuer"), self.args.issuer))
        if self.jwks is None or refresh:
            self.jwks = jwt.PyJWKSet.from_dict(self.get_json(self.metadata["jwks_uri"]))
        return self.jwks

    def key_for(self, kid):
        for refresh in (False, True):
            for k in self.keys(refresh).keys:
                if k.key_id == kid:
                    return k
        return None

    def record(self, suffix, obj):
        with self.lock, open(self.args.out + suffix, "a") as f:
            f.write(json.dumps(obj) + "\n")

    def check(self, token):
        """Returns (None, None, claims) when accepted, else (err, description, None)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            return "invalid_request", "not a JWS: %s" % e, None
        if header.get("typ") != "secevent+jwt":
            return "invalid_request", "typ is %r" % header.get("typ"), None
        if header.get("alg") not in ("ES256", "EdDSA"):
            return "invalid_key", "alg %r" % header.get("alg"), None
        key = self.key_for(header.get("kid"))
        if key is None:
            return "invalid_key", "kid %r is not in the JWKS" % header.get("kid"), None
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[header["alg"]], audience=self.args.aud,
                issuer=self.args.issuer, options={"require": ["iss", "aud", "iat", "jti", "events"]},
            )
        except jwt.InvalidSignatureError as e:
            return "invalid_key", "signature: %s" % e, None
        except jwt.InvalidAudienceError as e:
            return "invalid_audience", str(e), None
        except jwt.InvalidIssuerError as e:
            return "invalid_issuer", str(e), None
        except jwt.PyJWTError as e:
            return "invalid_request", str(e), None
        now = time.time()
        if not isinstance(claims["iat"], int) or claims["iat"] > now + 5 or claims["iat"] < now - 600:
            return "invalid_request", "iat %r is in the future or stale" % claims["iat"], None
        events = claims["events"]
        if not isinstance(events, dict) or len(events) != 1 or not set(events) <= EVENT_TYPES:
            return "invalid_request", "events %r" % list(events), None
        sub = claims.get("sub_id") or {}
        verification = "https://schemas.openid.net/secevent/ssf/event-type/verification" in events
        want = "opaque" if verification else self.args.subject_format
        if sub.get("format") != want or not SUBJECT_MEMBERS[want] <= set(sub):
            return "invalid_request", "sub_id %r is not of format %s" % (sub, want), None
        if want == "email" and "@" not in sub["email"]:
            return "invalid_request", "email subject without @", None
        with self.lock:
            if claims["jti"] in self.seen:
                dup = True
            else:
                dup = False
                self.seen.add(claims["jti"])
        if dup:
            self.record(".duplicates", {"jti": claims["jti"]})
            return "invalid_request", "duplicate jti %s" % claims["jti"], None
        return None, None, {"header": header, "claims": claims}

    def take(self, token):
        err, description, accepted = self.check(token)
        if err is None:
            self.record("", accepted)
        else:
            self.record(".refused", {"err": err, "description": description})
        return err, description


def push_server(rx):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, body=None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            token = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if rx.args.token and self.headers.get("Authorization") != "Bearer " + rx.args.token:
                return self.answer(401, {"err": "authentication_failed", "description": "bearer token"})
            if self.headers.get("Content-Type") != "application/secevent+jwt":
                return self.answer(400, {"err": "invalid_request", "description": "content type"})
            with rx.lock:
                if rx.invalid_key_left > 0:
                    rx.invalid_key_left -= 1
                    refuse = True
                else:
                    refuse = False
            if refuse:
                rx.record(".refused", {"err": "invalid_key", "description": "test mode"})
                return self.answer(400, {"err": "invalid_key", "description": "key not trusted yet (test mode)"})
            err, description = rx.take(token)
            if err is None:
                return self.answer(202)
            return self.answer(400, {"err": err, "description": description})

    server = ThreadingHTTPServer(("127.0.0.1", rx.args.port), Handler)
    print("PORT=%d" % server.server_address[1], flush=True)
    server.serve_forever()


def poller(rx):
    print("PORT=0", flush=True)
    acks, errs = [], {}
    while True:
        body = json.dumps({"ack": acks, "setErrs": errs, "maxEvents": 10, "returnImmediately": False}).encode()
        req = urllib.request.Request(rx.args.poll, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": "Bearer " + rx.args.token})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                answer = json.loads(r.read())
        except Exception as e:  # the transmitter not up yet, or restarting
            print("poll failed: %s" % e, file=sys.stderr, flush=True)
            time.sleep(0.5)
            continue
        acks, errs = [], {}
        for jti, token in answer.get("sets", {}).items():
            err, description = rx.take(token)
            if err is None:
                acks.append(jti)
            else:
                errs[jti] = {"err": err, "description": description}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--metadata", required=True, help="the transmitter's /.well-known/ssf-configuration URL")
    p.add_argument("--issuer", required=True)
    p.add_argument("--aud", required=True)
    p.add_argument("--subject-format", default="email", choices=sorted(SUBJECT_MEMBERS))
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", default="")
    p.add_argument("--poll", help="poll this URL instead of serving pushes")
    p.add_argument("--invalid-key", type=int, default=0)
    p.add_argument("--lifetime", type=float, default=900)
    args = p.parse_args()

    def watchdog():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    rx = Receiver(args)
    if args.poll:
        poller(rx)
    else:
        push_server(rx)


if __name__ == "__main__":
    main()
