"""Reading results (issue 7): a real full job against the fake Reddit, then
the posts, comments, media and export routes checked against the fake's
own truth (never against the scraper's counters): counts, fields,
filters, full-text search, keyset paging that visits every item once
(also while new posts arrive), workspace isolation, media files, and an
export of 100k comments in constant memory."""

import csv
import io
import json
import os
import re
import sqlite3
import sys
import time
from datetime import datetime, timezone

import pytest

from conftest import require
from rstack import Stack, wait_until, reddit_env

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fakereddit.launch import FakeReddit  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")
LIMIT = 50


def rfc3339(secs):
    return datetime.fromtimestamp(int(secs), timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def env():
    require("rscrapectl", "jobd", "httpd", "fetchd")
    fake = FakeReddit(scenario="small")
    fake.start()
    s = Stack(env={
        **reddit_env(fake),
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "100000"})
    try:
        for d in ("jobd", "httpd", "fetchd"):
            s.start(d)
        ws, key = s.workspace_and_key()
        r = s.http("POST", s.jobs_path(ws), key=key, json={
            "target": "fakesub", "limit": LIMIT, "download_media": False})
        assert r.status_code == 201, r.text
        job = r.json()["id"]

        def done():
            j = s.http("GET", s.jobs_path(ws, job), key=key).json()
            return j if j["status"] in TERMINAL else None
        j = wait_until(done, timeout=120, interval=0.2, what="the job")
        assert j["status"] == "completed", j
        truth = fake.truth(sub="fakesub", limit=LIMIT, detail=True)
        yield {"s": s, "fake": fake, "ws": ws, "key": key, "job": job,
               "truth": truth}
    except Exception:
        sys.stderr.write(s.logs())
        raise
    finally:
        s.close()
        fake.stop()


def get(e, path, key=None, **params):
    return e["s"].http("GET", path, key=key or e["key"], params=params)


def wsp(e, rest=""):
    return "/api/v1/workspaces/%s%s" % (e["ws"], rest)


def jobp(e, rest=""):
    return wsp(e, "/jobs/%s%s" % (e["job"], rest))


def page_all(e, path, member, key=None, **params):
    """Every item of a listing, following cursors."""
    out, cursor, pages = [], None, 0
    while True:
        q = dict(params)
        if cursor:
            q["cursor"] = cursor
        r = get(e, path, key=key, **q)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body[member]
        pages += 1
        assert body["has_more"] == (body["cursor"] is not None)
        if not body["has_more"]:
            return out, pages
        cursor = body["cursor"]


def test_job_posts_are_the_fakes_posts_with_its_fields(env):
    e, t = env, env["truth"]
    posts, pages = page_all(e, jobp(e, "/posts"), "posts", limit=7)
    ids = [p["id"] for p in posts]
    assert len(ids) == len(set(ids)) == t["posts"]
    assert set(ids) == set(t["post_ids"])
    assert pages == -(-t["posts"] // 7)
    r = get(e, jobp(e, "/posts"), limit=1).json()
    assert r["total"] == t["posts"]
    by_id = {p["id"]: p for p in posts}
    for f in t["post_fields"]:
        p = by_id[f["name"]]
        assert p["subreddit"] == f["subreddit"]
        assert p["title"] == f["title"]
        assert p["author"] == f["author"]
        assert p["score"] == f["score"]
        assert p["num_comments"] == f["num_comments"]
        assert p["upvote_ratio"] == f["upvote_ratio"]
        assert p["selftext"] == f["selftext"]
        assert p["url"] == f["url"]
        assert p["created_utc"] == rfc3339(f["created_utc"])
        assert p["permalink"] == "https://www.reddit.com" + f["permalink"]
        assert p["domain"] == f["domain"]
        assert p["stickied"] == bool(f["stickied"])
        assert p["removed_by"] == f["removed_by_category"]
        assert (p["post_type"] == "self") == bool(f["is_self"])
        assert p["post_type"] in ("link", "self", "image", "video",
                                  "gallery")
        assert p["job_id"] == e["job"]
        assert p["sentiment_label"] is None


def test_default_order_is_newest_first_and_sorts_follow_the_truth(env):
    e, t = env, env["truth"]
    fields = t["post_fields"]
    posts, _ = page_all(e, jobp(e, "/posts"), "posts", limit=200)
    assert [p["created_utc"] for p in posts] == sorted(
        (p["created_utc"] for p in posts), reverse=True)
    for key, col in (("score", "score"), ("num_comments", "num_comments")):
        for order in ("asc", "desc"):
            got, _ = page_all(e, jobp(e, "/posts"), "posts", limit=9,
                              sort_by=key, sort_order=order)
            want = sorted((f[col] for f in fields),
                          reverse=(order == "desc"))
            assert [p[col] for p in got] == want, (key, order)
            assert len({p["id"] for p in got}) == len(fields)


def test_filters_match_the_truth(env):
    e, t = env, env["truth"]
    fields = t["post_fields"]
    authors = sorted({f["author"] for f in fields})
    for a in authors[:4]:
        r = get(e, jobp(e, "/posts"), author=a, limit=200).json()
        want = {f["name"] for f in fields if f["author"].lower() == a.lower()}
        assert {p["id"] for p in r["posts"]} == want, a
        assert r["total"] == len(want)
    scores = sorted(f["score"] for f in fields)
    lo, hi = scores[len(scores) // 4], scores[3 * len(scores) // 4]
    r = get(e, jobp(e, "/posts"), min_score=lo, max_score=hi,
            limit=200).json()
    assert r["total"] == sum(1 for s in scores if lo <= s <= hi)
    assert all(lo <= p["score"] <= hi for p in r["posts"])
    r = get(e, jobp(e, "/posts"), post_type="self", limit=200).json()
    assert r["total"] == sum(1 for f in fields if f["is_self"])
    r = get(e, jobp(e, "/posts"), subreddit="FAKESUB", limit=1).json()
    assert r["total"] == t["posts"]
    r = get(e, jobp(e, "/posts"), subreddit="othersub", limit=1).json()
    assert r["total"] == 0 and r["posts"] == [] and r["cursor"] is None


def words(s):
    return set(re.findall(r"[0-9a-z]+", (s or "").lower()))


def test_full_text_search_matches_title_and_body(env):
    e, t = env, env["truth"]
    fields = t["post_fields"]
    counts = {}
    for f in fields:
        for w in words(f["title"]) | words(f["selftext"]):
            counts[w] = counts.get(w, 0) + 1
    # a few words that some but not all posts contain
    probe = sorted((w for w, n in counts.items()
                    if 1 < n < len(fields) and len(w) > 3),
                   key=lambda w: (-counts[w], w))[:3]
    assert probe, "no word to search for"
    for w in probe:
        want = {f["name"] for f in fields
                if w in words(f["title"]) | words(f["selftext"])}
        got, _ = page_all(e, jobp(e, "/posts"), "posts", q=w, limit=5)
        assert {p["id"] for p in got} == want, w
        r = get(e, jobp(e, "/posts"), q=w.upper(), limit=1).json()
        assert r["total"] == len(want)
    # two words: both must match
    a, b = probe[0], probe[1]
    want = {f["name"] for f in fields
            if {a, b} <= words(f["title"]) | words(f["selftext"])}
    r = get(e, jobp(e, "/posts"), q="%s %s" % (a, b), limit=200).json()
    assert {p["id"] for p in r["posts"]} == want
    # FTS5 syntax errors are taken as plain words, never a 500
    for q in ('"unbalanced', "a AND", "(x", "e-mail", "*", "NOT"):
        r = get(e, jobp(e, "/posts"), q=q)
        assert r.status_code == 200, (q, r.text)


def test_comments_are_the_fakes_comments(env):
    e, t = env, env["truth"]
    comments, _ = page_all(e, jobp(e, "/comments"), "comments", limit=200)
    ids = [c["id"] for c in comments]
    assert len(ids) == len(set(ids)) == t["comments"]
    truth = {c["name"]: c for c in t["comment_fields"]}
    assert set(ids) == set(truth)
    assert sum(c["is_deleted"] for c in comments) == t["comments_deleted"]
    assert sum(c["is_removed"] for c in comments) == t["comments_removed"]
    for c in comments:
        f = truth[c["id"]]
        assert (c["post_id"], c["parent_id"], c["depth"]) == (
            f["post_id"], f["parent_id"], f["depth"])
        assert c["author"] == f["author"] and c["score"] == f["score"]
        assert c["created_utc"] == rfc3339(f["created_utc"])
        assert c["is_deleted"] == (f["state"] == "deleted")
        assert c["is_removed"] == (f["state"] == "removed")
        if f["state"] == "ok":
            assert c["body"] == f["body"]
    # one post's comments
    post = max(t["post_fields"], key=lambda f: f["num_comments"])
    r = get(e, jobp(e, "/comments"), post_id=post["name"], limit=200)
    body = r.json()
    want = {c["name"] for c in t["comment_fields"]
            if c["post_id"] == post["name"]}
    assert body["total"] == len(want)
    got, _ = page_all(e, jobp(e, "/comments"), "comments",
                      post_id=post["name"], limit=50)
    assert {c["id"] for c in got} == want


def test_one_post_and_the_workspace_view(env):
    e, t = env, env["truth"]
    f = t["post_fields"][0]
    r = get(e, wsp(e, "/posts/" + f["name"]))
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["id"] == f["name"] and p["title"] == f["title"]
    assert p["media"] == []          # the job did not record media
    bare = f["name"][3:]
    assert get(e, wsp(e, "/posts/" + bare)).json()["id"] == f["name"]
    assert get(e, wsp(e, "/posts/t3_zzzzzzz")).status_code == 404
    assert get(e, wsp(e, "/posts/t1_abc")).status_code == 404
    # the workspace view: every post once
    r = get(e, wsp(e, "/posts"), limit=1).json()
    assert r["total"] == t["posts"]


def test_isolation_scopes_and_bad_parameters(env):
    e, t, s = env, env["truth"], env["s"]
    other_ws, other_key = s.workspace_and_key("other")
    for path in (jobp(e, "/posts"), jobp(e, "/comments"), jobp(e, "/media"),
                 jobp(e, "/export"), wsp(e, "/posts"),
                 wsp(e, "/posts/" + t["post_ids"][0])):
        r = get(e, path, key=other_key)
        assert r.status_code == 404, (path, r.status_code)
        assert r.headers["content-type"] == "application/json"
        assert "detail" in r.json()
    # the other workspace's own view is empty; our job id there is 404
    r = s.http("GET", "/api/v1/workspaces/%s/posts" % other_ws,
               key=other_key)
    assert r.status_code == 200 and r.json()["total"] == 0
    r = s.http("GET", "/api/v1/workspaces/%s/jobs/%s/posts" % (
        other_ws, e["job"]), key=other_key)
    assert r.status_code == 404
    assert s.http("GET", jobp(e, "/posts")).status_code == 401
    read_key, _ = s.key(e["ws"], scopes="read")
    assert get(e, jobp(e, "/posts"), key=read_key).status_code == 200
    for params, status, field in (
            ({"limit": "0"}, 422, "limit"), ({"limit": "x"}, 400, None),
            ({"sort_by": "title"}, 422, "sort_by"),
            ({"post_type": "gif"}, 422, "post_type"),
            ({"cursor": "bm90IGEgY3Vyc29y"}, 422, "cursor"),
            ({"min_score": "1.5"}, 400, None)):
        r = get(e, jobp(e, "/posts"), **params)
        assert r.status_code == status, (params, r.text)
        d = r.json()["detail"]
        if field:
            assert d[0]["loc"] == ["query", field], d
    # a cursor from one sort does not fit another
    c = get(e, jobp(e, "/posts"), limit=2).json()["cursor"]
    r = get(e, jobp(e, "/posts"), cursor=c, sort_by="score")
    assert r.status_code == 422
    r = get(e, jobp(e, "/comments"), post_id="t1_x")
    assert r.status_code == 422
    r = get(e, jobp(e, "/export"), format="xml")
    assert r.status_code == 422
    r = s.http("POST", jobp(e, "/posts"), key=e["key"], json={})
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_exports_stream_every_item(env):
    e, t, s = env, env["truth"], env["s"]
    r = get(e, jobp(e, "/export"), format="ndjson", type="posts")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers.get("transfer-encoding") == "chunked"
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert len(lines) == t["posts"]
    assert {json.loads(x)["id"] for x in lines} == set(t["post_ids"])
    r = get(e, jobp(e, "/export"), format="csv", type="comments")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.count(b"\r\n") >= t["comments"] + 1
    rows = list(csv.DictReader(io.StringIO(r.content.decode(),
                                           newline="")))
    assert len(rows) == t["comments"]
    truth = {c["name"]: c for c in t["comment_fields"]}
    assert {row["id"] for row in rows} == set(truth)
    for row in rows:
        f = truth[row["id"]]
        assert row["post_id"] == f["post_id"]
        assert int(row["depth"]) == f["depth"]
        if f["state"] == "ok":
            assert row["body"] == f["body"]    # commas, quotes, newlines
    r = get(e, jobp(e, "/export"), format="csv", type="posts")
    rows = list(csv.reader(io.StringIO(r.content.decode(), newline="")))
    assert rows[0][:3] == ["id", "subreddit", "title"]
    assert len(rows) == t["posts"] + 1
    titles = {f["name"]: f["title"] for f in t["post_fields"]}
    assert all(row[2] == titles[row[0]] for row in rows[1:])
    # an unknown job: an ordinary JSON 404 before anything streams
    r = s.http("GET", "/api/v1/workspaces/%s/jobs/%s/export" % (
        e["ws"], "job_00000000-0000-4000-8000-000000000000"), key=e["key"])
    assert r.status_code == 404 and r.json()["detail"]


# --- scripted worker (rscrapectl call): concurrent inserts, media ------

def scripted_job(s, ws, media=True):
    j = s.call("job.create", {
        "workspace_id": ws, "target": "python", "target_type": "subreddit",
        "mode": "full", "limit": 10, "download_media": media,
        "scrape_comments": True, "plugins": []})["job"]
    t = s.call("task.lease", {"worker": "w1", "kind": "fetch"})["tasks"][0]
    return j, t


def rpost(i, created, **kw):
    return dict({"id": "t3_s%d" % i, "subreddit": "python", "author": "a",
                 "title": "scripted %d" % i, "created_utc": created,
                 "score": i % 7, "num_comments": 0, "url": "u",
                 "permalink": "/r/python/comments/s%d/x/" % i,
                 "selftext": "", "post_type": "self", "raw": {}}, **kw)


def report(s, t, batch, **kw):
    return s.call("task.report", dict({"task_id": t["task_id"],
                                       "lease_id": t["lease_id"],
                                       "batch": batch}, **kw))


def test_cursor_paging_is_stable_under_concurrent_inserts(make_stack):
    s = make_stack(daemons=("jobd", "httpd"))
    ws, key = s.workspace_and_key()
    j, t = scripted_job(s, ws, media=False)
    report(s, t, "b0", posts=[rpost(i, 1700000000 + i * 10)
                              for i in range(40)])
    before = {"t3_s%d" % i for i in range(40)}
    for si, sort in enumerate(("created_utc", "score")):
        seen, cursor, n = [], None, 0
        while True:
            params = {"limit": 6, "sort_by": sort}
            if cursor:
                params["cursor"] = cursor
            r = s.http("GET", "/api/v1/workspaces/%s/posts" % ws, key=key,
                       params=params).json()
            seen += [p["id"] for p in r["posts"]]
            # new posts land on both sides of the cursor while we page
            n += 1
            report(s, t, "%s-%d" % (sort, n), posts=[
                rpost(100000 * (si + 1) + 1000 * n + k,
                      1700000000 + (k * 397 + n * 13) % 400 - 5)
                for k in range(3)])
            if not r["has_more"]:
                break
            cursor = r["cursor"]
        assert len(seen) == len(set(seen)), "a post came twice"
        assert before <= set(seen), "a post was skipped"


def test_media_list_and_files(make_stack):
    s = make_stack(daemons=("jobd", "httpd"))
    ws, key = s.workspace_and_key()
    j, t = scripted_job(s, ws)
    data = b"\xff\xd8\xff\xe0 not really a jpeg " * 100
    import hashlib
    sha = hashlib.sha256(data).hexdigest()
    rel = "media/%s/%s.jpg" % (sha[:2], sha)
    os.makedirs(os.path.join(s.state_dir, os.path.dirname(rel)))
    with open(os.path.join(s.state_dir, rel), "wb") as f:
        f.write(data)
    report(s, t, "b1", posts=[rpost(1, 1700000000), rpost(2, 1700000001)],
           media=[{"post_id": "t3_s1", "index": 0, "kind": "image",
                   "url": "http://h/a.jpg"},
                  {"post_id": "t3_s2", "index": 0, "kind": "video",
                   "url": None, "extra": {"error": "still transcoding"}}])
    mt = s.call("task.lease", {"worker": "m1", "kind": "media"})["tasks"][0]
    s.call("task.finish", {"task_id": mt["task_id"],
                           "lease_id": mt["lease_id"],
                           "result": {"status": "downloaded",
                                      "bytes": len(data), "sha256": sha,
                                      "content_type": "image/jpeg",
                                      "path": rel}})
    base = "/api/v1/workspaces/%s" % ws
    r = s.http("GET", base + "/jobs/%s/media" % j["id"], key=key).json()
    assert r["total"] == 2
    m = {x["post_id"]: x for x in r["media"]}
    assert m["t3_s1"]["status"] == "downloaded"
    assert m["t3_s1"]["sha256"] == sha and m["t3_s1"]["bytes"] == len(data)
    assert m["t3_s1"]["content_type"] == "image/jpeg"
    assert m["t3_s1"]["file_url"] == base + "/media/" + sha
    assert m["t3_s2"]["status"] == "failed"
    assert m["t3_s2"]["error"] == "still transcoding"
    assert m["t3_s2"]["file_url"] is None
    p = s.http("GET", base + "/posts/t3_s1", key=key).json()
    assert [x["sha256"] for x in p["media"]] == [sha]
    r = s.http("GET", base + "/media/" + sha, key=key)
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "image/jpeg"
    assert int(r.headers["content-length"]) == len(data)
    assert r.headers["etag"] == '"%s"' % sha
    assert r.headers["accept-ranges"] == "bytes"
    assert s.http("GET", base + "/media/" + sha.upper(),
                  key=key).status_code == 200
    # ranges (a video player seeking), validators (a cache revalidating)
    r = s.http("GET", base + "/media/" + sha, key=key,
               headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-range"] == "bytes 10-19/%d" % len(data)
    r = s.http("GET", base + "/media/" + sha, key=key,
               headers={"Range": "bytes=-7"})
    assert r.status_code == 206 and r.content == data[-7:]
    r = s.http("GET", base + "/media/" + sha, key=key,
               headers={"Range": "bytes=%d-" % len(data)})
    assert r.status_code == 416 and "detail" in r.json()
    assert r.headers["content-range"] == "bytes */%d" % len(data)
    r = s.http("GET", base + "/media/" + sha, key=key,
               headers={"If-None-Match": '"%s"' % sha})
    assert r.status_code == 304 and r.content == b""
    assert s.http("GET", base + "/media/" + "0" * 64,
                  key=key).status_code == 404
    assert s.http("GET", base + "/media/nothex", key=key).status_code == 404
    other_ws, other_key = s.workspace_and_key("other")
    r = s.http("GET", "/api/v1/workspaces/%s/media/%s" % (other_ws, sha),
               key=other_key)
    assert r.status_code == 404
    # the file gone from disk: 404, not 500
    os.unlink(os.path.join(s.state_dir, rel))
    assert s.http("GET", base + "/media/" + sha, key=key).status_code == 404


def vm(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])     # kB
    raise AssertionError(field)


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


N_BIG = 100000


def seed_comments(s, j, n):
    """n comments straight into jobd's database (WAL: jobd runs on)."""
    db = sqlite3.connect(os.path.join(s.state_dir, "rscrape.db"),
                         timeout=30)
    jid = db.execute("SELECT jid FROM jobs WHERE id = ?",
                     (j["id"][4:],)).fetchone()[0]
    body = "a comment, with \"quotes\", a comma and\na newline " + "x" * 300
    with db:
        db.executemany(
            "INSERT INTO comments(jid, id, post_id, parent_id, depth, "
            "author, body, score, created_utc, raw, stored_at) "
            "VALUES (?, ?, 't3_s1', 't3_s1', 0, 'someone', ?, 1, ?, "
            "'{}', 0)", ((jid, "t1_%x" % i, body, 1700000000 + i)
                         for i in range(n)))
    db.close()




def test_export_of_100k_comments_in_constant_memory(make_stack):
    s = make_stack(daemons=("jobd", "httpd"))
    ws, key = s.workspace_and_key()
    j, t = scripted_job(s, ws, media=False)
    report(s, t, "b0", posts=[rpost(1, 1700000000)])
    seed_comments(s, j, N_BIG)
    pid = s.httpd.pid
    rss0 = vm(pid, "VmRSS")
    path = "/api/v1/workspaces/%s/jobs/%s/export" % (ws, j["id"])
    with s.http("GET", path, key=key, params={"format": "csv",
                                              "type": "comments"},
                stream=True, timeout=120) as r:
        assert r.status_code == 200
        it = r.iter_content(chunk_size=65536)
        got = next(it)
        # a reader that stops: httpd must hold about a page, not the
        # export (observation window, not a readiness wait)
        time.sleep(1.0)
        paused = vm(pid, "VmRSS")
        n = got.count(b"\r\n")
        size = len(got)
        for chunk in it:
            n += chunk.count(b"\r\n")
            size += len(chunk)
    hwm = vm(pid, "VmHWM")
    # header + one line per comment, each body holding one more CRLF? no:
    # bodies hold \n only; rows end in CRLF
    assert n == N_BIG + 1
    assert size > 30 * 1024 * 1024
    print("\nexport: %d rows, %.1f MB; httpd RSS %d kB before, %d kB while "
          "the reader paused, peak %d kB" % (N_BIG, size / 1e6, rss0,
                                             paused, hwm))
    if sanitized(pid):
        return      # ASan's quarantine keeps freed memory: RSS says nothing
    assert paused - rss0 < 32 * 1024, (rss0, paused)
    assert hwm - rss0 < 48 * 1024, (rss0, hwm)


def test_media_of_a_real_job_and_its_files(make_stack):
    """download_media through mediad (without ffmpeg, so videos keep their
    audio track as a file of its own): the media list and every file
    served match the fake's truth, byte for byte."""
    require("mediad")
    import hashlib
    with FakeReddit(scenario="media") as fake:
        s = make_stack(daemons=(), env={
            **reddit_env(fake),
            "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "100000",
            "RSCRAPE_MEDIAD_MAX_BYTES": "2000000"})
        for d in ("jobd", "httpd", "fetchd"):
            s.start(d)
        s.start("mediad", env={"PATH": "/nonexistent-bin"})
        ws, key = s.workspace_and_key()
        r = s.http("POST", s.jobs_path(ws), key=key, json={
            "target": "mediasub", "limit": 100, "scrape_comments": False})
        job = r.json()["id"]
        j = wait_until(lambda: (lambda j: j if j["status"] in TERMINAL
                                else None)(s.http("GET", s.jobs_path(
                                    ws, job), key=key).json()),
                       timeout=120, interval=0.2, what="the media job")
        assert j["status"] == "completed", j
        truth = fake.truth(sub="mediasub", limit=100, detail=True)
    items = truth["media"]["list"]
    media = []
    cursor = None
    while True:
        params = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = s.http("GET", s.jobs_path(ws, job) + "/media", key=key,
                      params=params).json()
        media += body["media"]
        if not body["has_more"]:
            break
        cursor = body["cursor"]
    assert len(media) == len({m["id"] for m in media}) == len(items)
    assert body["total"] == len(items)
    ok = [m for m in media if m["status"] == "downloaded"]
    assert len(ok) == truth["media"]["downloaded"]
    assert sum(m["status"] == "failed" for m in media) == \
        truth["media"]["failed"]
    assert all(m["error"] for m in media if m["status"] == "failed")

    def want_files(post):
        out = set()
        for it in items:
            if it["post"] != post or it["expect"] != "downloaded":
                continue
            if it["type"] == "video":
                out.add(it["video_sha256"])
                if it.get("audio_sha256"):
                    out.add(it["audio_sha256"])
            else:
                out.add(it["sha256"])
        return out
    for post in {it["post"] for it in items}:
        got = set()
        for m in ok:
            if m["post_id"] == post:
                got.add(m["sha256"])
                if m["audio_sha256"]:
                    got.add(m["audio_sha256"])
        assert got == want_files(post), post
    served = set()
    for m in ok:
        for url, sha, ctype in ((m["file_url"], m["sha256"],
                                 m["content_type"]),
                                (m["audio_file_url"], m["audio_sha256"],
                                 "audio/mp4")):
            if url is None or sha in served:
                continue
            r = s.http("GET", url, key=key)
            assert r.status_code == 200, (url, r.text[:200])
            assert hashlib.sha256(r.content).hexdigest() == sha
            assert r.headers["content-type"] == ctype
            served.add(sha)
    assert any(m["audio_file_url"] for m in ok), "no separate audio track"


def test_export_client_leaving_or_jobd_failing_midway(make_stack):
    """A client that leaves mid-export costs nothing (httpd goes on
    serving); jobd going silent mid-export cuts the body short (no final
    chunk), so the client sees an error, never a complete-looking file."""
    import requests
    s = make_stack(daemons=("jobd", "httpd"), request_timeout_ms=500)
    ws, key = s.workspace_and_key()
    j, t = scripted_job(s, ws, media=False)
    report(s, t, "b0", posts=[rpost(1, 1700000000)])
    seed_comments(s, j, 20000)
    path = "/api/v1/workspaces/%s/jobs/%s/export" % (ws, j["id"])
    for _ in range(3):
        r = s.http("GET", path, key=key, params={"type": "comments"},
                   stream=True)
        assert r.status_code == 200
        next(r.iter_content(chunk_size=4096))
        r.close()                               # the client leaves
    r = s.http("GET", path, key=key, params={"type": "comments"})
    assert len(r.content.splitlines()) == 20000
    assert s.httpd.running()

    r = s.http("GET", path, key=key, params={"type": "comments"},
               stream=True, timeout=30)
    assert r.status_code == 200
    it = r.iter_content(chunk_size=4096)
    got = len(next(it))
    s.jobd.pause()
    try:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in it:
                got += len(chunk)
    finally:
        s.jobd.resume()
        r.close()
    assert got < 20000 * 300
    wait_until(lambda: s.http("GET", path, key=key, params={
        "type": "comments", "format": "csv"}).status_code == 200,
        timeout=10, what="exports to work again")
    assert s.httpd.running()


def test_openapi_is_served_without_a_key(env):
    e, s = env, env["s"]
    r = s.http("GET", "/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    here = os.path.join(os.path.dirname(__file__), "..", "..", "httpd",
                        "openapi.json")
    with open(here) as f:
        assert doc == json.load(f)
    assert doc["openapi"] == "3.1.0"
    # every documented GET answers from its own route (not "Not Found"
    # for the path, not 405), with real ids substituted
    ids = {"workspace_id": e["ws"], "job_id": e["job"],
           "post_id": e["truth"]["post_ids"][0], "sha256": "0" * 64}
    for path, ops in doc["paths"].items():
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        for method in ops:
            if method != "get":
                continue
            r = s.http("GET", url, key=e["key"])
            assert r.status_code in (200, 404), (url, r.status_code)
            if r.status_code == 404:
                assert path.endswith("{sha256}"), url


def test_two_jobs_the_workspace_view_and_sentiment(make_stack):
    s = make_stack(daemons=("jobd", "httpd"))
    ws, key = s.workspace_and_key()
    j1, t1 = scripted_job(s, ws, media=False)
    report(s, t1, "a", posts=[rpost(i, 1700000000 + i) for i in range(10)])
    s.call("task.finish", {"task_id": t1["task_id"],
                           "lease_id": t1["lease_id"]})
    j2, t2 = scripted_job(s, ws, media=False)
    report(s, t2, "b", posts=[rpost(i, 1700000000 + i, score=100 + i)
                              for i in range(5, 15)])
    base = "/api/v1/workspaces/%s" % ws
    r = s.http("GET", base + "/posts", key=key, params={"limit": 200}).json()
    # each Reddit post once, the copy stored last
    assert r["total"] == 15 and len(r["posts"]) == 15
    by = {p["id"]: p for p in r["posts"]}
    assert by["t3_s7"]["job_id"] == j2["id"] and by["t3_s7"]["score"] == 107
    assert by["t3_s2"]["job_id"] == j1["id"]
    assert s.http("GET", base + "/posts/t3_s7", key=key).json()["job_id"] \
        == j2["id"]
    for j, n in ((j1, 10), (j2, 10)):
        r = s.http("GET", base + "/jobs/%s/posts" % j["id"], key=key).json()
        assert r["total"] == n
    # what the sentiment plugin writes is what the filter reads
    db = sqlite3.connect(os.path.join(s.state_dir, "rscrape.db"),
                         timeout=30)
    with db:
        db.execute("UPDATE posts SET sentiment_label = 'negative', "
                   "sentiment_score = -0.5 WHERE id IN ('t3_s1', 't3_s7')")
    db.close()
    r = s.http("GET", base + "/posts", key=key,
               params={"sentiment_label": "negative"}).json()
    assert {p["id"] for p in r["posts"]} == {"t3_s1", "t3_s7"}
    assert all(p["sentiment_score"] == -0.5 for p in r["posts"])


def test_export_finishes_through_sigterm_and_head_sends_no_body(make_stack):
    """SIGTERM stops new connections, not an export being written (within
    the daemon's stop grace): the client gets every row, then httpd exits
    0. HEAD gets the headers."""
    s = make_stack(daemons=("jobd", "httpd"))
    ws, key = s.workspace_and_key()
    j, t = scripted_job(s, ws, media=False)
    report(s, t, "b0", posts=[rpost(1, 1700000000)])
    seed_comments(s, j, 20000)
    path = "/api/v1/workspaces/%s/jobs/%s/export" % (ws, j["id"])
    r = s.http("HEAD", path, key=key, params={"type": "comments"})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == "application/x-ndjson"
    r = s.http("GET", path, key=key, params={"type": "comments"},
               stream=True, timeout=30)
    it = r.iter_content(chunk_size=65536)
    chunks = [next(it)]
    s.httpd.signal(15)
    chunks += list(it)
    r.close()
    assert len(b"".join(chunks).splitlines()) == 20000
    assert s.httpd.proc.wait(10) == 0
