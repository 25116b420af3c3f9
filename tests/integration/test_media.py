"""mediad end to end: real jobs through httpd, jobd, fetchd and mediad
against the fake Reddit's `media` scenario (real JPEG/PNG/GIF/MP4 bytes, a
DASH video and audio pair, a video without audio, a gallery with failed
items, a duplicate URL, identical bytes at two URLs, an HTML page at an
image URL, an oversized file, a body cut short).

Everything expected comes from the fake's truth(): which items end
downloaded or failed and the SHA-256 of every file. What is checked is
what an operator would look at: the job's counts, the files in the store
(named by their own SHA-256, nothing partial, nothing outside media/),
and the media rows in the database."""

import collections
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys

import pytest

from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
MAX_BYTES = 2000000          # below the fake's 3 MiB oversized file
SUB = "mediasub"
NO_FFMPEG = {"PATH": "/nonexistent-bin"}


@pytest.fixture(scope="module")
def fake():
    require("rscrapectl", "jobd", "httpd", "fetchd", "mediad")
    f = FakeReddit(scenario="media")
    f.start()
    yield f
    f.stop()


@pytest.fixture
def stacks(request):
    made = []
    yield made
    for s in made:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            sys.stderr.write(s.logs())
        s.close()


def media_stack(stacks, fake, mediad_env=None, **env):
    e = {
        **reddit_env(fake),
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "100000",
        "RSCRAPE_JOBD_LEASE_SECONDS": "3",
        "RSCRAPE_MEDIAD_MAX_BYTES": str(MAX_BYTES),
    }
    e.update(env)
    s = Stack(env=e)
    stacks.append(s)
    for d in ("jobd", "httpd", "fetchd"):
        s.start(d)
    s.start("mediad", env=mediad_env)
    s.ws, s.key = s.workspace_and_key()
    return s


def job_path(s, job_id):
    return "/api/v1/workspaces/%s/jobs/%s" % (s.ws, job_id)


def create(s, **body):
    body.setdefault("target", SUB)
    body.setdefault("scrape_comments", False)
    r = s.http("POST", "/api/v1/workspaces/%s/jobs" % s.ws, key=s.key,
               json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def get(s, job_id):
    return s.http("GET", job_path(s, job_id), key=s.key).json()


def wait_end(s, job_id, timeout=90):
    return wait_until(lambda: (lambda j: j if j["status"] in TERMINAL
                               else None)(get(s, job_id)),
                      timeout=timeout, interval=0.1, what="the job to end")


def run_job(s, **body):
    return wait_end(s, create(s, **body))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 16), b""):
            h.update(b)
    return h.hexdigest()


def store_files(state_dir):
    """{sha256: relative path} of the store, checking on the way that
    every file is named by its own content, that nothing partial is
    visible and that nothing was written outside state_dir/media."""
    assert set(os.listdir(state_dir)) <= {
        "rscrape.db", "rscrape.db-wal", "rscrape.db-shm", "media"}, \
        os.listdir(state_dir)
    media = os.path.join(state_dir, "media")
    files = {}
    for d in sorted(os.listdir(media)):
        if d == ".tmp":
            continue
        assert len(d) == 2 and all(c in "0123456789abcdef" for c in d), d
        for name in os.listdir(os.path.join(media, d)):
            sha, _, ext = name.partition(".")
            assert ext and ext.isalnum() and ext.islower(), name
            path = os.path.join(media, d, name)
            assert sha256_file(path) == sha, "%s is not what it says" % name
            assert name[:2] == d
            assert sha not in files, "%s stored twice" % sha
            files[sha] = os.path.join("media", d, name)
    return files


def tmp_files(state_dir):
    return os.listdir(os.path.join(state_dir, "media", ".tmp"))


