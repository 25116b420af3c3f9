"""Plugins (README "Plugins") through real jobs against the fake Reddit:
the shipped sentiment, keywords and webhook plugins, and the contract's
edges with small test plugins (failure with the stderr tail, the time
limit, the output limit, rejected lines, no shell)."""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import sys
import threading

import pytest

from conftest import require
from rstack import REPO, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")


@pytest.fixture(scope="module")
def fake():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    f = FakeReddit(scenario="small")
    f.start()
    yield f
    f.stop()


def fake_env(fake, **extra):
    return reddit_env(fake, **extra)


def install(s, *names, extra=None):
    """Copy shipped plugins (and extra {name: source}) into plugin_dir."""
    d = s.env["RSCRAPE_PATHS_PLUGIN_DIR"]
    os.makedirs(d, exist_ok=True)
    for n in names:
        shutil.copy(os.path.join(REPO, "plugins", n), os.path.join(d, n))
    for n, src in (extra or {}).items():
        p = os.path.join(d, n)
        with open(p, "w") as f:
            f.write(src)
        os.chmod(p, 0o755)


def run_job(s, ws, key, timeout=90, **body):
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key, json=body)
    assert r.status_code == 201, r.text
    path = "/api/v1/workspaces/%s/jobs/%s" % (ws, r.json()["id"])

    def done():
        j = s.http("GET", path, key=key).json()
        return j if j["status"] in TERMINAL else None
    return wait_until(done, timeout=timeout, interval=0.1,
                      what="the job to end")


def items(s, ws, key, job, kind):
    out, cursor = [], None
    while True:
        q = "limit=200" + ("&cursor=" + cursor if cursor else "")
        r = s.http("GET", "/api/v1/workspaces/%s/jobs/%s/%s?%s" % (
            ws, job, kind, q), key=key)
        assert r.status_code == 200, r.text
        b = r.json()
        out += b[kind]
        if not b["has_more"]:
            return out
        cursor = b["cursor"]


@pytest.fixture
def stack(fake, make_stack):
    def make(**extra):
        s = make_stack(daemons=(), env=fake_env(fake, **extra))
        return s
    return make


def start(s):
    for d in ("jobd", "httpd", "fetchd"):
        s.start(d)
    return s.workspace_and_key()


def test_sentiment_and_keywords_annotate_a_real_job(stack, fake):
    s = stack()
    install(s, "sentiment", "keywords")
    ws, key = start(s)
    truth = fake.truth(sub="fakesub", limit=30)
    j = run_job(s, ws, key, target="fakesub", limit=30,
                download_media=False, plugins=["sentiment", "keywords"])
    assert j["status"] == "completed", j
    pl = j["progress"]["plugins"]
    assert pl["sentiment"]["status"] == "completed", pl
    assert pl["keywords"]["status"] == "completed", pl
    n = truth["posts"] + truth["comments"]
    assert pl["sentiment"]["annotated"] == n
    assert pl["sentiment"]["rejected"] == 0
    assert sum(pl["sentiment"]["summary"]["counts"].values()) == n
    terms = pl["keywords"]["summary"]["top_terms"]
    assert 0 < len(terms) <= 25
    assert terms == sorted(terms, key=lambda t: (-t["count"], t["term"]))
    assert pl["keywords"]["summary"]["documents"] == n

    posts = items(s, ws, key, j["id"], "posts")
    comments = items(s, ws, key, j["id"], "comments")
    assert len(posts) == truth["posts"]
    assert len(comments) == truth["comments"]
    labels = set()
    for it in posts + comments:
        assert it["sentiment_label"] in ("positive", "neutral", "negative")
        assert -1 <= it["sentiment_score"] <= 1
        labels.add(it["sentiment_label"])
        # the plugin's whole line, by plugin name
        assert it["annotations"]["sentiment"] == {
            "sentiment_score": it["sentiment_score"],
            "sentiment_label": it["sentiment_label"]}
    # the posts API filters on what the plugin stored
    for lab in ("positive", "neutral", "negative"):
        r = s.http("GET", "/api/v1/workspaces/%s/jobs/%s/posts?"
                   "sentiment_label=%s&limit=200" % (ws, j["id"], lab),
                   key=key)
        assert r.status_code == 200, r.text
        want = [p["id"] for p in posts if p["sentiment_label"] == lab]
        assert sorted(p["id"] for p in r.json()["posts"]) == sorted(want)


