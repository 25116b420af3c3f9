"""The fake Reddit HTTP server (Python 3 stdlib, threaded http.server).

Run:  python3 -m fakereddit [options]        (from tests/)
      python3 tests/fakereddit/server.py [options]
It prints `READY http://127.0.0.1:PORT` on stdout once it accepts
connections. See tests/README.md for endpoints and options.
"""

if __name__ == "__main__" and not __package__:
    import os as _os
    import sys as _sys
    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(
        _os.path.abspath(__file__))))
    from fakereddit.server import main as _main
    _main()
    raise SystemExit(0)

import argparse
import base64
import gzip
import json
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import admin
from . import api
from . import media as M
from . import fixtures
from .scenario import Builder, load_spec


class Config:
    def __init__(self, ns):
        self.client_id = ns.client_id
        self.client_secret = ns.client_secret
        self.username = ns.username
        self.password = ns.password
        self.token_ttl = ns.token_ttl
        self.budget = ns.budget
        self.public_budget = ns.public_budget if ns.public_budget is not None \
            else ns.budget
        self.window = ns.window
        self.require_ua = ns.require_ua
        self.morechildren_cap = ns.morechildren_cap
        self.morechildren_delay = ns.morechildren_delay
        self.morechildren_lock = not ns.no_morechildren_lock
        self.tree_limit_max = 500
        self.retry_after = ns.retry_after
        self.cache_bodies = ns.cache_bodies


class Fault:
    """One injected fault rule (see tests/README.md)."""

    ACTIONS = ("status", "truncate", "nonjson", "delay", "429", "expire",
               "slow", "redirect", "badgzip")

    def __init__(self, d):
        self.action = str(d.get("action", "status"))
        if self.action not in self.ACTIONS:
            raise ValueError("unknown fault action %r" % self.action)
        self.pattern = re.compile(d.get("path", ".*"))
        self.method = d.get("method")
        self.times = d.get("times")          # None = forever
        self.status = int(d.get("status", 503))
        self.seconds = float(d.get("seconds", 1.0))
        self.retry_after = d.get("retry_after")
        self.hits = 0
        self.spec = d

    def matches(self, method, path):
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method.upper() != method:
            return False
        return self.pattern.search(path) is not None

    def view(self):
        d = dict(self.spec)
        d["hits"] = self.hits
        return d


