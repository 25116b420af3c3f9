"""DESIGN.md §1, "restarting any one daemon loses nothing": jobd away
(httpd answers 503 with Retry-After at once, the workers back off and
reconnect by themselves, nobody exits), and kill -9 of fetchd, jobd and
httpd in turn during one full job (and fetchd, mediad, jobd, httpd during
a job with comments and media), each restarted as a supervisor would: the
job ends with exactly the fake's truth, no duplicate rows, no partial
media file."""

import os
import sqlite3
import sys
import time

import pytest

from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")


def fake_env(fake, **more):
    return reddit_env(fake, **more)


def job_of(s, ws, key, job_id):
    r = s.http("GET", s.jobs_path(ws, job_id), key=key, timeout=30)
    return r.json() if r.status_code == 200 else None


def wait_end(s, ws, key, job_id, timeout=120):
    def ended():
        j = job_of(s, ws, key, job_id)
        return j if j and j["status"] in TERMINAL else None
    return wait_until(ended, timeout=timeout, interval=0.2,
                      what="the job to end")


def db_rows(s, job_id):
    """(rows, distinct fullnames) of the job's posts and comments, read
    from the database itself."""
    con = sqlite3.connect("file:%s?mode=ro" %
                          os.path.join(s.state_dir, "rscrape.db"), uri=True)
    try:
        jid = con.execute("SELECT jid FROM jobs WHERE id = ?",
                          (job_id[len("job_"):],)).fetchone()
        if jid is None:     # ids may be stored with their prefix
            jid = con.execute("SELECT jid FROM jobs WHERE id = ?",
                              (job_id,)).fetchone()
        out = {}
        for table in ("posts", "comments"):
            out[table] = con.execute(
                "SELECT count(*), count(DISTINCT id) FROM %s WHERE jid = ?"
                % table, (jid[0],)).fetchone()
        return out
    finally:
        con.close()


def test_jobd_away_503_at_once_workers_wait_and_reconnect():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    with FakeReddit(scenario="small") as fake, \
            Stack(env=fake_env(fake), request_timeout_ms=20000) as s:
        for d in ("jobd", "httpd", "fetchd"):
            s.start(d)
        ws, key = s.workspace_and_key()
        assert s.jobd.stop() == 0

        for method, body in (("POST", {"target": "fakesub"}), ("GET", None)):
            t0 = time.monotonic()
            r = s.http(method, s.jobs_path(ws), key=key, json=body,
                       timeout=30)
            took = time.monotonic() - t0
            assert r.status_code == 503, r.text
            assert r.headers["Content-Type"].startswith("application/json")
            assert "detail" in r.json()
            assert int(r.headers["Retry-After"]) >= 1
            # at once: not after the 20 s request timeout
            assert took < 5.0, took
        hz = s.http("GET", "/healthz", timeout=30)
        assert hz.status_code == 503
        assert hz.json()["components"]["jobd"]["status"] == "unreachable"

        wait_until(lambda: "retrying" in open(s.fetchd.log_path).read(),
                   timeout=20, interval=0.1,
                   what="fetchd to notice jobd is away")
        assert s.httpd.running() and s.fetchd.running()

        s.start("jobd")
        truth = fake.truth(sub="fakesub", limit=20)
        wait_until(lambda: s.http("GET", s.jobs_path(ws), key=key)
                   .status_code == 200, timeout=10, interval=0.1,
                   what="httpd to reach jobd again")
        job = s.create_job(ws, key, target="fakesub", limit=20,
                           download_media=False)
        # fetchd found jobd again by itself
        j = wait_end(s, ws, key, job["id"])
        assert j["status"] == "completed", j
        assert j["posts_scraped"] == truth["posts"]
        assert j["comments_scraped"] == truth["comments"]
        assert s.httpd.running() and s.fetchd.running()


