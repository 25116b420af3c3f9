"""The daemons under a supervisor (systemd or tools/supervise.py), seen
from a test-side NOTIFY_SOCKET: READY=1 once serving, STATUS= lines that
say something, WATCHDOG=1 from the loop when WATCHDOG_USEC asks for it,
STOPPING=1 on SIGTERM; what each daemon does with SIGTERM (httpd finishes
requests in flight, fetchd hands its lease back, jobd folds the WAL into
the database), each within a few seconds and with status 0; `-t`."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import rstack
from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
STOP_WITHIN = 5.0       # "within a few seconds" of SIGTERM

STATUS = {
    "jobd": r"^STATUS=\d+ jobs running, \d+ tasks leased",
    "httpd": r"^STATUS=\d+ requests to jobd in flight, jobd connected",
    "fetchd": r"^STATUS=\d+ tasks held, \d+ Reddit requests",
    "mediad": r"^STATUS=\d+ tasks held, \d+ transfers running",
}


def fake_env(fake, **more):
    return reddit_env(fake, **more)


def timed_stop(d):
    t0 = time.monotonic()
    rc = d.stop(timeout=STOP_WITHIN + 5)
    return rc, time.monotonic() - t0


@pytest.mark.parametrize("name", ["jobd", "httpd", "fetchd", "mediad"])
def test_notify_ready_status_watchdog_stopping(name):
    require("rscrapectl", "jobd", name)
    with Stack() as s:
        if name != "jobd":
            s.start("jobd")
        d = s.start(name, watch_notify=True,
                    env={"WATCHDOG_USEC": "400000"})
        assert d.note("READY=1")
        d.wait_note("STATUS=", timeout=10,
                    pred=lambda line: re.match(STATUS[name], line))
        # pinged from the loop at half the interval: several within 2 s
        wait_until(lambda: sum(1 for _, line in d.notes
                               if line == "WATCHDOG=1") >= 4,
                   timeout=10, what="WATCHDOG=1 pings")
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        d.wait_note("STOPPING=1", timeout=STOP_WITHIN)
        rc = d.proc.wait(STOP_WITHIN + 5)
        took = time.monotonic() - t0
        assert rc == 0 and took < STOP_WITHIN, (rc, took)


def test_no_watchdog_pings_unless_asked():
    require("rscrapectl", "jobd")
    with Stack() as s:
        d = s.start("jobd", watch_notify=True)
        d.wait_note("STATUS=", timeout=10)
        assert d.note("WATCHDOG=1") is None


@pytest.mark.parametrize("name", ["jobd", "httpd", "fetchd", "mediad"])
def test_check_flag_validates_the_config(name, tmp_path):
    require(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSCRAPE_")}
    exe = rstack.binary(name)

    def check(text):
        conf = tmp_path / "t.conf"
        conf.write_text(text)
        return subprocess.run([exe, "-t", "-c", str(conf)], env=env,
                              capture_output=True, text=True, timeout=30)
    good = open(rstack.CONF).read()
    p = check(good)
    assert p.returncode == 0, p.stderr
    assert "configuration OK" in p.stderr
    p = check(good + "\n[httpd]\nlisten_on = 1\n")
    assert p.returncode != 0
    assert "t.conf:" in p.stderr and "listen_on" in p.stderr, p.stderr
    p = check(good.replace("lease_seconds = 30", "lease_seconds = soon"))
    assert p.returncode != 0 and "lease_seconds" in p.stderr, p.stderr
    p = subprocess.run([exe, "-t", "-c", str(tmp_path / "none.conf")],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "none.conf" in p.stderr
    if name == "httpd":
        p = check(good.replace("listen = 127.0.0.1:8080", "listen = 8080"))
        assert p.returncode != 0 and "httpd.listen" in p.stderr, p.stderr


def test_httpd_sigterm_stops_accepting_and_finishes_requests_in_flight():
    require("rscrapectl", "jobd", "httpd")
    with Stack(request_timeout_ms=20000) as s:
        s.start("jobd")
        h = s.start("httpd", watch_notify=True)
        ws, key = s.workspace_and_key()
        s.create_job(ws, key)
        s.jobd.pause()
        got = {}

        def ask():
            # its own connection: the test's session is not thread-safe
            import requests
            got["r"] = requests.get(s.url(s.jobs_path(ws)), timeout=30,
                                    headers={"Authorization": "Bearer " +
                                             key})
        t = threading.Thread(target=ask)
        t.start()
        try:
            h.wait_note("STATUS=", timeout=10,
                        pred=lambda line: line.startswith("STATUS=1 "))
            h.signal(signal.SIGTERM)
            h.wait_note("STOPPING=1", timeout=STOP_WITHIN)

            def refused():
                try:
                    socket.create_connection(("127.0.0.1", s.port),
                                             timeout=1).close()
                    return False
                except ConnectionRefusedError:
                    return True
            wait_until(refused, timeout=STOP_WITHIN,
                       what="httpd to stop accepting")
            assert h.running(), "httpd left with a request in flight"
        finally:
            s.jobd.resume()
            t.join(30)
        r = got["r"]
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 1
        rc, took = timed_stop(h)
        assert rc == 0, h.log_tail()


def test_jobd_sigterm_checkpoints_the_wal_and_exits_0():
    require("rscrapectl", "jobd")
    with Stack() as s:
        s.start("jobd")
        ws = s.workspace()
        for i in range(20):
            s.key(ws, name="k%d" % i)
        db = os.path.join(s.state_dir, "rscrape.db")
        rc, took = timed_stop(s.jobd)
        assert rc == 0 and took < STOP_WITHIN, (rc, took)
        wal = db + "-wal"
        assert not os.path.exists(wal) or os.path.getsize(wal) == 0
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert con.execute("SELECT count(*) FROM api_keys").fetchone()[0] \
                == 20
        finally:
            con.close()


def test_fetchd_sigterm_hands_its_lease_back_at_once():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    with FakeReddit(scenario="small") as fake:
        # a long lease: only a release lets the next worker in quickly
        with Stack(env=fake_env(fake, RSCRAPE_JOBD_LEASE_SECONDS="60")) as s:
            for d in ("jobd", "httpd", "fetchd"):
                s.start(d)
            ws, key = s.workspace_and_key()
            truth = fake.truth(sub="fakesub", limit=50)
            fake.faults([{"path": "/comments/", "times": None,
                          "action": "delay", "seconds": 0.2}])
            job = s.create_job(ws, key, target="fakesub", limit=50,
                               download_media=False)
            path = s.jobs_path(ws, job["id"])
            wait_until(lambda: s.http("GET", path, key=key).json()
                       ["comments_scraped"] > 0, timeout=30, interval=0.05,
                       what="the job to be under way")
            rc, took = timed_stop(s.fetchd)
            assert rc == 0 and took < STOP_WITHIN, (rc, took)

            # the task is queued again now, not after the 60 s lease
            got = s.call("task.lease", {"worker": "probe:1",
                                        "kind": "fetch"})
            assert len(got["tasks"]) == 1, got
            task = got["tasks"][0]
            assert task["job_id"] == job["id"]
            assert task["checkpoint"], "no checkpoint came back"
            s.call("task.release", {"task_id": task["task_id"],
                                    "lease_id": task["lease_id"]})
            fake.reset()
            s.start("fetchd")

            def ended():
                j = s.http("GET", path, key=key).json()
                return j if j["status"] in TERMINAL else None
            j = wait_until(ended, timeout=90, interval=0.2,
                           what="the job to end")
            assert j["status"] == "completed", j
            assert j["posts_scraped"] == truth["posts"]
            assert j["comments_scraped"] == truth["comments"]


def test_mediad_sigterm_hands_its_leases_back_at_once():
    require("rscrapectl", "jobd", "httpd", "fetchd", "mediad")
    with FakeReddit(scenario="small") as fake, \
            Stack(env=fake_env(fake, RSCRAPE_JOBD_LEASE_SECONDS="60",
                               RSCRAPE_MEDIAD_MAX_BYTES="2000000")) as s:
        for d in ("jobd", "httpd", "fetchd", "mediad"):
            s.start(d)
        ws, key = s.workspace_and_key()
        # every media body stalls half way: mediad holds its items
        fake.faults([{"path": "^/(media|ext|gallery)/", "times": None,
                      "action": "slow", "seconds": 60}])
        s.create_job(ws, key, target="fakesub", limit=10,
                     scrape_comments=False)

        def held():
            ping = s.call("ping")
            return sum(w.get("tasks", 0) for w in ping["workers"]
                       if w["kind"] == "media")
        n = wait_until(held, timeout=30, interval=0.1,
                       what="mediad to hold media tasks")
        rc, took = timed_stop(s.mediad)
        assert rc == 0 and took < STOP_WITHIN, (rc, took)
        # handed back: leasable now, not after the 60 s lease
        got = s.call("task.lease", {"worker": "probe:1", "kind": "media",
                                    "max": 64})
        assert len(got["tasks"]) >= n, (n, got)
