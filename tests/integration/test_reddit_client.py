"""fetchd's Reddit client against the fake Reddit, one fresh stack per
test: the OAuth grants, unauthenticated public JSON, token renewal (before
expiry and on a 401), the rate governor under a small budget (no 429 in
steady state) and resuming after kill -9 (fewer requests than a fresh
run). Counts come from the fake's truth and its own request counters."""

import os
import sys
import time

import pytest

from rstack import wait_until

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
SUB = "fakesub"
LIMIT = 50
# what a test may change on the module's fake, put back after each test
FAKE_DEFAULTS = {"budget": 1000, "public_budget": 1000, "window": 600,
                 "token_ttl": 86400}


@pytest.fixture(scope="module")
def fake():
    f = FakeReddit(scenario="small")
    f.start()
    yield f
    f.stop()


@pytest.fixture
def clean_fake(fake):
    fake.reset()
    yield fake
    fake.config(**FAKE_DEFAULTS)
    fake.reset()


def reddit_env(fake, rpm=100000, client=True, **extra):
    env = {"RSCRAPE_REDDIT_API_URL": fake.base,
           "RSCRAPE_REDDIT_PUBLIC_URL": fake.base,
           "RSCRAPE_REDDIT_TOKEN_URL": fake.base + "/api/v1/access_token",
           "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": str(rpm),
           "RSCRAPE_JOBD_LEASE_SECONDS": "3"}
    if client:
        env["RSCRAPE_REDDIT_CLIENT_ID"] = "fake-client-id"
        env["RSCRAPE_REDDIT_CLIENT_SECRET"] = "fake-client-secret"
    env.update(extra)
    return env


def start(make_stack, env):
    s = make_stack(daemons=("jobd", "httpd", "fetchd"), env=env)
    ws, key = s.workspace_and_key()
    return s, ws, key


def create(s, ws, key, **body):
    body.setdefault("target", SUB)
    body.setdefault("limit", LIMIT)
    body.setdefault("download_media", False)
    r = s.http("POST", s.jobs_path(ws), key=key, json=body)
    assert r.status_code == 201, r.text
    return s.jobs_path(ws, r.json()["id"])


def job(s, key, path):
    return s.http("GET", path, key=key).json()


def wait_end(s, key, path, timeout=120):
    return wait_until(lambda: (lambda j: j if j["status"] in TERMINAL
                               else None)(job(s, key, path)),
                      timeout=timeout, interval=0.2, what="the job to end")


def assert_exact(j, truth):
    assert j["status"] == "completed", j
    assert j["posts_scraped"] == truth["posts"], j
    assert j["comments_scraped"] == truth["comments"], j


def reddit_paths(fake):
    """Paths of the Reddit requests the fake answered (admin calls left
    out)."""
    log = fake._call("GET", "/_fake/requests")["requests"]
    return [r["path"] for r in log if not r["path"].startswith("/_fake/")]


# ---------------------------------------------------------------------


def test_password_grant_when_username_and_password_are_set(make_stack,
                                                            clean_fake):
    fake = clean_fake
    truth = fake.truth(sub=SUB, limit=LIMIT)
    s, ws, key = start(make_stack, reddit_env(
        fake, RSCRAPE_REDDIT_USERNAME="fakeuser",
        RSCRAPE_REDDIT_PASSWORD="fakepass"))
    j = wait_end(s, key, create(s, ws, key))
    assert_exact(j, truth)
    st = fake.stats()
    # the fake checked Basic auth (client id + secret) and the form's
    # grant_type=password with this username and password
    assert st.get("grant_password") == 1, st
    assert st.get("grant_client_credentials", 0) == 0, st
    assert st.get("token_401", 0) == 0 and st.get("401", 0) == 0, st
    assert "password grant" in s.fetchd.log_tail(200)


def test_client_credentials_grant_without_username(make_stack, clean_fake):
    fake = clean_fake
    s, ws, key = start(make_stack, reddit_env(fake))
    # asked for at start, before any job, and kept for the first one
    wait_until(lambda: fake.stats().get("grant_client_credentials") == 1,
               timeout=10, interval=0.05, what="the token asked at start")
    assert fake.stats().get("api", 0) == 0
    j = wait_end(s, key, create(s, ws, key, limit=5,
                                scrape_comments=False))
    assert j["status"] == "completed", j
    st = fake.stats()
    assert st.get("grant_client_credentials") == 1, st
    assert st.get("grant_password", 0) == 0, st