def url_rows(s):
    """media_urls rows by URL without its query (the truth names files by
    path; Reddit's URLs carry ?width=... or ?source=fallback), read-only,
    as an operator would query them."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        s.state_dir, "rscrape.db"), uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {r["url"].split("?")[0]: dict(r) for r in db.execute(
            "SELECT * FROM media_urls")}
    finally:
        db.close()


def streams(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_type", "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    return sorted(st["codec_type"] for st in json.loads(out)["streams"])


def truth_items(fake):
    t = fake.truth(sub=SUB, limit=100, detail=True)
    return t, t["media"]["list"]


def check_failures(rows, items):
    reasons = {"html instead of image": "html",
               "body cut short of Content-Length": "cut short"}
    for it in items:
        if it["expect"] != "failed" or it["url"] is None:
            continue
        r = rows[it["url"].split("?")[0]]
        assert r["sha256"] is None and r["path"] is None, r
        want = reasons.get(it["reason"], "max_bytes")
        assert want in r["error"].lower(), (it, r["error"])


def test_media_job_with_ffmpeg_stores_every_item_once(stacks, fake):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (tools/deps.sh installs it)")
    s = media_stack(stacks, fake)
    truth, items = truth_items(fake)
    fake.reset()
    j = run_job(s, limit=100)
    assert j["status"] == "completed", j
    assert j["media_downloaded"] == truth["media"]["downloaded"], j
    assert j["progress"]["media_failed"] == truth["media"]["failed"], j
    assert j["progress"]["media"] == truth["media"]["items"]

    files = store_files(s.state_dir)
    assert tmp_files(s.state_dir) == []
    rows = url_rows(s)
    expected = set()
    muxed = 0
    for it in items:
        if it["expect"] != "downloaded":
            continue
        r = rows[it["url"].split("?")[0]]
        assert r["path"] == files.get(r["sha256"]), (it, r)
        if it["type"] == "video" and it["has_audio"]:
            # one file holding both tracks, not re-encoded
            assert r["audio_merged"] == 1, r
            assert streams(os.path.join(s.state_dir, r["path"])) == \
                ["audio", "video"]
            if r["sha256"] not in expected:
                muxed += 1
            expected.add(r["sha256"])
        elif it["type"] == "video":
            assert r["sha256"] == it["video_sha256"]
            assert not r["audio_merged"] and r["audio_path"] is None
            expected.add(it["video_sha256"])
        else:
            assert r["sha256"] == it["sha256"], (it, r)
            assert r["bytes"] == it["bytes"]
            assert r["content_type"] == it["content_type"]
            expected.add(it["sha256"])
    # one file per distinct content: the duplicate URL and the identical
    # bytes at two URLs are stored once, the merged video replaces its
    # two tracks
    assert set(files) == expected
    assert muxed >= 1
    check_failures(rows, items)
    # the URL two posts share (and the crossposted video) was fetched once
    ok_urls = {it["url"].split("?")[0] for it in items
               if it["expect"] == "downloaded"}
    fetched = collections.Counter(
        fake.base + r["path"].split("?")[0] for r in fake_requests(fake))
    assert len([it for it in items if it["expect"] == "downloaded"]) > \
        len(ok_urls)
    assert {u: fetched[u] for u in ok_urls} == {u: 1 for u in ok_urls}

    # the same target again: every URL is known, nothing is fetched twice
    fake.reset()
    j2 = run_job(s, limit=100)
    assert j2["status"] == "completed", j2
    assert j2["media_downloaded"] == truth["media"]["downloaded"]
    assert set(store_files(s.state_dir)) == expected
    ok_urls = {it["url"] for it in items if it["expect"] == "downloaded"}
    ok_urls = {u.split("?")[0] for u in ok_urls}
    got = [r["path"] for r in fake_requests(fake)
           if fake.base + r["path"].split("?")[0] in ok_urls]
    assert got == [], got


def fake_requests(fake):
    return fake._call("GET", "/_fake/requests")["requests"]


def test_media_job_without_ffmpeg_keeps_both_tracks(stacks, fake):
    s = media_stack(stacks, fake, mediad_env=NO_FFMPEG)
    truth, items = truth_items(fake)
    j = run_job(s, limit=100)
    assert j["status"] == "completed", j
    assert j["media_downloaded"] == truth["media"]["downloaded"], j
    assert j["progress"]["media_failed"] == truth["media"]["failed"], j
    files = store_files(s.state_dir)
    assert tmp_files(s.state_dir) == []
    # every distinct content the truth names, once: video and audio apart
    assert len(files) == truth["media"]["unique_files"]
    want = set()
    for it in items:
        for k in ("sha256", "video_sha256", "audio_sha256"):
            if it["expect"] == "downloaded" and k in it:
                want.add(it[k])
    assert set(files) == want
    rows = url_rows(s)
    for it in items:
        if it["expect"] == "downloaded" and it["type"] == "video" and \
                it["has_audio"]:
            r = rows[it["url"].split("?")[0]]
            assert r["audio_merged"] == 0, r
            assert r["sha256"] == it["video_sha256"]
            assert r["audio_sha256"] == it["audio_sha256"]
            assert r["audio_path"] == files[it["audio_sha256"]]
    check_failures(rows, items)


def test_mediad_killed_mid_download_resumes_with_exact_counts(stacks, fake):
    s = media_stack(stacks, fake, mediad_env=NO_FFMPEG)
    truth, items = truth_items(fake)
    big = [it for it in items if it["expect"] == "downloaded" and
           it["type"] == "image"][0]
    path = big["url"][len(fake.base):]
    # the body stops half way for a long time, once
    fake.reset()
    fake.faults([{"action": "slow", "path": "^%s$" % path, "seconds": 60,
                  "times": 1}])
    job = create(s, limit=100)
    wait_until(lambda: tmp_files(s.state_dir) and
               fake.stats().get("injected_slow"), timeout=60,
               what="a download half way")
    wait_until(lambda: any(os.path.getsize(os.path.join(
        s.state_dir, "media", ".tmp", f)) > 0 for f in tmp_files(
        s.state_dir)), timeout=10, what="bytes in a temp file")
    s.mediad.proc.send_signal(signal.SIGKILL)
    s.mediad.proc.wait()
    assert tmp_files(s.state_dir), "the partial file is not left"
    assert big["sha256"] not in store_files(s.state_dir)
    s.start("mediad", env=NO_FFMPEG)
    # temp files of the dead process are gone as soon as it is ready
    assert tmp_files(s.state_dir) == [] or \
        all(f.startswith("%d-" % s.mediad.pid) for f in tmp_files(
            s.state_dir))
    j = wait_end(s, job)
    assert j["status"] == "completed", j
    assert j["media_downloaded"] == truth["media"]["downloaded"], j
    assert j["progress"]["media_failed"] == truth["media"]["failed"], j
    files = store_files(s.state_dir)
    assert len(files) == truth["media"]["unique_files"]
    assert big["sha256"] in files
    assert tmp_files(s.state_dir) == []
    fake.reset()


def mediad_tasks(s):
    ping = s.call("ping")
    return sum(w.get("tasks", 0) for w in ping.get("workers", [])
               if w.get("kind") == "media")


def test_cancel_drops_pending_media(stacks, fake):
    s = media_stack(stacks, fake, mediad_env=NO_FFMPEG,
                    RSCRAPE_MEDIAD_PARALLEL="1")
    truth, items = truth_items(fake)
    fake.reset()
    # every media body takes a while: most items are still queued
    fake.faults([{"action": "slow", "path": "^/media/", "seconds": 1.5}])
    job = create(s, limit=100)
    wait_until(lambda: fake.stats().get("injected_slow"), timeout=60,
               what="the first download")
    r = s.http("DELETE", job_path(s, job), key=s.key)
    assert r.status_code == 200, r.text
    at_cancel = fake.stats().get("media", 0)
    j = wait_end(s, job)
    assert j["status"] == "cancelled"
    wait_until(lambda: mediad_tasks(s) == 0 and tmp_files(s.state_dir) ==
               [], timeout=10, what="mediad to drop the job's items")
    # what was in flight may end; nothing queued is fetched afterwards
    # (mediad holds 2 x parallel items)
    assert fake.stats().get("media", 0) <= at_cancel + 2
    assert get(s, job)["media_downloaded"] < truth["media"]["downloaded"]
    assert s.mediad.running()
    store_files(s.state_dir)
    # mediad goes on with other work
    fake.faults([])
    fake.reset()
    j2 = run_job(s, limit=100)
    assert j2["status"] == "completed", j2
    assert j2["media_downloaded"] == truth["media"]["downloaded"]


def test_redirects_only_to_http(stacks, fake):
    """A media URL that redirects to file:// fails; the job goes on."""
    s = media_stack(stacks, fake, mediad_env=NO_FFMPEG)
    truth, items = truth_items(fake)
    urls = [i["url"] for i in items]
    it = [i for i in items if i["expect"] == "downloaded" and
          i["type"] == "image" and urls.count(i["url"]) == 1][0]
    fake.reset()
    fake.faults([{"action": "redirect", "path": "^%s$" % it["url"][len(
        fake.base):], "location": "file:///etc/passwd"}])
    j = run_job(s, limit=100)
    fake.faults([])
    fake.reset()
    assert j["status"] == "completed", j
    assert j["media_downloaded"] == truth["media"]["downloaded"] - 1
    r = url_rows(s)[it["url"].split("?")[0]]
    assert r["path"] is None and r["error"], r
    store_files(s.state_dir)


