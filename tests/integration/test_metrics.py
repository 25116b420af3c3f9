"""Observability: GET /metrics (Prometheus text) on httpd's separate
[httpd] metrics_listen address, and GET /healthz per component. Numbers
are checked against what the test did and the fake Reddit's own counters,
never against other numbers of the scraper."""

import os
import re
import sys

import pytest

import rstack
from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def fake_env(fake, **more):
    return reddit_env(fake, **more)


def labels_of(s):
    return dict(re.findall(r'(\w+)="([^"]*)"', s or ""))


class Metrics:
    """One scrape: .series [(name, {labels}, value)]."""

    def __init__(self, text):
        self.text = text
        self.series = []
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, fam, typ = line.split(" ")
                assert fam not in self.types, "two TYPE lines for " + fam
                self.types[fam] = typ
                continue
            m = LINE.match(line)
            assert m, "not Prometheus text: %r" % line
            self.series.append((m.group(1), labels_of(m.group(2)),
                                float(m.group(3))))

    def get(self, name, **want):
        """Sum of the series of name whose labels include want."""
        return sum(v for n, lab, v in self.series if n == name and
                   all(lab.get(k) == str(x) for k, x in want.items()))

    def has(self, name, **want):
        return any(n == name and all(lab.get(k) == str(x)
                                     for k, x in want.items())
                   for n, lab, _ in self.series)


def scrape(s):
    r = s.http_session.get("http://%s/metrics" % s.metrics_listen,
                           timeout=15)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return Metrics(r.text)


def wait_metric(s, pred, what, timeout=20):
    return wait_until(lambda: (lambda m: m if pred(m) else None)(scrape(s)),
                      timeout=timeout, interval=0.3, what=what)


def run_job(s, ws, key, **body):
    job = s.create_job(ws, key, **body)
    path = s.jobs_path(ws, job["id"])

    def ended():
        j = s.http("GET", path, key=key).json()
        return j if j["status"] in TERMINAL else None
    return wait_until(ended, timeout=120, interval=0.2, what="the job")


@pytest.fixture
def env():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    with FakeReddit(scenario="small") as fake:
        s = Stack(env=fake_env(fake, RSCRAPE_JOBD_LEASE_SECONDS="2"))
        s.metrics_listen = "127.0.0.1:%d" % rstack.free_port()
        s.env["RSCRAPE_HTTPD_METRICS_LISTEN"] = s.metrics_listen
        try:
            for d in ("jobd", "httpd", "fetchd"):
                s.start(d)
            ws, key = s.workspace_and_key()
            yield s, fake, ws, key
        except Exception:
            sys.stderr.write(s.logs())
            raise
        finally:
            s.close()


def test_metrics_count_requests_jobs_and_reddit_calls(env):
    s, fake, ws, key = env
    fake.faults([{"path": "/comments/", "times": 1, "action": "429",
                  "retry_after": 1}])
    j = run_job(s, ws, key, target="fakesub", limit=20,
                download_media=False)
    assert j["status"] == "completed", j
    assert s.http("GET", s.jobs_path(ws, "job_nope"), key=key) \
        .status_code == 404
    stats = fake.stats()
    assert stats["429"] == 1

    # workers report every 5 s: wait for fetchd's numbers to arrive
    # the fake counts answered calls in "api", its 429s apart
    answered = stats["api"] + stats["429"]
    m = wait_metric(s, lambda m: m.get("rscrape_reddit_requests_total",
                                       daemon="fetchd") >= answered,
                    what="fetchd's Reddit counters")
    for fam, typ in (("rscrape_http_requests_total", "counter"),
                     ("rscrape_http_request_duration_seconds", "histogram"),
                     ("rscrape_jobs", "gauge"),
                     ("rscrape_reddit_requests_total", "counter"),
                     ("rscrape_daemon_up", "gauge")):
        assert m.types.get(fam) == typ, (fam, m.types)

    # HTTP: by route and status, and the histogram agrees
    assert m.get("rscrape_http_requests_total", route="jobs.create",
                 status=201) == 1
    assert m.get("rscrape_http_requests_total", route="jobs.get",
                 status=404) == 1
    gets = m.get("rscrape_http_requests_total", route="jobs.get")
    assert gets >= 2
    assert m.get("rscrape_http_request_duration_seconds_count",
                 route="jobs.get") == gets
    assert m.get("rscrape_http_request_duration_seconds_bucket",
                 route="jobs.get", le="+Inf") == gets
    assert m.get("rscrape_http_request_duration_seconds_bucket",
                 route="jobs.get", le="0.005") <= gets

    # jobs by status
    assert m.get("rscrape_jobs", status="completed") == 1
    assert m.get("rscrape_jobs", status="running") == 0

    # Reddit requests by kind and status, as the fake counted them
    assert m.get("rscrape_reddit_requests_total", daemon="fetchd") == answered
    assert m.get("rscrape_reddit_requests_total", kind="comments",
                 status=200) == stats["comments"]
    assert m.get("rscrape_reddit_requests_total", kind="comments",
                 status=429) == 1
    assert m.get("rscrape_reddit_requests_total", kind="morechildren") == \
        stats["morechildren"]
    assert m.get("rscrape_reddit_429_total", daemon="fetchd") == 1
    left = m.get("rscrape_reddit_rate_remaining", daemon="fetchd")
    assert 0 < left <= 1000     # the fake's budget per window

    for d in ("jobd", "httpd", "fetchd"):
        assert m.get("rscrape_daemon_up", daemon=d) == 1, d
    assert m.get("rscrape_db_writable") == 1

    # never on the API's own port
    r = s.http("GET", "/metrics")
    assert r.status_code == 404
    m = scrape(s)
    assert m.get("rscrape_http_requests_total", route="none",
                 status=404) == 1

    # a request libevent itself refuses is counted too
    import socket
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"NONSENSE\r\n\r\n")
        assert b" 400 " in c.recv(100)
    m = scrape(s)
    assert m.get("rscrape_http_requests_total", route="protocol",
                 status=400) == 1


