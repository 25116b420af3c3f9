"""Full jobs through all the real processes (httpd, jobd, fetchd) against
the fake Reddit: exact counts from the fake's own truth (never from the
scraper), the request bound of DESIGN.md §5, user targets, and the
targets that must fail with a message saying why."""

import os
import sys
import time

import pytest

from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")


@pytest.fixture(scope="module")
def env():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    fake = FakeReddit(scenario="small")
    fake.start()
    s = Stack(env={
        **reddit_env(fake),
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "100000",
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


def run_job(s, ws, key, timeout=120, **body):
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key, json=body)
    assert r.status_code == 201, r.text
    path = "/api/v1/workspaces/%s/jobs/%s" % (ws, r.json()["id"])

    def done():
        j = s.http("GET", path, key=key).json()
        return j if j["status"] in TERMINAL else None
    return wait_until(done, timeout=timeout, interval=0.2,
                      what="the job to end")


def test_full_subreddit_job_has_exact_counts_at_the_request_bound(env):
    s, fake, ws, key = env
    fake.reset()
    truth = fake.truth(sub="fakesub", limit=50)
    j = run_job(s, ws, key, target="fakesub", limit=50,
                download_media=False)
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["posts"]
    assert j["comments_scraped"] == truth["comments"]
    assert j["progress"]["listing_exhausted"] is True
    stats = fake.stats()
    # DESIGN.md §5: listing pages + trees + morechildren batches + continues
    assert stats["api"] == truth["requests_min"]["total"], stats
    # every answer big enough to compress came gzipped, and was read
    assert stats.get("answers_gzip", 0) >= truth["requests_min"]["total"] \
        // 2, stats


def test_media_records_follow_the_posts(env):
    s, fake, ws, key = env
    truth = fake.truth(sub="fakesub", limit=50)
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
               json={"target": "fakesub", "limit": 50,
                     "scrape_comments": False})
    path = "/api/v1/workspaces/%s/jobs/%s" % (ws, r.json()["id"])
    j = wait_until(lambda: (lambda j: j if j["progress"].get("phase") in
                            ("media", "done") else None)(
        s.http("GET", path, key=key).json()), timeout=60, interval=0.2,
        what="fetch to finish")
    assert j["progress"]["media"] == truth["media"]["items"]
    assert j["progress"]["media_failed"] == truth["media"]["failed"]
    s.http("DELETE", path, key=key)


def test_user_job(env):
    s, fake, ws, key = env
    truth = fake.truth(user="fakeuser", limit=100)
    j = run_job(s, ws, key, target="u/fakeuser", target_type="user",
                download_media=False)
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["posts"]
    assert j["comments_scraped"] == truth["comments"]


@pytest.mark.parametrize("target,target_type,word", [
    ("privatesub", "subreddit", "private"),
    ("bannedsub", "subreddit", "banned"),
    ("quarantinedsub", "subreddit", "quarantined"),
    ("nosuchsub", "subreddit", "not"),
    ("suspendeduser", "user", "suspended"),
    ("nosuchuser", "user", "not"),
])
def test_unavailable_targets_fail_saying_why(env, target, target_type, word):
    s, fake, ws, key = env
    j = run_job(s, ws, key, target=target, target_type=target_type)
    assert j["status"] == "failed", j
    assert word in j["error_message"].lower(), j["error_message"]
    assert target in j["error_message"], j["error_message"]


def test_cancel_stops_the_fetch_within_a_second(env):
    s, fake, ws, key = env
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
               json={"target": "fakesub", "limit": 50,
                     "download_media": False})
    path = "/api/v1/workspaces/%s/jobs/%s" % (ws, r.json()["id"])
    wait_until(lambda: s.http("GET", path, key=key).json()
               ["comments_scraped"] > 0, timeout=30, interval=0.05,
               what="comments to arrive")
    assert s.http("DELETE", path, key=key).status_code == 200
    before = fake.stats()["api"]
    # an observation window, not a readiness wait: within a second of the
    # cancel fetchd must stop asking Reddit for anything
    time.sleep(1.5)
    settled = fake.stats()["api"]
    time.sleep(1.0)
    assert fake.stats()["api"] == settled, "fetchd still fetching"
    assert settled - before <= 3
    j = s.http("GET", path, key=key).json()
    assert j["status"] == "cancelled"
    assert 0 < j["comments_scraped"]