def test_ffmpeg_that_hangs_or_fails_keeps_the_tracks_apart(stacks, fake,
                                                            tmp_path):
    """ffmpeg runs as a watched child: one that hangs is killed after
    [mediad] mux_timeout, one that fails is reported; either way the video
    is kept with its audio beside it and the job completes."""
    truth, items = truth_items(fake)
    for script, why in (("exec sleep 60", "killed"),
                        ("echo 'Invalid data found' >&2; exit 1",
                         "status 1")):
        bindir = tmp_path / why.replace(" ", "")
        bindir.mkdir()
        ff = bindir / "ffmpeg"
        ff.write_text("#!/bin/sh\n%s\n" % script)
        ff.chmod(0o755)
        s = media_stack(stacks, fake, mediad_env={"PATH": str(bindir)},
                        RSCRAPE_MEDIAD_MUX_TIMEOUT="1")
        j = run_job(s, limit=100)
        assert j["status"] == "completed", j
        assert j["media_downloaded"] == truth["media"]["downloaded"], j
        files = store_files(s.state_dir)
        assert len(files) == truth["media"]["unique_files"]
        assert tmp_files(s.state_dir) == []
        rows = url_rows(s)
        for it in items:
            if it["expect"] == "downloaded" and it["type"] == "video" and \
                    it["has_audio"]:
                r = rows[it["url"].split("?")[0]]
                assert r["audio_merged"] == 0, r
                assert r["audio_sha256"] == it["audio_sha256"]
        assert "ffmpeg" in s.mediad.log_tail(200) and \
            why in s.mediad.log_tail(200)
        s.close()