def test_metrics_count_restarts_and_lease_expiries(env):
    s, fake, ws, key = env
    wait_metric(s, lambda m: m.has("rscrape_daemon_up", daemon="fetchd"),
                what="fetchd's first report")
    m = scrape(s)
    assert m.get("rscrape_lease_expiries_total") == 0
    assert m.get("rscrape_daemon_restarts_total", daemon="jobd") == 0

    # fetchd dies holding a lease: the lease expires, fetchd restarts
    fake.faults([{"path": "/comments/", "times": None, "action": "delay",
                  "seconds": 0.2}])
    job = s.create_job(ws, key, target="fakesub", limit=20,
                       download_media=False)
    path = s.jobs_path(ws, job["id"])
    wait_until(lambda: s.http("GET", path, key=key).json()
               ["comments_scraped"] > 0, timeout=30, interval=0.05,
               what="the job to be under way")
    s.fetchd.kill()
    s.start("fetchd")
    wait_until(lambda: s.http("GET", path, key=key).json()["status"] in
               TERMINAL, timeout=90, interval=0.2, what="the job")
    m = wait_metric(s, lambda m: m.get("rscrape_daemon_restarts_total",
                                       daemon="fetchd") == 1,
                    what="fetchd's restart to be counted")
    assert m.get("rscrape_lease_expiries_total") == 1
    # the new instance is up (the killed one turns 0 once it has missed
    # three reports)
    import socket
    new = "%s:%d" % (socket.gethostname(), s.fetchd.pid)
    assert m.get("rscrape_daemon_up", daemon="fetchd", instance=new) == 1

    # jobd restarted: httpd sees a new jobd
    assert s.jobd.stop() == 0
    m = scrape(s)
    assert m.get("rscrape_daemon_up", daemon="jobd") == 0
    s.start("jobd")
    m = wait_metric(s, lambda m: m.get("rscrape_daemon_up",
                                       daemon="jobd") == 1,
                    what="jobd back")
    assert m.get("rscrape_daemon_restarts_total", daemon="jobd") == 1
    assert m.get("rscrape_jobs", status="completed") == 1


def test_healthz_per_component(env):
    s, fake, ws, key = env

    def fetchd_listed():
        hz = s.http("GET", "/healthz").json()
        ws_ = hz["components"]["jobd"].get("workers", [])
        return hz if any(w["kind"] == "fetch" for w in ws_) else None
    hz = wait_until(fetchd_listed, timeout=20, interval=0.2,
                    what="fetchd in /healthz")
    assert hz["status"] == "ok"
    assert hz["components"]["httpd"]["status"] == "ok"
    jobd = hz["components"]["jobd"]
    assert jobd["status"] == "ok" and jobd["db"] == "ok"
    w = [w for w in jobd["workers"] if w["kind"] == "fetch"][0]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", w["last_seen_at"])

    # rscrapectl status: the same, for a terminal
    out = s.ctl("status").stdout
    assert re.search(r"^jobd\s+ok\s", out, re.M), out
    assert re.search(r"^httpd\s+ok\s", out, re.M), out
    assert re.search(r"^fetchd\s+ok\s.*last heartbeat", out, re.M), out
    assert re.search(r"^leases: 0 expired, 0 handed back", out, re.M), out
    assert re.search(r"^restarts: .*fetchd 0", out, re.M), out


def test_metrics_listen_is_checked():
    require("httpd")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSCRAPE_")}
    env["RSCRAPE_HTTPD_METRICS_LISTEN"] = "nonsense"
    import subprocess
    p = subprocess.run([rstack.binary("httpd"), "-t", "-c", rstack.CONF],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "metrics_listen" in p.stderr, p.stderr