def test_a_wrong_password_fails_the_job_naming_the_token_request(
        make_stack, clean_fake):
    fake = clean_fake
    s, ws, key = start(make_stack, reddit_env(
        fake, RSCRAPE_REDDIT_USERNAME="fakeuser",
        RSCRAPE_REDDIT_PASSWORD="wrong"))
    # the token asked for at start says so in the log, before any job
    wait_until(lambda: "the next job asks again" in s.fetchd.log_tail(50),
               timeout=10, interval=0.05, what="the token failure logged")
    assert "invalid_grant" in s.fetchd.log_tail(50)
    j = wait_end(s, key, create(s, ws, key, limit=5))
    assert j["status"] == "failed", j
    assert "access_token" in j["error_message"], j["error_message"]
    assert "invalid_grant" in j["error_message"], j["error_message"]
    assert fake.stats().get("api", 0) == 0


def test_public_json_without_client_id(make_stack, clean_fake):
    fake = clean_fake
    truth = fake.truth(sub=SUB, limit=LIMIT)
    s, ws, key = start(make_stack, reddit_env(fake, client=False))
    assert "no client_id" in s.fetchd.log_tail(50)
    j = wait_end(s, key, create(s, ws, key))
    assert_exact(j, truth)
    st = fake.stats()
    # every answered request was a .json path without Authorization
    # (a bearer header would have been checked, a non-.json path without
    # one refused with a 401)
    assert st.get("token", 0) == 0, st
    assert st.get("401", 0) == 0, st
    assert st["public"] == st["api"] == truth["requests_min"]["total"], st
    paths = reddit_paths(fake)
    assert len(paths) == st["api"]
    assert all(p.split("?")[0].endswith(".json") for p in paths), paths


def test_token_renewed_before_it_expires(make_stack, clean_fake):
    fake = clean_fake
    truth = fake.truth(sub=SUB, limit=LIMIT)
    fake.config(token_ttl=4)
    # ~40 requests at 5 a second: about 8 s, two token lifetimes
    s, ws, key = start(make_stack, reddit_env(fake, rpm=300))
    t0 = time.monotonic()
    j = wait_end(s, key, create(s, ws, key))
    took = time.monotonic() - t0
    assert_exact(j, truth)
    st = fake.stats()
    assert took > 4, took                      # outlived its first token
    assert st.get("401", 0) == 0, st          # never used an expired token
    assert st["grant_client_credentials"] >= 2, st
    assert st["api"] == truth["requests_min"]["total"], st


def test_token_renewed_on_a_401(make_stack, clean_fake):
    fake = clean_fake
    truth = fake.truth(sub=SUB, limit=LIMIT)
    s, ws, key = start(make_stack, reddit_env(fake, rpm=600))
    path = create(s, ws, key)
    wait_until(lambda: job(s, key, path)["comments_scraped"] > 0,
               timeout=30, interval=0.05, what="comments to arrive")
    # the token dies early: the next request meets a 401
    fake.faults([], expire_tokens=True)
    j = wait_end(s, key, path)
    assert_exact(j, truth)
    st = fake.stats()
    assert st["401"] >= 1, st
    assert st["grant_client_credentials"] == 2, st
    # a refused request is asked again, nothing else is spent twice
    assert st["api"] == truth["requests_min"]["total"], st


# rpm 0: no ceiling of fetchd's own; the headers alone must keep it under
@pytest.mark.parametrize("rpm", [100000, 0])
def test_small_budget_is_spent_without_a_single_429(make_stack, clean_fake,
                                                     rpm):
    fake = clean_fake
    truth = fake.truth(sub=SUB, limit=LIMIT)
    # 12 requests per 3 s window: ~40 requests need four windows
    fake.config(budget=12, window=3)
    s, ws, key = start(make_stack, reddit_env(fake, rpm=rpm))
    j = wait_end(s, key, create(s, ws, key))
    assert_exact(j, truth)
    st = fake.stats()
    assert st.get("429", 0) == 0, st
    assert st["api"] == truth["requests_min"]["total"], st
    # the job's own request count is the one Reddit saw
    assert j["progress"]["requests"] == st["api"], j["progress"]


def test_resume_after_kill_spends_fewer_requests_than_a_fresh_run(
        make_stack, clean_fake):
    fake = clean_fake
    truth = fake.truth(sub=SUB, limit=LIMIT)
    s, ws, key = start(make_stack, reddit_env(fake, rpm=600))
    # an undisturbed run first: what the fake saw it spend
    assert_exact(wait_end(s, key, create(s, ws, key)), truth)
    fresh = fake.stats()["api"]
    fake.reset()
    path = create(s, ws, key)
    wait_until(lambda: fake.stats().get("api", 0) >= fresh // 2,
               timeout=60, interval=0.05, what="half the requests")
    s.fetchd.kill()
    before = fake.stats()["api"]
    assert job(s, key, path)["status"] == "running"
    s.start("fetchd")
    j = wait_end(s, key, path)
    assert_exact(j, truth)
    after = fake.stats()["api"] - before
    assert after < fresh, (before, after, fresh)
    # only work that was in flight at the kill is asked again
    assert before + after <= fresh + 8, (before, after, fresh)