class Server:
    """Everything shared between request threads."""

    def __init__(self, cfg, spec, seed):
        self.cfg = cfg
        self.spec = spec
        self.seed = seed
        self.lock = threading.RLock()
        self.store = Builder(spec, seed).build()
        self.base = ""
        self.tokens = {}                     # token -> (client, expiry)
        self.token_n = 0
        self.windows = {}                    # key -> [window_start, used]
        self.stats = Counter()
        self.faults = []
        self.mc_inflight = 0
        self.slow_paused = 0
        self.slow_wake = threading.Event()   # set by reset: pauses end
        self.requests = []                   # recent (method, path, status)
        self.bytes_cache = {}
        self.body_cache = {}                 # --cache-bodies
        self.cache_bytes = 0
        self.live_threads = {}

    # -- media bytes ------------------------------------------------------

    def file_bytes(self, path, spec=None):
        spec = spec or self.store.media_files[path]
        kind = spec["kind"]
        ck = (path if kind in ("mpd", "m3u8", "html") else spec.get("key"),
              kind, spec.get("size"))
        b = self.bytes_cache.get(ck)
        if b is not None:
            return b
        if kind == "mpd":
            b = M.dash_manifest(spec["video"], spec.get("audio"))
        elif kind == "m3u8":
            b = M.hls_master(spec["video"], spec.get("audio"))
        elif kind == "html":
            b = M.html_page(spec.get("title", "Page"))
        elif spec.get("behavior") == "big":
            # api.media streams the real thing; this is only its head
            return M.jpeg(spec["key"], 4000)
        else:
            b = M.make(kind, "%s/%s" % (self.seed, spec["key"]),
                       spec.get("size"))
        with self.lock:
            if self.cache_bytes + len(b) > 256 << 20:
                self.bytes_cache.clear()
                self.cache_bytes = 0
            self.bytes_cache[ck] = b
            self.cache_bytes += len(b)
        return b

    def cache_keep(self, key, rep):
        """--cache-bodies: rep kept as the answer to key, gzipped once."""
        if len(rep.body) > 1024:
            rep.gz = gzip.compress(rep.body, 1)
        self.body_cache[key] = rep
        return rep

    # -- tokens and rate limit ------------------------------------------

    def new_token(self, client):
        with self.lock:
            self.token_n += 1
            tok = "fake-%d-%s" % (self.token_n, base64.b32encode(
                ("%s:%d" % (client, self.token_n)).encode()).decode()
                .strip("=").lower()[:16])
            self.tokens[tok] = (client, time.time() + self.cfg.token_ttl)
            return tok

    def check_token(self, tok):
        with self.lock:
            got = self.tokens.get(tok)
            if got is None or got[1] <= time.time():
                return None
            return got[0]

    def expire_tokens(self):
        with self.lock:
            for k, (c, _) in list(self.tokens.items()):
                self.tokens[k] = (c, 0)

    def rate(self, key, budget):
        """Count one request; returns (ok, used, remaining, reset)."""
        now = time.time()
        w = self.cfg.window
        start = int(now // w) * w
        reset = max(1, int(round(start + w - now)))
        with self.lock:
            cur = self.windows.get(key)
            if cur is None or cur[0] != start:
                cur = self.windows[key] = [start, 0]
            if cur[1] >= budget:
                return False, cur[1], 0, reset
            cur[1] += 1
            return True, cur[1], budget - cur[1], reset

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.matches(method, path):
                    f.hits += 1
                    self.stats["faults"] += 1
                    return f
        return None

    def count(self, kind, n=1):
        with self.lock:
            self.stats[kind] += n

    def log_request(self, method, path, status):
        with self.lock:
            self.requests.append((method, path, status))
            if len(self.requests) > 20000:
                del self.requests[:10000]


class Reply:
    def __init__(self, status=200, body=b"", ctype="application/json; "
                 "charset=UTF-8", headers=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = headers or []
        self.stream = None                   # (total_len, chunk generator)
        self.gz = None                       # gzipped body, when known

    def copy(self):
        """A cached reply's copy: its own header list (the caller adds
        rate-limit headers), the same bytes."""
        out = Reply(self.status, self.body, self.ctype, list(self.headers))
        out.gz = self.gz
        return out


def json_reply(obj, status=200, raw=True, headers=None):
    if not raw:
        obj = api.escape_entities(obj)
    text = json.dumps(obj, ensure_ascii=True)
    text = text.replace("<", "\\u003C").replace(">", "\\u003E") \
        .replace("&", "\\u0026")
    return Reply(status, text.encode(), headers=headers)


def html_reply(status, text, headers=None):
    return Reply(status, text.encode() if isinstance(text, str) else text,
                 "text/html; charset=UTF-8", headers)


def too_many(srv, retry_after):
    page = fixtures.load("error_429_too_many_requests.html")
    page = page.replace("please wait 4 second(s)",
                        "please wait %d second(s)" % retry_after)
    srv.count("429")
    return html_reply(429, page, [("Retry-After", str(retry_after))])


BLOCKED_PAGE = (
    "<!doctype html><html><head><title>Blocked</title></head><body>"
    "<h1>whoa there, pardner!</h1><p>Your request has been blocked due to a "
    "network policy.</p><p>Try logging in or creating an account to get back "
    "to browsing. If you're running a script or application, please register "
    "or sign in with your developer credentials and make sure your "
    "User-Agent is not empty and is something unique and descriptive.</p>"
    "</body></html>")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "snooserv"
    sys_version = ""
    srv = None

    def setup(self):
        super().setup()
        # headers and body leave in separate writes: without this, Nagle
        # and the client's delayed ACK add ~40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY,
                                   1)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakereddit: %s\n" % (fmt % args))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def handle_any(self, method):
        srv = self.srv
        url = urlsplit(self.path)
        path = url.path
        query = {k: v[-1] for k, v in parse_qs(url.query,
                                                keep_blank_values=True).items()}
        body = self.read_body() if method in ("POST", "DELETE") else b""
        if method == "POST" and "urlencoded" in (
                self.headers.get("Content-Type") or "") or (
                method == "POST" and body and not body.lstrip()
                .startswith((b"{", b"["))):
            form = {k: v[-1] for k, v in parse_qs(
                body.decode("utf-8", "replace"),
                keep_blank_values=True).items()}
        else:
            form = {}
        try:
            rep = self.route(method, path, url.query, query, form, body)
        except Exception as e:                # a bug in the fake: say so
            import traceback
            traceback.print_exc()
            rep = json_reply({"message": "fake error: %s" % e, "error": 500},
                             500)
        srv.log_request(method, self.path, rep.status)
        self.send(rep, method)

    def send(self, rep, method="GET"):
        body = rep.body
        gz = False
        if rep.stream is None and len(body) > 1024 and \
                "gzip" in (self.headers.get("Accept-Encoding") or "") and \
                rep.ctype.startswith("application/json"):
            if rep.gz is None:
                rep.gz = gzip.compress(body, 1)
            body = rep.gz
            gz = True
            self.srv.count("answers_gzip")
            if getattr(rep, "badgzip", False):
                # damaged in transit: gzip's header and trailer intact,
                # the deflate stream in between not
                mid = len(body) // 2
                body = body[:mid] + bytes(b ^ 0x5a for b in
                                          body[mid:mid + 64]) + \
                    body[mid + 64:]
        cut = getattr(rep, "cut", False)
        try:
            self.send_response(rep.status)
            self.send_header("Content-Type", rep.ctype)
            for k, v in rep.headers:
                self.send_header(k, v)
            if gz:
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "accept-encoding")
            total = rep.stream[0] if rep.stream else len(body)
            self.send_header("Content-Length", str(total))
            if cut:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if method == "HEAD":
                return
            slow = getattr(rep, "slow", 0)
            if slow and not rep.stream and not cut:
                # half the body, a pause, then the rest
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                # answers paused at once: the client has not had all of
                # them, so each is a transfer it holds open
                srv = self.srv
                with srv.lock:
                    srv.slow_paused += 1
                    srv.stats["slow_paused_max"] = max(
                        srv.stats["slow_paused_max"], srv.slow_paused)
                    wake = srv.slow_wake
                try:
                    wake.wait(slow)
                finally:
                    with srv.lock:
                        srv.slow_paused -= 1
                self.wfile.write(body[len(body) // 2:])
            elif rep.stream:
                for chunk in rep.stream[1]:
                    self.wfile.write(chunk)
            elif cut:
                self.wfile.write(body[:max(1, len(body) // 2)])
                self.wfile.flush()
                self.close_connection = True
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- routing ----------------------------------------------------------

    def route(self, method, path, rawq, q, form, body):
        srv = self.srv
        if path.startswith("/_fake/"):
            return admin.handle(srv, self, method, path, q, body)
        if path.startswith("/archive/"):
            path = path[len("/archive"):]
        if path == "/api/posts/search" or path == "/api/comments/search":
            srv.count("archive")
            # fault rules see the archive's path as "/archive/api/..."
            fault = srv.take_fault(method, "/archive" + path +
                                   ("?" + rawq if rawq else ""))
            if fault is not None and fault.action == "status":
                srv.count("injected_status")
                return html_reply(fault.status, "<html><body><h1>%d</h1>"
                                  "</body></html>" % fault.status)
            return api.archive(srv, path, q)
        fault = srv.take_fault(method, path + ("?" + rawq if rawq else ""))
        if fault is not None:
            if fault.action == "delay":
                time.sleep(fault.seconds)
                fault = None
            elif fault.action == "status":
                srv.count("injected_status")
                code = fault.status
                text = fault.spec.get("body", "<html><body><h1>%d</h1>"
                                      "</body></html>" % code)
                return html_reply(code, text)
            elif fault.action == "redirect":
                srv.count("injected_redirect")
                rep = Reply(302, b"", "text/html",
                            [("Location", fault.spec.get("location", "/"))])
                return rep
            elif fault.action == "429":
                ra = fault.retry_after if fault.retry_after is not None \
                    else srv.cfg.retry_after
                return too_many(srv, int(ra))
        if path.startswith(("/media/", "/ext/", "/gallery/")):
            rep = api.media(srv, path, rawq, q)
        elif path == "/api/v1/access_token":
            rep = self.token(method, form)
        else:
            rep = self.api_call(method, path, q, form, fault)
        if fault is not None:
            if fault.action == "truncate":
                srv.count("injected_truncate")
                rep.cut = True
            elif fault.action == "slow":
                srv.count("injected_slow")
                rep.slow = fault.seconds
            elif fault.action == "badgzip":
                srv.count("injected_badgzip")
                rep.badgzip = True
            elif fault.action == "nonjson":
                srv.count("injected_nonjson")
                rep.body = ("<!doctype html><html><head><title>Reddit - "
                            "Dive into anything</title></head><body>"
                            "<p>Our CDN was unable to reach our servers."
                            "</p></body></html>").encode()
                rep.ctype = "text/html; charset=UTF-8"
        return rep

    def token(self, method, form):
        srv = self.srv
        cfg = srv.cfg
        srv.count("token")
        if method != "POST":
            return json_reply({"message": "Method Not Allowed",
                               "error": 405}, 405)
        auth = self.headers.get("Authorization") or ""
        cid = sec = None
        if auth[:6].lower() == "basic ":
            try:
                cid, _, sec = base64.b64decode(auth[6:].strip()).decode() \
                    .partition(":")
            except (ValueError, UnicodeDecodeError):
                cid = None
        if cid != cfg.client_id or sec != (cfg.client_secret or ""):
            srv.count("token_401")
            return json_reply({"message": "Unauthorized", "error": 401}, 401)
        grant = form.get("grant_type")
        if grant == "client_credentials":
            pass
        elif grant == "password":
            pw = form.get("password", "")
            if form.get("username") != cfg.username or pw.split(":")[0] != \
                    cfg.password:
                return json_reply({"error": "invalid_grant"})
        elif grant == "https://oauth.reddit.com/grants/installed_client":
            dev = form.get("device_id", "")
            if not 20 <= len(dev) <= 30:
                return json_reply({"error": "invalid_request",
                                   "error_description": "bad device_id"})
        elif grant in ("refresh_token", "authorization_code"):
            return json_reply({"error": "invalid_grant"})
        else:
            return json_reply({"error": "unsupported_grant_type"})
        srv.count("grant_" + ("installed_client" if grant.endswith(
            "installed_client") else grant))
        tok = srv.new_token(cid)
        out = {"access_token": tok, "token_type": "bearer",
               "expires_in": int(cfg.token_ttl), "scope": "*"}
        if grant.endswith("installed_client"):
            out = {"access_token": tok, "token_type": "bearer",
                   "device_id": form.get("device_id"),
                   "expires_in": int(cfg.token_ttl), "scope": "*"}
        return json_reply(out)

    def api_call(self, method, path, q, form, fault):
        srv = self.srv
        cfg = srv.cfg
        public = path.endswith(".json")
        if public:
            path = path[:-5]
        path = path.rstrip("/") or "/"
        ua = self.headers.get("User-Agent") or ""
        if cfg.require_ua and (len(ua) < 7 or ua.startswith(
                ("curl/", "python-requests", "Java"))):
            srv.count("blocked_ua")
            return html_reply(403, BLOCKED_PAGE)
        auth = self.headers.get("Authorization") or ""
        client = None
        if auth[:7].lower() == "bearer ":
            client = srv.check_token(auth[7:].strip())
            if fault is not None and fault.action == "expire":
                client = None
            if client is None:
                srv.count("401")
                return json_reply(
                    {"message": "Unauthorized", "error": 401}, 401,
                    headers=[("WWW-Authenticate",
                              'Bearer realm="reddit", error="invalid_token"')])
        elif not public:
            srv.count("401")
            return json_reply({"message": "Unauthorized", "error": 401}, 401,
                              headers=[("WWW-Authenticate",
                                        'Bearer realm="reddit", '
                                        'error="invalid_token"')])
        key = client if client is not None else "public"
        budget = cfg.budget if client is not None else cfg.public_budget
        ok, used, remaining, reset = srv.rate(key, budget)
        if not ok:
            return too_many(srv, reset)
        srv.count("api")
        if client is None:
            srv.count("public")      # a .json request with no token
        args = dict(q)
        args.update(form)
        raw = args.get("raw_json") == "1"
        # morechildren caches its own answer (api.morechildren): its lock,
        # delay and counters apply to every call
        if cfg.cache_bodies and not path.startswith("/api/morechildren"):
            rep = self.cached(method, path, args, raw, public)
        else:
            rep = api.dispatch(srv, method, path, args, raw, public)
        rep.headers += [("x-ratelimit-remaining", "%d.0" % remaining),
                        ("x-ratelimit-used", str(used)),
                        ("x-ratelimit-reset", str(reset))]
        return rep


    def cached(self, method, path, args, raw, public):
        """--cache-bodies: an answer computed once per request, kept with
        its gzipped form (benchmarks: the fake's own rendering then costs
        both clients nothing; per-endpoint counters count first answers
        only, live data is not seen)."""
        srv = self.srv
        key = (method, path, tuple(sorted(args.items())), raw, public)
        hit = srv.body_cache.get(key)
        if hit is None:
            rep = api.dispatch(srv, method, path, args, raw, public)
            if rep.stream is not None or getattr(rep, "cut", False):
                return rep
            hit = srv.cache_keep(key, rep)
        return hit.copy()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return                  # clients hanging up is normal here
        super().handle_error(request, client_address)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="fakereddit",
                                 description="Fake Reddit API for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0,
                    help="0 picks a free port (printed in the READY line)")
    ap.add_argument("--scenario", default="small",
                    help="built-in name (small demo media history full), "
                    "a JSON file, or inline JSON")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--client-id", default="fake-client-id")
    ap.add_argument("--client-secret", default="fake-client-secret")
    ap.add_argument("--username", default="fakeuser")
    ap.add_argument("--password", default="fakepass")
    ap.add_argument("--token-ttl", type=float, default=86400)
    ap.add_argument("--budget", type=int, default=1000,
                    help="requests per window per client id")
    ap.add_argument("--public-budget", type=int, default=None)
    ap.add_argument("--window", type=int, default=600,
                    help="rate-limit window in seconds (aligned to multiples)")
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--require-ua", action="store_true",
                    help="403 'blocked' page for missing or generic "
                    "User-Agents")
    ap.add_argument("--horizon", type=int, default=None,
                    help="items reachable per listing (default 1000)")
    ap.add_argument("--oversized-bytes", type=int, default=None,
                    help="size of the oversized media file (default 3 MiB)")
    ap.add_argument("--morechildren-cap", type=int, default=100)
    ap.add_argument("--morechildren-delay", type=float, default=0.02,
                    help="seconds each morechildren call holds the lock")
    ap.add_argument("--no-morechildren-lock", action="store_true",
                    help="count overlapping morechildren calls, but answer")
    ap.add_argument("--fault", action="append", default=[],
                    help="fault rule as JSON (repeatable)")
    ap.add_argument("--cache-bodies", action="store_true",
                    help="benchmarks: compute each distinct answer once "
                    "(no live data, endpoint counters count first answers)")
    ap.add_argument("--verbose", "-v", action="store_true")
    return ap.parse_args(argv)


def main(argv=None):
    ns = parse_args(sys.argv[1:] if argv is None else argv)
    spec = dict(load_spec(ns.scenario))
    if ns.horizon is not None:
        spec["horizon"] = ns.horizon
    if ns.oversized_bytes is not None:
        spec["oversized_bytes"] = ns.oversized_bytes
    srv = Server(Config(ns), spec, ns.seed if ns.seed is not None
                 else spec.get("seed", 1))
    for f in ns.fault:
        srv.faults.append(Fault(json.loads(f)))
    Handler.srv = srv
    httpd = QuietServer((ns.host, ns.port), Handler)
    httpd.daemon_threads = True
    httpd.verbose = ns.verbose
    host, port = httpd.server_address[:2]
    srv.base = "http://%s:%d" % (host, port)

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("READY %s\n" % srv.base)
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        admin.stop_live(srv)
    return 0


if __name__ == "__main__":
    main()
