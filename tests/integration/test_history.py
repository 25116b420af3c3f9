"""History jobs (issue 5) against the fake Reddit: `historysub` has 1500
posts whose listings (new, hot, rising, top/controversial x t) each stop
at 1000, so only their union reaches most of them, plus 60 posts only the
archive has. Exact counts come from the fake's truth."""

import json
import os
import sys

import pytest

from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
ALL = 10000


def make(fake, archive):
    env = {
        **reddit_env(fake),
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "100000",
        "RSCRAPE_JOBD_LEASE_SECONDS": "5"}
    if archive:
        env["RSCRAPE_HISTORY_ARCHIVE_URL"] = fake.base + "/archive"
    s = Stack(env=env)
    for d in ("jobd", "httpd", "fetchd"):
        s.start(d)
    ws, key = s.workspace_and_key()
    return s, ws, key


@pytest.fixture(scope="module")
def env():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    # four jobs of ~200 requests each share one client id: a budget that
    # no test reaches, so the rate governor never slows them down
    spec = {"seed": 5, "subreddits": [
        {"name": "historysub", "posts": 1500, "history": True,
         "archive_only": 60, "comments": {"zero": 0.9, "mean": 2}}],
        "users": [{"name": "histuser", "posts": 30, "comments": 80}]}
    fake = FakeReddit(scenario=json.dumps(spec), args=["--budget", "100000"])
    fake.start()
    stacks = []
    try:
        stacks.append(make(fake, True))
        stacks.append(make(fake, False))
        yield fake, stacks[0], stacks[1]
    except Exception:
        for s, _, _ in stacks:
            sys.stderr.write(s.logs())
        raise
    finally:
        for s, _, _ in stacks:
            s.close()
        fake.stop()


def create(s, ws, key, **body):
    body.setdefault("target", "historysub")
    body.setdefault("mode", "history")
    body.setdefault("download_media", False)
    r = s.http("POST", s.jobs_path(ws), key=key, json=body)
    assert r.status_code == 201, r.text
    return s.jobs_path(ws, r.json()["id"])


def wait_end(s, key, path, timeout=180):
    def done():
        j = s.http("GET", path, key=key).json()
        return j if j["status"] in TERMINAL else None
    return wait_until(done, timeout=timeout, interval=0.2,
                      what="the history job to end")


def test_history_with_the_archive_reaches_every_post(env):
    fake, (s, ws, key), _ = env
    truth = fake.truth(sub="historysub", limit=ALL)
    fake.reset()
    j = wait_end(s, key, create(s, ws, key, limit=ALL))
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["archive_total"]
    assert j["comments_scraped"] == truth["archive_comments"]
    p = j["progress"]
    assert p["archive_only"] == truth["archive_only"]
    src = p["sources"]
    assert src["new"]["posts"] == truth["listings"]["new"]
    assert src["new"]["posts"] + src["archive"]["posts"] + sum(
        v["posts"] for k, v in src.items() if k not in ("new", "archive")) \
        == truth["archive_total"]
    assert src["archive"]["state"] == "done"
    # once new + the archive cover all time, time-windowed listings can
    # only repeat what is known: no request is spent on them
    for k, v in src.items():
        if "/" in k:
            assert v["state"] == "skipped" and v["requests"] == 0, (k, v)
    stats = fake.stats()
    # every request fetchd counted reached the fake (Reddit or archive)
    assert stats["api"] + stats["archive"] == p["requests"], (stats, p)


def test_history_without_the_archive_gets_what_the_listings_reach(env):
    fake, _, (s, ws, key) = env
    truth = fake.truth(sub="historysub", limit=ALL)
    j = wait_end(s, key, create(s, ws, key, limit=ALL))
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["listing_union"]
    assert j["comments_scraped"] == truth["listing_union_comments"]
    assert j["progress"]["archive_only"] == 0
    src = j["progress"]["sources"]
    assert "archive" not in src
    assert src["new"]["posts"] == truth["listings"]["new"]
    assert src["top/all"]["state"] == "done"
    # new reaches back ~333 days: the day/week/month windows lie inside it
    for t in ("hour", "day", "week", "month"):
        assert src["top/" + t]["state"] == "skipped", src


def test_history_stops_at_the_limit(env):
    fake, (s, ws, key), _ = env
    j = wait_end(s, key, create(s, ws, key, limit=1234,
                                scrape_comments=False))
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == 1234
    assert j["comments_scraped"] == 0


def test_history_resumes_after_fetchd_is_killed(env):
    fake, (s, ws, key), _ = env
    truth = fake.truth(sub="historysub", limit=ALL)
    fake.reset()
    path = create(s, ws, key, limit=ALL)
    wait_until(lambda: s.http("GET", path, key=key).json()
               ["posts_scraped"] > 1100, timeout=60, interval=0.05,
               what="the archive to be under way")
    s.daemons["fetchd"].kill()
    s.start("fetchd")
    j = wait_end(s, key, path)
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["archive_total"]
    assert j["comments_scraped"] == truth["archive_comments"]


def test_history_of_a_user(env):
    """A user's history: their submissions through every submitted sort
    and the archive's author search, and their own comments."""
    fake, (s, ws, key), _ = env
    truth = fake.truth(user="histuser", limit=ALL)
    j = wait_end(s, key, create(s, ws, key, target="u/histuser",
                                target_type="user", limit=ALL))
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["posts_total"] == 30
    assert j["comments_scraped"] == truth["comments"] == 80
    src = j["progress"]["sources"]
    assert src["new"]["posts"] == 30
    assert src["archive"]["state"] == "done"


def test_history_goes_on_without_an_archive_that_fails(env):
    """An archive that answers an error is left out (its source shows
    failed); the job completes with what Reddit's listings reach."""
    fake, (s, ws, key), _ = env
    truth = fake.truth(sub="historysub", limit=ALL)
    fake.faults([{"path": "^/archive/api/posts/search", "times": None,
                  "action": "status", "status": 404}])
    try:
        j = wait_end(s, key, create(s, ws, key, limit=ALL))
    finally:
        fake.reset()
    assert j["status"] == "completed", j
    assert j["progress"]["sources"]["archive"]["state"] == "failed"
    assert j["posts_scraped"] == truth["listing_union"]
    assert j["comments_scraped"] == truth["listing_union_comments"]