class Hook(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.got.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_webhook_posts_a_signed_summary(stack, fake):
    srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    Hook.got = []
    try:
        s = stack(RSCRAPE_PLUGINS_WEBHOOK_URL="http://127.0.0.1:%d/hook" %
                  srv.server_address[1],
                  RSCRAPE_PLUGINS_WEBHOOK_SECRET="s3cret")
        install(s, "keywords", "webhook")
        ws, key = start(s)
        truth = fake.truth(sub="fakesub", limit=10)
        j = run_job(s, ws, key, target="fakesub", limit=10,
                    download_media=False, plugins=["keywords", "webhook"])
        assert j["status"] == "completed", j
        wh = j["progress"]["plugins"]["webhook"]
        assert wh["status"] == "completed", wh
        assert wh["summary"]["status"] == 204 and wh["summary"]["signed"]
        assert len(Hook.got) == 1
        headers, body = Hook.got[0]
        sig = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert headers["X-Rscrape-Signature"] == "sha256=" + sig
        assert headers["X-Rscrape-Job"] == j["id"]
        doc = json.loads(body)
        assert doc["event"] == "job.scraped"
        assert doc["job"]["id"] == j["id"]
        assert doc["items"] == {"posts": truth["posts"],
                                "comments": truth["comments"]}
        # the plugins listed before it are in the job it sends
        assert doc["job"]["progress"]["plugins"]["keywords"]["status"] == \
            "completed"
    finally:
        srv.shutdown()
        srv.server_close()


FAILING = """#!/bin/sh
echo "line one on stderr" >&2
echo '{"id": "t3_nosuchpost", "x": 1}'
echo 'not json'
echo '{"note": "partial"}'
echo "the last words" >&2
exit 3
"""

SLEEPER = """#!/bin/sh
sleep 30
"""

NOISY = """#!/usr/bin/python3
import sys
sys.stdout.write("x" * 3000000)
"""

# the job's values never pass through a shell: the target is in argv of
# nobody, and the env carries it as plain bytes
ECHOENV = """#!/usr/bin/python3
import json, os, sys
sys.stdin.read()
print(json.dumps({"argv": sys.argv[1:], "job": os.environ["RSCRAPE_JOB_ID"],
                  "target": json.loads(os.environ["RSCRAPE_JOB_JSON"])["target"]}))
"""


def test_failures_are_recorded_and_the_job_still_completes(stack, fake):
    s = stack(RSCRAPE_PLUGINS_TIMEOUT_SECONDS="2",
              RSCRAPE_PLUGINS_MAX_OUTPUT_BYTES="1048576")
    install(s, "sentiment", extra={"failing": FAILING, "sleeper": SLEEPER,
                                   "noisy": NOISY, "echoenv": ECHOENV})
    ws, key = start(s)
    truth = fake.truth(sub="fakesub", limit=5)
    j = run_job(s, ws, key, target="fakesub", limit=5, download_media=False,
                scrape_comments=False,
                plugins=["failing", "sleeper", "noisy", "echoenv",
                         "sentiment"])
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["posts"]
    pl = j["progress"]["plugins"]
    f = pl["failing"]
    assert f["status"] == "failed"
    assert "exit status 3" in f["error"]
    assert "the last words" in f["stderr_tail"]
    assert f["rejected"] == 2 and f["annotated"] == 0
    assert f["summary"] == {"note": "partial"}
    assert pl["sleeper"]["status"] == "failed"
    assert "timed out after 2 s" in pl["sleeper"]["error"]
    assert pl["noisy"]["status"] == "failed"
    assert "output over 1048576 bytes" in pl["noisy"]["error"]
    e = pl["echoenv"]
    assert e["status"] == "completed"
    assert e["summary"] == {"argv": [], "job": j["id"], "target": "fakesub"}
    # a plugin after failed ones still runs
    assert pl["sentiment"]["status"] == "completed"
    assert pl["sentiment"]["annotated"] == truth["posts"]


def test_unknown_plugins_are_rejected_at_creation(stack):
    s = stack()
    install(s, "sentiment")
    ws, key = start(s)
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
               json={"target": "fakesub", "plugins": ["sentiment", "nope"]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "plugins"]
    for bad in ("../sentiment", "sentiment;id", ""):
        r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
                   json={"target": "fakesub", "plugins": [bad]})
        assert r.status_code == 422, bad