def start_job_under_way(s, ws, key):
    """A 50-post job, once it has stored a good part of its comments:
    (its path, the fake's truth)."""
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
               json={"target": "fakesub", "limit": 50,
                     "download_media": False})
    path = "/api/v1/workspaces/%s/jobs/%s" % (ws, r.json()["id"])
    wait_until(lambda: s.http("GET", path, key=key).json()
               ["comments_scraped"] > 100, timeout=30, interval=0.02,
               what="the job to be well under way")
    return path


def wait_job_end(s, key, path):
    def ended():
        r = s.http("GET", path, key=key)
        if r.status_code != 200:
            return None         # httpd has not reached a new jobd yet
        j = r.json()
        return j if j["status"] in TERMINAL else None
    return wait_until(ended, timeout=90, interval=0.2, what="the job to end")


def assert_counts_are_the_fakes(s, key, path, j, truth):
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["posts"]
    assert j["comments_scraped"] == truth["comments"]
    c = s.http("GET", path + "/comments", key=key, params={"limit": 1})
    assert c.status_code == 200 and c.json()["total"] == truth["comments"]


def test_fetchd_killed_mid_job_resumes_and_counts_are_exact(env):
    s, fake, ws, key = env
    truth = fake.truth(sub="fakesub", limit=50)
    path = start_job_under_way(s, ws, key)
    s.daemons["fetchd"].kill()
    s.start("fetchd")
    assert_counts_are_the_fakes(s, key, path, wait_job_end(s, key, path),
                                truth)


def test_jobd_killed_mid_job_loses_nothing_and_counts_are_exact(env):
    """fetchd has reports in flight (it sends the next while jobd stores
    one) when jobd dies: they are sent again, in order, to the restarted
    jobd, and the finished counts are exactly the fake's."""
    s, fake, ws, key = env
    truth = fake.truth(sub="fakesub", limit=50)
    path = start_job_under_way(s, ws, key)
    # stopped first, so that fetchd's next reports are sent and never
    # answered: fetchd goes on asking Reddit (and sending what comes
    # back) until jobd is too far behind; the jobd that comes back must
    # get those reports again, in order
    asked = fake.stats()["api"]
    s.daemons["jobd"].pause()
    wait_until(lambda: fake.stats()["api"] >= asked + 3, timeout=30,
               interval=0.02, what="fetchd to go on while jobd is stopped")
    s.daemons["jobd"].kill()
    s.start("jobd")
    assert_counts_are_the_fakes(s, key, path, wait_job_end(s, key, path),
                                truth)


def test_transient_faults_are_retried_and_counts_stay_exact(env):
    s, fake, ws, key = env
    truth = fake.truth(sub="fakesub", limit=50)
    fake.faults([
        {"path": "/r/fakesub/new", "times": 1, "action": "status",
         "status": 503},
        {"path": "/comments/", "times": 2, "action": "truncate"},
        {"path": "/comments/", "times": 1, "action": "nonjson"},
        {"path": "/comments/", "times": 1, "action": "badgzip"},
        {"path": "/api/morechildren", "times": 1, "action": "429",
         "retry_after": 1},
        {"path": "/comments/", "times": 1, "action": "expire"},
    ])
    try:
        j = run_job(s, ws, key, target="fakesub", limit=50,
                    download_media=False)
    finally:
        fake.reset()
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["posts"]
    assert j["comments_scraped"] == truth["comments"]


def test_retries_run_out_and_the_job_fails_naming_the_request(env):
    s, fake, ws, key = env
    fake.faults([{"path": "/r/fakesub/about", "times": None,
                  "action": "status", "status": 502}])
    try:
        j = run_job(s, ws, key, target="fakesub", limit=5,
                    download_media=False)
    finally:
        fake.reset()
    assert j["status"] == "failed", j
    assert "/r/fakesub/about" in j["error_message"], j["error_message"]
    assert "502" in j["error_message"], j["error_message"]


def test_a_body_that_never_decodes_fails_the_job_saying_so(env):
    s, fake, ws, key = env
    fake.faults([{"path": "^/r/fakesub/new", "times": None,
                  "action": "badgzip"}])
    try:
        j = run_job(s, ws, key, target="fakesub", limit=5,
                    download_media=False)
        bad = fake.stats().get("injected_badgzip", 0)
    finally:
        fake.reset()
    assert j["status"] == "failed", j
    assert "/r/fakesub/new" in j["error_message"], j["error_message"]
    assert "gzip" in j["error_message"], j["error_message"]
    assert bad == 5, bad                    # RD_MAX_RETRIES + 1 attempts
