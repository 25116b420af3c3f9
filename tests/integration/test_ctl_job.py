"""rscrapectl job create / job watch against the real stack and the fake
Reddit: the id alone on a line, plain lines when stdout is not a terminal,
a progress bar redrawn in place on a terminal (a pty), exit status by how
the job ended, and usage errors."""

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from conftest import require
from rstack import backtrace, binary, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402


@pytest.fixture(scope="module")
def fake():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    f = FakeReddit(scenario="small")
    f.start()
    yield f
    f.stop()


@pytest.fixture
def env(fake, make_stack):
    s = make_stack(daemons=("jobd", "fetchd"), env={
        **reddit_env(fake),
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "3000"})
    return s, s.workspace()


def test_create_then_watch_prints_lines_to_the_end(env, fake):
    s, ws = env
    truth = fake.truth(sub="fakesub", limit=20)
    p = s.ctl("job", "create", ws, "r/fakesub", "--limit", "20",
              "--no-media")
    job = p.stdout.strip()
    assert job.startswith("job_") and "\n" not in job
    w = s.ctl("job", "watch", job, timeout=120)
    lines = w.stdout.strip().split("\n")
    assert "\r" not in w.stdout and "\033" not in w.stdout
    assert all(ln.startswith(job) for ln in lines), lines
    assert len(lines) >= 2
    last = lines[-1]
    assert last.startswith("%s completed: %d posts, %d comments" % (
        job, truth["posts"], truth["comments"])), last
    # a finished job: watch prints its state and ends at once
    w2 = s.ctl("job", "watch", job)
    assert w2.returncode == 0
    assert w2.stdout.strip().split("\n")[-1] == last


def test_create_watch_json(env, fake):
    s, ws = env
    truth = fake.truth(user="fakeuser", limit=100)
    p = s.ctl("--json", "job", "create", ws, "u/fakeuser", "--no-media",
              "--watch", timeout=120)
    import json
    lines = p.stdout.strip().split("\n")
    assert lines[0].startswith("job_")
    final = json.loads("\n".join(lines[1:]))
    assert final["status"] == "completed"
    assert final["target_type"] == "user" and final["target"] == "fakeuser"
    assert final["posts_scraped"] == truth["posts"]
    assert final["comments_scraped"] == truth["comments"]


def test_watch_on_a_terminal_draws_a_bar(env):
    s, ws = env
    job = s.ctl("job", "create", ws, "fakesub", "--limit", "30",
                "--no-media").stdout.strip()
    master, slave = pty.openpty()
    p = subprocess.Popen([binary("rscrapectl"), "-c", s.conf, "job",
                          "watch", job], env=s.env, cwd=s.dir,
                         stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        assert p.wait(10) == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
        os.close(master)
    text = out.decode()
    assert "\r\033[K[" in text
    assert "[" + "#" * 30 + "] 100% completed" in text
    assert text.rstrip().split("\n")[-1].startswith(job + " completed:")


def test_failed_and_cancelled_jobs_exit_1(env):
    s, ws = env
    p = s.ctl("job", "create", ws, "bannedsub", "--watch", check=False,
              timeout=60)
    assert p.returncode == 1
    last = p.stdout.strip().split("\n")[-1]
    assert " failed: " in last and "banned" in last.lower(), last
    # cancelled while being watched (no fetchd: it stays pending)
    s.fetchd.stop()
    job = s.ctl("job", "create", ws, "fakesub", "--no-media").stdout.strip()
    w = subprocess.Popen([binary("rscrapectl"), "-c", s.conf, "job", "watch",
                          job], env=s.env, cwd=s.dir, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # the first line means watch is following
        line = w.stdout.readline()
        assert line.startswith(job)
        s.call("job.cancel", {"workspace_id": ws, "job_id": job})
        try:
            rc = w.wait(15)
        except subprocess.TimeoutExpired:
            pytest.fail("watch did not end after the cancel:\n"
                        + backtrace(w.pid))
        assert rc == 1, w.stderr.read()
        assert w.stdout.read().strip().split("\n")[-1].startswith(
            job + " cancelled:")
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
        w.stdout.close()
        w.stderr.close()


@pytest.mark.parametrize("args,code,msg", [
    (["job"], 2, "job create|watch"),
    (["job", "watch"], 2, "job watch JOB_ID"),
    (["job", "create", "ws_x"], 2, "job create WORKSPACE_ID TARGET"),
    (["job", "create", "W", "T", "--limit", "0"], 2, "--limit"),
    (["job", "create", "W", "T", "--mode", "fast"], 2, "--mode"),
    (["job", "watch", "J", "--limit", "5"], 2, "go with job create"),
    (["job", "watch", "job_00000000-0000-4000-8000-000000000000"], 1,
     "no such job"),
    (["job", "create", "WS", "python", "--plugin", "nope"], 1,
     "not a plugin"),
])
def test_usage_and_errors(env, args, code, msg):
    s, ws = env
    args = [ws if a == "WS" else a for a in args]
    p = s.ctl(*args, check=False)
    assert p.returncode == code, (p.stdout, p.stderr)
    assert msg in p.stderr, p.stderr