def test_cancel_stops_a_running_plugin(stack):
    s = stack(RSCRAPE_PLUGINS_TIMEOUT_SECONDS="60")
    install(s, extra={"sleeper": SLEEPER})
    ws, key = start(s)
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
               json={"target": "fakesub", "limit": 5, "download_media": False,
                     "scrape_comments": False, "plugins": ["sleeper"]})
    path = "/api/v1/workspaces/%s/jobs/%s" % (ws, r.json()["id"])
    wait_until(lambda: s.http("GET", path, key=key).json()["progress"]
               .get("plugins", {}).get("sleeper", {}).get("status") ==
               "running", 30, 0.05, "the plugin to run")
    assert s.http("GET", path, key=key).json()["status"] == "running"
    assert s.http("DELETE", path, key=key).status_code == 200

    def sleepers():
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                if s.env["RSCRAPE_PATHS_PLUGIN_DIR"].encode() in cmd:
                    out.append(pid)
        return out
    wait_until(lambda: not sleepers(), 5, 0.05, "the plugin to be killed")


def test_monitor_jobs_run_their_plugins_per_batch(fake, make_stack):
    sub = "livesub"
    live = FakeReddit(scenario="small", args=["--budget", "100000"])
    live.start()
    try:
        s = make_stack(daemons=(), env=fake_env(
            live, RSCRAPE_MONITOR_MIN_INTERVAL="1",
            RSCRAPE_MONITOR_MAX_INTERVAL="2",
            RSCRAPE_PLUGINS_MONITOR_INTERVAL_SECONDS="1"))
        install(s, "sentiment")
        ws, key = start(s)
        r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
                   json={"target": sub, "mode": "monitor", "limit": 10000,
                         "download_media": False, "plugins": ["sentiment"]})
        assert r.status_code == 201, r.text
        path = "/api/v1/workspaces/%s/jobs/%s" % (ws, r.json()["id"])

        def annotated_all():
            truth = live.items(sub=sub)
            n = len(truth["posts"]) + len(truth["comments"])
            j = s.http("GET", path, key=key).json()
            assert j["status"] == "running", j
            st = j["progress"].get("plugins", {}).get("sentiment", {})
            ok = (j["posts_scraped"] == len(truth["posts"]) and
                  j["comments_scraped"] == len(truth["comments"]) and
                  st.get("status") == "completed" and
                  st.get("annotated") == n)
            return st if ok else None
        first = wait_until(annotated_all, 60, 0.2, "a first batch")
        live.live(sub, posts=3, comments=10, seed=1)
        later = wait_until(lambda: (lambda st: st if st and st["batches"] >
                                    first["batches"] else None)(
            annotated_all()), 60, 0.2, "a batch with the new items")
        assert later["annotated"] == first["annotated"] + 13
        posts = items(s, ws, key, r.json()["id"], "posts")
        assert all(p["sentiment_label"] for p in posts)
        assert s.http("DELETE", path, key=key).status_code == 200
    finally:
        live.stop()