def test_kill_9_fetchd_then_jobd_then_httpd_during_a_full_job():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    with FakeReddit(scenario="small") as fake, \
            Stack(env=fake_env(fake, RSCRAPE_JOBD_LEASE_SECONDS="2"),
                  request_timeout_ms=3000) as s:
        for d in ("jobd", "httpd", "fetchd"):
            s.start(d)
        ws, key = s.workspace_and_key()
        other = s.create_job(ws, key, target="livesub", limit=5,
                             download_media=False)
        truth = fake.truth(sub="fakesub", limit=50)
        # slow enough that three kills land in the middle of the job
        fake.faults([{"path": "/comments/", "times": None,
                      "action": "delay", "seconds": 0.4}])
        job = s.create_job(ws, key, target="fakesub", limit=50,
                           download_media=False)

        def progressed_past(n):
            def f():
                j = job_of(s, ws, key, job["id"])
                return j and (j["comments_scraped"] > n or
                              j["status"] in TERMINAL) and j
            return f
        seen = 0
        for victim in ("fetchd", "jobd", "httpd"):
            j = wait_until(progressed_past(seen), timeout=60, interval=0.05,
                           what="progress before killing %s" % victim)
            assert j["status"] == "running", \
                "the job ended before %s was killed: make it slower" % victim
            seen = j["comments_scraped"]
            s.daemons[victim].kill()            # SIGKILL
            s.start(victim)

        j = wait_end(s, ws, key, job["id"])
        assert j["status"] == "completed", j
        assert j["posts_scraped"] == truth["posts"]
        assert j["comments_scraped"] == truth["comments"]
        rows = db_rows(s, job["id"])
        assert rows["posts"] == (truth["posts"], truth["posts"]), rows
        assert rows["comments"] == (truth["comments"], truth["comments"]), \
            rows
        # no lost job
        listed = s.http("GET", s.jobs_path(ws), key=key).json()
        assert {x["id"] for x in listed["jobs"]} == {job["id"], other["id"]}
        assert wait_end(s, ws, key, other["id"])["status"] == "completed"


def test_kill_9_each_daemon_during_a_job_with_comments_and_media():
    require("rscrapectl", "jobd", "httpd", "fetchd", "mediad")
    from test_media import NO_FFMPEG, store_files, tmp_files
    with FakeReddit(scenario="small") as fake, \
            Stack(env=fake_env(fake, RSCRAPE_JOBD_LEASE_SECONDS="2",
                               RSCRAPE_MEDIAD_MAX_BYTES="2000000"),
                  request_timeout_ms=3000) as s:
        for d in ("jobd", "httpd", "fetchd"):
            s.start(d)
        # without ffmpeg video and audio stay two files: truth counts them
        s.start("mediad", env=NO_FFMPEG)
        ws, key = s.workspace_and_key()
        truth = fake.truth(sub="fakesub", limit=30)
        assert truth["media"]["downloaded"] > 0
        fake.faults([{"path": "/comments/", "times": None,
                      "action": "delay", "seconds": 0.25},
                     {"path": "^/(media|ext|gallery)/", "times": None,
                      "action": "delay", "seconds": 0.3}])
        job = s.create_job(ws, key, target="fakesub", limit=30)

        def when(pred, what):
            def f():
                j = job_of(s, ws, key, job["id"])
                return j and (pred(j) or j["status"] in TERMINAL) and j
            j = wait_until(f, timeout=60, interval=0.05, what=what)
            assert j["status"] == "running", \
                "the job ended before the kill (%s): make it slower" % what
        when(lambda j: j["comments_scraped"] > 0, "comments")
        s.fetchd.kill()
        s.start("fetchd")
        when(lambda j: j["media_downloaded"] > 0, "a first download")
        s.mediad.kill()
        s.start("mediad", env=NO_FFMPEG)
        for victim in ("jobd", "httpd"):
            seen = wait_until(lambda: job_of(s, ws, key, job["id"]),
                              timeout=30, interval=0.1, what="the job")
            when(lambda j: j["comments_scraped"] + j["media_downloaded"] >
                 seen["comments_scraped"] + seen["media_downloaded"],
                 "progress before killing %s" % victim)
            s.daemons[victim].kill()
            s.start(victim)

        j = wait_end(s, ws, key, job["id"], timeout=180)
        assert j["status"] == "completed", j
        assert j["posts_scraped"] == truth["posts"]
        assert j["comments_scraped"] == truth["comments"]
        assert j["media_downloaded"] == truth["media"]["downloaded"], j
        assert j["progress"]["media_failed"] == truth["media"]["failed"], j
        rows = db_rows(s, job["id"])
        assert rows["posts"] == (truth["posts"], truth["posts"]), rows
        assert rows["comments"] == (truth["comments"], truth["comments"]), \
            rows
        # every stored file is whole (named by its own SHA-256), none
        # left half-written
        files = store_files(s.state_dir)
        assert len(files) == truth["media"]["unique_files"]
        assert tmp_files(s.state_dir) == []
