"""Monitor jobs (issue 5) against the fake Reddit's live subreddit: posts
and comments appear while the job runs (driven from here through
/_fake/live), including a burst larger than one listing page, and fetchd
and jobd are killed with SIGKILL in between. The job must hold every post
and comment of the target exactly once (the fake's /_fake/items is the
truth), stay `running`, and stop within a second when cancelled."""

import os
import sys
import time

import pytest

from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

SUB = "livesub"


@pytest.fixture(scope="module")
def env():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    fake = FakeReddit(scenario="small", args=["--budget", "100000"])
    fake.start()
    s = Stack(env={
        **reddit_env(fake),
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "100000",
        "RSCRAPE_MONITOR_MIN_INTERVAL": "1",
        "RSCRAPE_MONITOR_MAX_INTERVAL": "2",
        "RSCRAPE_JOBD_LEASE_SECONDS": "5"})
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
        fake.stop()


def job(s, key, path):
    return s.http("GET", path, key=key).json()


def all_ids(s, key, path, what):
    """Every id of a job's posts or comments, through the results API."""
    out, cursor = [], None
    while True:
        q = "?limit=200" + ("&cursor=" + cursor if cursor else "")
        r = s.http("GET", path + "/" + what + q, key=key)
        assert r.status_code == 200, r.text
        body = r.json()
        out += [x["id"] for x in body[what]]
        cursor = body.get("cursor")
        if not body.get("has_more") or not cursor:
            return out


def caught_up(s, fake, key, path):
    truth = fake.items(sub=SUB)
    j = job(s, key, path)
    assert j["status"] == "running", j
    return (j["posts_scraped"] == len(truth["posts"]) and
            j["comments_scraped"] == len(truth["comments"]))


def wait_caught_up(s, fake, key, path, what):
    wait_until(lambda: caught_up(s, fake, key, path), timeout=60,
               interval=0.2, what=what)


def test_monitor_sees_everything_once_across_kills_and_a_burst(env):
    s, fake, ws, key = env
    r = s.http("POST", s.jobs_path(ws), key=key, json={
        "target": SUB, "mode": "monitor", "limit": 10000,
        "download_media": False})
    assert r.status_code == 201, r.text
    path = s.jobs_path(ws, r.json()["id"])
    # the start: every post there is, with its comments
    wait_caught_up(s, fake, key, path, "the start")
    wait_until(lambda: job(s, key, path)["progress"].get("polls", 0) >= 1,
               timeout=30, interval=0.1, what="a first poll")

    fake.live(SUB, posts=3, comments=10, seed=1)
    wait_caught_up(s, fake, key, path, "new posts and comments")

    # fetchd dies; the target goes on; the next fetchd resumes from the
    # checkpoint with no gap
    s.daemons["fetchd"].kill()
    fake.live(SUB, posts=2, comments=8, seed=2)
    s.start("fetchd")
    wait_caught_up(s, fake, key, path, "what came while fetchd was dead")

    # jobd dies; fetchd keeps its lease and reports when jobd is back
    s.daemons["jobd"].kill()
    fake.live(SUB, posts=2, comments=5, seed=3)
    s.start("jobd")
    wait_caught_up(s, fake, key, path, "what came while jobd was dead")

    # a burst larger than a listing page (100) between two polls
    fake.live(SUB, posts=150, comments=250, seed=4)
    wait_caught_up(s, fake, key, path, "the burst")

    j = job(s, key, path)
    assert j["status"] == "running"
    p = j["progress"]
    assert p["polls"] >= 4
    assert p["last_poll_at"].endswith("Z") and p["next_poll_at"].endswith("Z")
    assert p["new_posts"] >= 157 and p["new_comments"] >= 273, p
    truth = fake.items(sub=SUB)
    posts = all_ids(s, key, path, "posts")
    comments = all_ids(s, key, path, "comments")
    assert sorted(posts) == sorted(truth["posts"])
    assert sorted(comments) == sorted(truth["comments"])

    # quiet now: the polls space out up to max_interval
    wait_until(lambda: job(s, key, path)["progress"]["interval_seconds"] ==
               2, timeout=30, interval=0.2, what="the interval to grow")

    # DELETE: the monitor stops asking Reddit within a second
    assert s.http("DELETE", path, key=key).status_code == 200
    time.sleep(1.0)          # an observation window, not a readiness wait
    settled = fake.stats()["api"]
    time.sleep(2.5)          # longer than max_interval: a poll would show
    assert fake.stats()["api"] == settled, "fetchd still polling"
    assert job(s, key, path)["status"] == "cancelled"


def test_monitor_completes_at_the_limit(env):
    s, fake, ws, key = env
    have = len(fake.items(sub=SUB)["posts"])
    r = s.http("POST", s.jobs_path(ws), key=key, json={
        "target": SUB, "mode": "monitor", "limit": have + 5,
        "scrape_comments": False, "download_media": False})
    assert r.status_code == 201, r.text
    path = s.jobs_path(ws, r.json()["id"])
    wait_until(lambda: job(s, key, path)["posts_scraped"] == have,
               timeout=30, interval=0.1, what="the start")
    assert job(s, key, path)["status"] == "running"
    fake.live(SUB, posts=8, seed=5)
    j = wait_until(lambda: (lambda j: j if j["status"] != "running" else
                            None)(job(s, key, path)), timeout=30,
                   interval=0.1, what="the monitor to complete")
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == have + 5
    assert j["comments_scraped"] == 0


def test_monitor_of_a_user(env):
    """A user's monitor starts with their newest posts, then stores their
    new posts and their new comments (on any subreddit)."""
    s, fake, ws, key = env
    before = fake.items(user="fakeuser")
    r = s.http("POST", s.jobs_path(ws), key=key, json={
        "target": "u/fakeuser", "target_type": "user", "mode": "monitor",
        "limit": 10000, "download_media": False})
    assert r.status_code == 201, r.text
    path = s.jobs_path(ws, r.json()["id"])
    wait_until(lambda: job(s, key, path)["progress"].get("polls", 0) >= 1,
               timeout=30, interval=0.1, what="a first poll")
    assert job(s, key, path)["posts_scraped"] == len(before["posts"])
    made = fake.live("fakesub", posts=2, comments=6, author="fakeuser",
                     seed=6)
    after = fake.items(user="fakeuser")
    assert len(after["posts"]) == len(before["posts"]) + 2
    wait_until(lambda: (lambda j: j["posts_scraped"] == len(after["posts"])
                        and j["comments_scraped"] == 6)(job(s, key, path)),
               timeout=30, interval=0.1, what="the user's new items")
    assert sorted(all_ids(s, key, path, "comments")) == \
        sorted(made["comments"])
    assert s.http("DELETE", path, key=key).status_code == 200