def test_transfers_are_capped_in_all_and_per_host(stacks, fake):
    """[mediad] parallel and per_host bound what one host sees at once
    (every file of the fake comes from one host). Every answer pauses
    half way; the fake counts the answers paused at once, each one a
    transfer mediad holds open."""
    truth, items = truth_items(fake)
    for parallel, per_host, want in ((8, 2, 2), (3, 8, 3)):
        s = media_stack(stacks, fake, mediad_env=NO_FFMPEG,
                        RSCRAPE_MEDIAD_PARALLEL=str(parallel),
                        RSCRAPE_MEDIAD_PER_HOST=str(per_host),
                        RSCRAPE_MEDIAD_MAX_BYTES="209715200")
        fake.reset()
        fake.faults([{"action": "slow", "path": "^/media/",
                      "seconds": 0.3}])
        j = run_job(s, limit=100)
        fake.faults([])
        assert j["status"] == "completed", j
        # the oversized file fits under the default max_bytes
        assert j["media_downloaded"] == truth["media"]["downloaded"] + 1
        assert fake.stats()["slow_paused_max"] == want
        s.close()
    fake.reset()


def test_sigterm_mid_download_hands_back_and_leaves_nothing(stacks, fake):
    """SIGTERM: transfers stop, temp files go, leases are released (not
    left to expire), exit 0; the next mediad finishes the job."""
    s = media_stack(stacks, fake, mediad_env=NO_FFMPEG,
                    RSCRAPE_JOBD_LEASE_SECONDS="60")
    truth, items = truth_items(fake)
    fake.reset()
    fake.faults([{"action": "slow", "path": "^/media/", "seconds": 30}])
    job = create(s, limit=100)
    wait_until(lambda: fake.stats().get("injected_slow"), timeout=60,
               what="a download half way")
    assert s.mediad.stop(timeout=10) == 0
    assert tmp_files(s.state_dir) == []
    fake.reset()            # no faults; the paused answers end
    assert get(s, job)["status"] == "running"
    s.start("mediad", env=NO_FFMPEG)
    # released leases are leased again at once: well within lease_seconds
    j = wait_end(s, job, timeout=40)
    assert j["status"] == "completed", j
    assert j["media_downloaded"] == truth["media"]["downloaded"], j
    assert len(store_files(s.state_dir)) == truth["media"]["unique_files"]
