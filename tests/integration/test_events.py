"""GET /api/v1/workspaces/{ws}/jobs/{job}/events: Server-Sent Events
following real jobs against the fake Reddit: the first event says
everything, progress arrives as it happens, the stream ends after the
terminal status, Last-Event-ID resumes, a jobd restart (new epoch) makes
the stream re-read the job, keepalives on quiet streams, and streams whose
clients leave are cleaned up."""

import os
import sys
import time

import pytest
import requests

from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

import json  # noqa: E402


def fake_env(fake, **extra):
    env = {
        **reddit_env(fake),
        # slow enough that a job makes several progress reports
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "1500",
        "RSCRAPE_HTTPD_SSE_KEEPALIVE_SECONDS": "1",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def fake():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    f = FakeReddit(scenario="small")
    f.start()
    yield f
    f.stop()


@pytest.fixture
def env(fake, make_stack):
    s = make_stack(daemons=("jobd", "httpd"), env=fake_env(fake))
    ws, key = s.workspace_and_key()
    return s, ws, key


class Stream:
    """An SSE client: events as dicts {id, event, data}, comments apart."""

    def __init__(self, s, ws, key, job, last_id=None, timeout=30):
        headers = {"Authorization": "Bearer " + key,
                   "Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        self.r = s.http_session.get(
            s.url("/api/v1/workspaces/%s/jobs/%s/events" % (ws, job)),
            headers=headers, stream=True, timeout=timeout)
        self.lines = self.r.iter_lines(chunk_size=1, decode_unicode=True) \
            if self.r.status_code == 200 else iter(())
        self.comments = []
        self.ended = False

    def next(self, within=60):
        """The next event, or None when the server ended the stream."""
        ev = {}
        deadline = time.monotonic() + within
        for line in self.lines:
            if time.monotonic() > deadline:      # keepalives keep coming
                raise AssertionError("no event within %d s" % within)
            if line == "":
                if ev:
                    if "data" in ev:
                        ev["data"] = json.loads(ev["data"])
                    return ev
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            field, _, value = line.partition(":")
            ev[field] = value[1:] if value.startswith(" ") else value
        self.ended = True
        return None

    def all(self):
        out = []
        while True:
            ev = self.next()
            if ev is None:
                return out
            out.append(ev)

    def close(self):
        self.r.close()


def seq(ev):
    return int(ev["id"].split("/")[1])


def jobs_path(ws, job=None):
    return "/api/v1/workspaces/%s/jobs" % ws + ("/" + job if job else "")


def test_a_stream_follows_a_real_job_to_its_end(env, fake):
    s, ws, key = env
    truth = fake.truth(sub="fakesub", limit=50)
    job = s.create_job(ws, key, target="fakesub", limit=50,
                       download_media=False)
    st = Stream(s, ws, key, job["id"])
    assert st.r.status_code == 200, st.r.text
    assert st.r.headers["Content-Type"].startswith("text/event-stream")
    assert st.r.headers.get("Cache-Control") == "no-cache"
    first = st.next()
    assert first["event"] == "job"
    assert first["data"]["id"] == job["id"]
    assert first["data"]["status"] == "pending"
    s.start("fetchd")
    evs = [first] + st.all()
    assert st.ended
    assert all("id" in e for e in evs)
    # ids are jobd's seq: increasing along the stream (a "job" event that
    # re-reads the job carries the last seq seen)
    seqs = [seq(e) for e in evs]
    assert seqs == sorted(seqs)
    jobd_seqs = [seq(e) for e in evs if e["event"] != "job"]
    assert len(set(jobd_seqs)) == len(jobd_seqs)
    names = [e["event"] for e in evs]
    assert "progress" in names, names
    statuses = [e["data"]["status"] for e in evs if e["event"] == "status"]
    assert statuses == ["running", "completed"], statuses
    last = evs[-1]
    assert last["event"] == "status"
    assert last["data"]["posts_scraped"] == truth["posts"]
    assert last["data"]["comments_scraped"] == truth["comments"]
    posts = [e["data"]["posts_scraped"] for e in evs if e["event"] ==
             "progress"]
    assert posts == sorted(posts) and posts[-1] == truth["posts"]
    # the job API agrees with the stream's end
    j = s.http("GET", jobs_path(ws, job["id"]), key=key).json()
    assert j["status"] == "completed"
    assert j["posts_scraped"] == truth["posts"]


def test_a_late_joiner_gets_the_final_state_and_the_end(env, fake):
    s, ws, key = env
    truth = fake.truth(sub="fakesub", limit=10)
    s.start("fetchd")
    job = s.create_job(ws, key, target="fakesub", limit=10,
                       download_media=False, scrape_comments=False)
    wait_until(lambda: s.http("GET", jobs_path(ws, job["id"]), key=key)
               .json()["status"] == "completed", 60, 0.1, "job to complete")
    st = Stream(s, ws, key, job["id"])
    evs = st.all()
    assert [e["event"] for e in evs] == ["job"]
    assert evs[0]["data"]["status"] == "completed"
    assert evs[0]["data"]["posts_scraped"] == truth["posts"]


def test_last_event_id_resumes_where_the_client_left(env, fake):
    s, ws, key = env
    truth = fake.truth(sub="fakesub", limit=50)
    job = s.create_job(ws, key, target="fakesub", limit=50,
                       download_media=False)
    st = Stream(s, ws, key, job["id"])
    first = st.next()
    s.start("fetchd")
    seen = [first]
    while len([e for e in seen if e["event"] == "progress"]) < 2:
        ev = st.next()
        assert ev is not None, "stream ended early"
        seen.append(ev)
    st.close()
    last_id = seen[-1]["id"]
    st2 = Stream(s, ws, key, job["id"], last_id=last_id)
    evs = st2.all()
    # what happened after last_id, replayed up to the end (a fresh stream
    # would be one "job" event, or a "job" event and what follows)
    assert all(seq(e) >= seq(seen[-1]) for e in evs)
    assert [e for e in evs if e["event"] == "progress"], evs[:2]
    assert evs[0]["event"] != "job" or seq(evs[0]) > seq(seen[-1])
    end = [e for e in evs if e["event"] == "status"][-1]
    assert end["data"]["status"] == "completed"
    assert end["data"]["posts_scraped"] == truth["posts"]
    # an id from another jobd run cannot be resumed: a fresh snapshot
    bogus = "00000000-0000-4000-8000-000000000000/5"
    st3 = Stream(s, ws, key, job["id"], last_id=bogus)
    evs = st3.all()
    assert [e["event"] for e in evs] == ["job"]
    assert evs[0]["data"]["status"] == "completed"


def test_a_jobd_restart_makes_the_stream_reread_the_job(env):
    s, ws, key = env
    job = s.create_job(ws, key, target="fakesub", limit=10)
    st = Stream(s, ws, key, job["id"])
    first = st.next()
    assert first["event"] == "job" and first["data"]["status"] == "pending"
    s.restart("jobd")
    # events from the new jobd carry a new epoch: httpd sees the gap and
    # sends the job again (once jobd answers)
    r = wait_until(lambda: (lambda r: r if r.status_code != 503 else None)(
        s.http("DELETE", jobs_path(ws, job["id"]), key=key)), 10, 0.05,
        "httpd to reach the new jobd")
    assert r.status_code == 200, r.text
    evs = st.all()
    assert st.ended
    names = [e["event"] for e in evs]
    assert names[-1] in ("status", "job"), names
    assert evs[-1]["data"]["status"] == "cancelled"
    epochs = {e["id"].split("/")[0] for e in evs}
    assert first["id"].split("/")[0] not in epochs or len(epochs) == 1


def test_keepalive_comments_on_a_quiet_stream(env):
    s, ws, key = env
    job = s.create_job(ws, key, target="fakesub", limit=10)
    st = Stream(s, ws, key, job["id"])
    st.next()
    # nothing happens to a pending job with no fetchd: keepalive comments
    # arrive ([httpd] sse_keepalive_seconds = 1)
    t0 = time.monotonic()
    for line in st.lines:
        if line == ": keepalive":
            break
        assert time.monotonic() - t0 < 5, "no keepalive within 5 s"
    st.close()


def test_streams_are_cleaned_up_when_clients_leave(env):
    s, ws, key = env
    job = s.create_job(ws, key, target="fakesub", limit=10)
    streams = [Stream(s, ws, key, job["id"]) for _ in range(5)]
    for st in streams:
        assert st.next()["event"] == "job"

    def nstreams():
        return s.http("GET", "/healthz").json()["components"]["httpd"][
            "event_streams"]
    assert nstreams() == 5
    for st in streams:
        st.close()
    wait_until(lambda: nstreams() == 0, 10, 0.05, "streams to be freed")
    assert s.httpd.running()


def test_errors_are_json(env):
    s, ws, key = env
    job = s.create_job(ws, key, target="fakesub", limit=10)
    path = jobs_path(ws, job["id"]) + "/events"
    r = s.http("GET", path)
    assert r.status_code == 401
    r = s.http("GET", jobs_path(ws, "job_00000000-0000-4000-8000-"
                                    "000000000000") + "/events", key=key)
    assert r.status_code == 404 and r.json()["detail"]
    other_ws, other_key = s.workspace_and_key("other")
    r = s.http("GET", path.replace(ws, other_ws), key=other_key)
    assert r.status_code == 404
    r = s.http("POST", path, key=key)
    assert r.status_code == 405
    # a write-only key still needs read
    wkey = s.key(ws, scopes="write")[0]
    assert s.http("GET", path, key=wkey).status_code == 403


def test_httpd_stops_promptly_with_streams_open(env):
    s, ws, key = env
    job = s.create_job(ws, key, target="fakesub", limit=10)
    st = Stream(s, ws, key, job["id"])
    st.next()
    assert s.httpd.stop(timeout=5) == 0
    assert st.next() is None
    with pytest.raises(requests.ConnectionError):
        s.http("GET", "/healthz", timeout=2)
