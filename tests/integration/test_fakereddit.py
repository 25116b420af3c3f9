"""The fake Reddit behaves like the recorded Reddit (tests/data/reddit) and
its truth endpoint agrees with what a full client can actually fetch."""

import concurrent.futures
import email.utils
import json
import os
import socket
import sys

import pytest
import requests

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)
from fakereddit.launch import FakeReddit  # noqa: E402

DATA = os.path.join(TESTS, "data", "reddit")
UA = "linux:rscrape-tests:0.1 (by /u/rscrape)"


def fixture(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def fake():
    with FakeReddit("full") as f:
        yield f


class Client:
    def __init__(self, fake):
        self.fake = fake
        self.s = requests.Session()
        self.s.headers["User-Agent"] = UA
        r = self.s.post(fake.base + "/api/v1/access_token",
                        auth=("fake-client-id", "fake-client-secret"),
                        data={"grant_type": "client_credentials"})
        r.raise_for_status()
        self.s.headers["Authorization"] = "bearer " + r.json()["access_token"]

    def get(self, path, **params):
        params.setdefault("raw_json", 1)
        return self.s.get(self.fake.base + path, params=params,
                          allow_redirects=False)

    def post(self, path, data):
        return self.s.post(self.fake.base + path, data=data,
                           allow_redirects=False)


@pytest.fixture(scope="module")
def api(fake):
    return Client(fake)


def intersect_keys(things):
    return set.intersection(*[set(t["data"]) for t in things])


# -- OAuth -------------------------------------------------------------------

def test_token_endpoint(fake):
    url = fake.base + "/api/v1/access_token"
    before = fake.stats().get("token", 0)
    r = requests.post(url, auth=("fake-client-id", "fake-client-secret"),
                      data={"grant_type": "client_credentials"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == set(fixture("oauth_token_client_credentials.json"))
    assert body["token_type"] == "bearer" and body["expires_in"] == 86400
    r = requests.post(url, auth=("fake-client-id", "wrong"),
                      data={"grant_type": "client_credentials"})
    assert r.status_code == 401
    assert r.json() == fixture("error_401_invalid_token.json")
    r = requests.post(url, auth=("fake-client-id", "fake-client-secret"),
                      data={"grant_type": "password", "username": "fakeuser",
                            "password": "nope"})
    assert r.status_code == 200
    assert r.json() == fixture("oauth_token_error_invalid_grant.json")
    r = requests.post(url, auth=("fake-client-id", "fake-client-secret"),
                      data={"grant_type": "password", "username": "fakeuser",
                            "password": "fakepass"})
    assert "access_token" in r.json()
    assert fake.stats()["token"] == before + 4


def test_bearer_required_and_expiry(fake, api):
    r = requests.get(fake.base + "/r/fakesub/new")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == \
        'Bearer realm="reddit", error="invalid_token"'
    assert r.json() == fixture("error_401_invalid_token.json")
    c = Client(fake)
    assert c.get("/r/fakesub/about").status_code == 200
    fake.faults([], expire_tokens=True)
    r = c.get("/r/fakesub/about")
    assert r.status_code == 401 and "invalid_token" in \
        r.headers["WWW-Authenticate"]
    api.__init__(fake)          # the module's client gets a new token


def test_public_json_mode_needs_no_token(fake):
    r = requests.get(fake.base + "/r/fakesub/new.json",
                     params={"limit": 3, "raw_json": 1})
    assert r.status_code == 200
    assert r.json()["data"]["dist"] == 3


# -- rate limit ----------------------------------------------------------------

def test_ratelimit_headers_and_429():
    with FakeReddit("small", args=["--budget", "5", "--window", "600"]) as f:
        c = Client(f)
        for i in range(5):
            r = c.get("/r/fakesub/about")
            assert r.status_code == 200
            used = int(r.headers["x-ratelimit-used"])
            rem = r.headers["x-ratelimit-remaining"]
            assert rem.endswith(".0")
            assert used == i + 1 and used + float(rem) == 5
            date = email.utils.parsedate_to_datetime(r.headers["Date"])
            end = date.timestamp() + int(r.headers["x-ratelimit-reset"])
            assert abs(end - round(end / 600) * 600) <= 1
        r = c.get("/r/fakesub/about")
        assert r.status_code == 429
        assert r.headers["Content-Type"].startswith("text/html")
        assert "whoa there, pardner!" in r.text
        assert int(r.headers["Retry-After"]) >= 1
        assert "x-ratelimit-used" not in r.headers
        assert f.stats()["429"] == 1


# -- object shapes -------------------------------------------------------------

def test_post_and_comment_field_sets(api):
    posts = api.get("/r/fakesub/new", limit=100).json()["data"]["children"]
    got = intersect_keys(posts)
    for name in ("listing_r_askreddit_new.json",
                 "listing_r_popular_hot_2026.json"):
        want = intersect_keys(fixture(name)["data"]["children"])
        assert want - got == set(), name
    stream = api.get("/r/fakesub/comments", limit=100).json()
    want = intersect_keys(fixture(
        "listing_r_askreddit_comments_before.json")["data"]["children"])
    alive = [c for c in stream["data"]["children"]
             if c["data"]["author"] != "[deleted]"]
    assert want - intersect_keys(alive) == set()
    tree_keys = set(fixture("comments_6otocc_continue_thread.json")[1]["data"]
                    ["children"][0]["data"])
    post = posts[0]["data"]
    pid = next(p["data"]["id"] for p in posts if p["data"]["num_comments"])
    tree = api.get("/comments/" + pid, limit=500).json()
    first = [c["data"] for c in tree[1]["data"]["children"]
             if c["kind"] == "t1" and c["data"]["author"] != "[deleted]"][0]
    assert tree_keys - set(first) == set()
    about = api.get("/r/fakesub/about").json()
    assert set(fixture("about_r_redditdev.json")["data"]) - \
        set(about["data"]) == set()
    assert about["kind"] == "t5"
    u = api.get("/user/fakeuser/about").json()
    assert set(fixture("about_user_lil_spazbot.json")["data"]) - \
        set(u["data"]) == set()
    assert post["name"] == "t3_" + post["id"]


# -- listings ------------------------------------------------------------------

def test_listing_limit_clamp(api):
    assert api.get("/r/fakesub/new", limit=500).json()["data"]["dist"] == 100
    assert api.get("/r/fakesub/new", limit=0).json()["data"]["dist"] == 1
    assert api.get("/r/fakesub/new", limit="x").json()["data"]["dist"] == 25
    assert api.get("/r/fakesub/new").json()["data"]["dist"] == 25


def test_listing_paging_horizon_and_before(api):
    seen, after, pages = [], None, 0
    while True:
        d = api.get("/r/historysub/new", limit=100, after=after).json()["data"]
        pages += 1
        seen += [c["data"]["name"] for c in d["children"]]
        assert d["dist"] == len(d["children"])
        after = d["after"]
        if after is None:
            break
    assert len(seen) == 1000 and len(set(seen)) == 1000 and pages == 10
    ids = [int(x[3:], 36) for x in seen]
    assert ids == sorted(ids, reverse=True)
    # before = the items adjacent-newer to the anchor, newest first
    d = api.get("/r/historysub/new", limit=5, before=seen[300]).json()["data"]
    assert [c["data"]["name"] for c in d["children"]] == seen[295:300]
    assert d["after"] is None and d["before"] is None
    d = api.get("/r/historysub/new", limit=100, before=seen[0]).json()
    assert d == fixture("listing_empty_before.json")
    # an anchor outside the listing gives an empty page
    d = api.get("/r/historysub/new", after="t3_zzzzzzz").json()["data"]
    assert d["children"] == [] and d["after"] is None


def test_history_listings_expose_different_subsets(fake, api):
    truth = fake.truth(sub="historysub", limit=10000)
    seen = {}
    for path, params in (("/r/historysub/new", {}),
                         ("/r/historysub/top", {"t": "all"}),
                         ("/r/historysub/controversial", {"t": "all"})):
        names, after = [], None
        while True:
            d = api.get(path, limit=100, after=after, **params).json()["data"]
            names += [c["data"]["name"] for c in d["children"]]
            after = d["after"]
            if not after:
                break
        seen[path] = set(names)
        key = path.rsplit("/", 1)[1] + ("/all" if params else "")
        assert len(names) == truth["listings"][key] <= 1000
    sets = list(seen.values())
    assert sets[0] != sets[1] and sets[1] != sets[2]
    assert len(set.union(*sets)) <= truth["listing_union"] < \
        truth["archive_total"]
    assert truth["archive_total"] == truth["posts_total"] + \
        truth["archive_only"]
    assert truth["listing_union"] < truth["posts_total"]
    # the archive reaches everything, newest first, paging by created_utc
    got, before = [], None
    while True:
        params = {"subreddit": "historysub", "limit": 100}
        if before:
            params["before"] = before
        d = requests.get(fake.base + "/api/posts/search", params=params).json()
        if not d["data"]:
            break
        got += [p["name"] for p in d["data"]]
        times = [p["created_utc"] for p in d["data"]]
        assert times == sorted(times, reverse=True)
        before = int(times[-1])
    assert len(got) == len(set(got)) == truth["archive_total"]


# -- comment trees -------------------------------------------------------------

def walk(things, out, depth_of_parent=-1):
    for t in things:
        d = t["data"]
        if t["kind"] == "more":
            out["more"].append(d)
            continue
        out["t1"].append(d)
        if d["replies"] == "":
            continue
        assert d["replies"]["kind"] == "Listing"
        walk(d["replies"]["data"]["children"], out)


def test_continue_stub_at_depth_10(fake, api):
    stub_fx = None
    fx = fixture("comments_6otocc_continue_thread.json")
    acc = {"t1": [], "more": []}
    walk(fx[1]["data"]["children"], acc)
    stub_fx = acc["more"][0]
    truth = fake.truth(sub="fakesub", limit=250, detail=True)
    found = None
    for name in truth["post_ids"]:
        tree = api.get("/comments/" + name[3:], limit=500).json()
        acc = {"t1": [], "more": []}
        walk(tree[1]["data"]["children"], acc)
        stubs = [m for m in acc["more"] if m["count"] == 0]
        if stubs:
            found = (name, stubs[0], acc)
            break
    assert found, "no continue-this-thread stub in fakesub"
    name, stub, acc = found
    assert set(stub) == set(stub_fx)
    assert (stub["id"], stub["name"], stub["children"], stub["depth"]) == \
        ("_", "t1__", [], 10)
    assert max(c["depth"] for c in acc["t1"]) == 9
    parent = stub["parent_id"][3:]
    cont = api.get("/comments/%s/_/%s" % (name[3:], parent), limit=500).json()
    root = cont[1]["data"]["children"][0]["data"]
    assert root["id"] == parent and root["depth"] == 0
    assert root["replies"] != ""


def expand_all(api, post_id, counts):
    """A frugal full-tree client: tree, pooled morechildren, continues."""
    comments = {}
    ids, conts = [], []

    def take(things):
        for t in things:
            d = t["data"]
            if t["kind"] == "more":
                if d["count"] == 0:
                    conts.append(d["parent_id"][3:])
                else:
                    ids.extend(d["children"])
                continue
            comments[d["id"]] = d
            if d["replies"]:
                take(d["replies"]["data"]["children"])

    counts["comments"] += 1
    take(api.get("/comments/" + post_id, limit=500).json()[1]["data"]
         ["children"])
    while ids or conts:
        while ids:
            batch, ids[:] = ids[:100], ids[100:]
            counts["morechildren"] += 1
            r = api.post("/api/morechildren", {
                "api_type": "json", "link_id": "t3_" + post_id,
                "children": ",".join(batch), "raw_json": 1})
            things = r.json()["json"]["data"]["things"]
            assert sum(t["kind"] == "t1" for t in things) <= 100
            assert all(t["data"]["replies"] == "" for t in things
                       if t["kind"] == "t1")
            take(things)
        while conts:
            counts["continue"] += 1
            c = conts.pop()
            take(api.get("/comments/%s/_/%s" % (post_id, c),
                         limit=500).json()[1]["data"]["children"])
    return comments


def test_full_expansion_matches_truth(fake, api):
    truth = fake.truth(sub="fakesub", limit=60, detail=True)
    counts = {"comments": 0, "morechildren": 0, "continue": 0}
    total = deleted = removed = 0
    for name in truth["post_ids"]:
        got = expand_all(api, name[3:], counts)
        total += len(got)
        deleted += sum(c["body"] == "[deleted]" for c in got.values())
        removed += sum(c["body"] == "[removed]" for c in got.values())
        for c in got.values():
            assert c["parent_id"] == "t3_" + name[3:] or \
                c["parent_id"][3:] in got
    assert total == truth["comments"]
    assert deleted == truth["comments_deleted"]
    assert removed == truth["comments_removed"]
    assert counts["morechildren"] == truth["requests_min"]["morechildren"]
    assert counts["continue"] == truth["requests_min"]["continue"]
    assert counts["morechildren"] >= 10   # the huge thread is in the window


def test_more_stub_counts_hidden_subtree(api, fake):
    truth = fake.truth(sub="fakesub", limit=60, detail=True)
    for name in truth["post_ids"]:
        tree = api.get("/comments/" + name[3:], limit=500).json()
        post = tree[0]["data"]["children"][0]["data"]
        acc = {"t1": [], "more": []}
        walk(tree[1]["data"]["children"], acc)
        hidden = sum(m["count"] for m in acc["more"])
        if hidden == 0:
            continue
        assert len(acc["t1"]) == 500
        for m in acc["more"]:
            if m["count"]:
                assert m["id"] == m["children"][0]
                assert m["name"] == "t1_" + m["children"][0]
                assert m["count"] >= len(m["children"])
        # continue stubs hide comments too; without them it is exact
        if any(m["count"] == 0 for m in acc["more"]):
            assert len(acc["t1"]) + hidden <= post["num_comments"]
        else:
            assert len(acc["t1"]) + hidden == post["num_comments"]
        return
    pytest.fail("no post needing more stubs")


def overlapping_morechildren(fake, api, body):
    """The status codes of two morechildren calls that overlap (each on a
    connection of its own, the first held 0.5 s), lowest first."""
    other = Client(fake)
    fake.config(morechildren_delay=0.5)
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            return sorted(f.result().status_code for f in [
                ex.submit(api.post, "/api/morechildren", body),
                ex.submit(other.post, "/api/morechildren", body)])
    finally:
        fake.config(morechildren_delay=0.02)


def test_morechildren_shapes_and_lock(fake, api):
    r = api.post("/api/morechildren", {"api_type": "json",
                                       "link_id": "t3_1s00000",
                                       "children": "zzzzzzz"})
    assert r.json() == fixture("morechildren_empty.json")
    truth = fake.truth(sub="fakesub", limit=60, detail=True)
    big = None
    for name in truth["post_ids"]:
        tree = api.get("/comments/" + name[3:], limit=10).json()
        acc = {"t1": [], "more": []}
        walk(tree[1]["data"]["children"], acc)
        tops = [m for m in acc["more"] if m["parent_id"] == name]
        if tops and len(tops[0]["children"]) > 150:
            big = (name, tops[0])
            break
    assert big
    name, m = big
    r = api.post("/api/morechildren", {
        "api_type": "json", "link_id": name,
        "children": ",".join(m["children"]) + ",zzzzzzz", "raw_json": 1})
    things = r.json()["json"]["data"]["things"]
    t1 = [t for t in things if t["kind"] == "t1"]
    assert len(t1) == 100
    mores = [t["data"] for t in things if t["kind"] == "more"]
    top_rest = [x for x in mores if x["parent_id"] == name]
    assert len(top_rest) == 1
    returned = {t["data"]["id"] for t in t1}
    assert set(top_rest[0]["children"]) == set(m["children"]) - returned
    # depth-first: every t1 comes after its parent
    pos = {t["data"]["name"]: i for i, t in enumerate(things)}
    for t in t1:
        p = t["data"]["parent_id"]
        assert p == name or pos[p] < pos[t["data"]["name"]]
    # two overlapping calls: one gets 429, and the fake counts it
    before = fake.stats().get("morechildren_concurrent", 0)
    body = {"api_type": "json", "link_id": name,
            "children": ",".join(m["children"][:5])}
    assert overlapping_morechildren(fake, api, body) == [200, 429]
    assert fake.stats()["morechildren_concurrent"] == before + 1


def test_cached_morechildren_answers_alike_and_still_counts_and_locks():
    """--cache-bodies (the benchmarks): a repeated morechildren call gets
    the same bytes, but each call is still counted, still waits the
    delay and still collides with an overlapping one."""
    with FakeReddit("full", args=["--cache-bodies"]) as f:
        api = Client(f)
        more = None
        for name in f.truth(sub="fakesub", limit=60,
                            detail=True)["post_ids"]:
            tree = api.get("/comments/" + name[3:], limit=10).json()
            acc = {"t1": [], "more": []}
            walk(tree[1]["data"]["children"], acc)
            more = next((m for m in acc["more"] if m["children"]), None)
            if more:
                break
        assert more
        body = {"api_type": "json", "link_id": name, "raw_json": 1,
                "children": ",".join(more["children"][:20])}
        first = api.post("/api/morechildren", body)
        again = api.post("/api/morechildren", body)
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
        assert first.json()["json"]["data"]["things"]
        st = f.stats()
        assert st["morechildren"] == 2
        assert st["morechildren_ids"] == 2 * min(20, len(more["children"]))
        # each answer carries its own rate-limit headers, once
        assert again.headers["x-ratelimit-used"] != \
            first.headers["x-ratelimit-used"]
        assert "," not in again.headers["x-ratelimit-used"]
        assert overlapping_morechildren(f, api, body) == [200, 429]
        assert f.stats()["morechildren_concurrent"] == 1


# -- errors --------------------------------------------------------------------

def test_error_targets(api):
    r = api.get("/r/privatesub/about")
    assert (r.status_code, r.json()["reason"]) == (403, "private")
    r = api.get("/r/quarantinedsub/new")
    assert r.status_code == 403
    assert r.json() == fixture("error_403_quarantined.json")
    r = api.get("/r/gatedsub/about")
    assert (r.status_code, r.json()["reason"]) == (403, "gated")
    r = api.get("/r/bannedsub/about")
    assert r.json() == {"reason": "banned", "message": "Not Found",
                        "error": 404}
    r = api.get("/r/nosuchsub/about")
    assert r.status_code == 404
    assert r.json() == fixture("error_404_not_found.json")
    r = api.get("/r/nosuchsub/new")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/subreddits/search?q=nosuchsub")
    r = api.get("/user/suspendeduser/about")
    assert r.status_code == 200
    assert r.json() == {"kind": "t2", "data": {"is_suspended": True,
                                               "name": "suspendeduser"}}
    assert api.get("/user/nosuchuser/about").status_code == 404


def test_escaping(api):
    r = api.get("/r/fakesub/about", raw_json=0)
    assert "\\u0026lt;" in r.text and "<" not in r.text
    assert r.json()["data"]["description_html"].startswith("&lt;!-- SC_OFF")
    r = api.get("/r/fakesub/about")
    assert "\\u003C!-- SC_OFF" in r.text and "<" not in r.text
    assert r.json()["data"]["description_html"].startswith("<!-- SC_OFF")


# -- media ---------------------------------------------------------------------

MAGIC = {"image": (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8"),
         "mp4": (b"ftyp",)}


def test_media_bytes_match_truth(fake):
    truth = fake.truth(sub="mediasub", limit=100, detail=True)
    items = truth["media"]["list"]
    types = {it["type"] for it in items}
    assert {"image", "animated", "video", "gallery_item", "gifv"} <= types
    import hashlib
    for it in items:
        if it["expect"] != "downloaded":
            continue
        r = requests.get(it["url"])
        assert r.status_code == 200
        if it["type"] == "video":
            assert hashlib.sha256(r.content).hexdigest() == it["video_sha256"]
            assert r.content[4:8] == b"ftyp"
            continue
        assert hashlib.sha256(r.content).hexdigest() == it["sha256"]
        assert r.content.startswith(MAGIC["image"]) or \
            r.content[4:8] == b"ftyp"
    reasons = {it.get("reason", "") for it in items
               if it["expect"] == "failed"}
    assert any("html" in x for x in reasons)
    assert any("cut" in x for x in reasons)


def test_video_dash_audio_and_bad_media(fake, api):
    posts = api.get("/r/mediasub/new", limit=100).json()["data"]["children"]
    vids = [p["data"] for p in posts if p["data"]["is_video"]]
    with_audio = [v for v in vids if v["media"] and
                  v["media"]["reddit_video"]["has_audio"]]
    without = [v for v in vids if v["media"] and
               not v["media"]["reddit_video"]["has_audio"]]
    transcoding = [v for v in vids if v["media"] is None]
    assert with_audio and without and transcoding
    rv = with_audio[0]["media"]["reddit_video"]
    assert "DASH_720.mp4" in rv["fallback_url"]
    mpd = requests.get(rv["dash_url"]).text
    assert "<BaseURL>DASH_AUDIO_128.mp4</BaseURL>" in mpd
    base = rv["fallback_url"].rsplit("/", 1)[0]
    audio = requests.get(base + "/DASH_AUDIO_128.mp4")
    assert audio.status_code == 200 and audio.content[4:8] == b"ftyp"
    rv = without[0]["media"]["reddit_video"]
    assert "AUDIO" not in requests.get(rv["dash_url"]).text
    truth = fake.truth(sub="mediasub", limit=100, detail=True)
    for it in truth["media"]["list"]:
        if "cut" in it.get("reason", ""):
            host, port = fake.base[7:].split(":")
            path = it["url"][len(fake.base):]
            with socket.create_connection((host, int(port))) as s:
                s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
                          .encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int([h for h in head.split(b"\r\n")
                          if h.lower().startswith(b"content-length")][0]
                         .split(b":")[1])
            assert len(body) < length
        if "html" in it.get("reason", ""):
            r = requests.get(it["url"])
            assert r.headers["Content-Type"].startswith("text/html")


# -- live data and faults --------------------------------------------------------

def test_live_posts_and_comments(fake, api):
    first = api.get("/r/livesub/new", limit=1).json()["data"]["children"][0]
    newest = first["data"]["name"]
    added = fake.live("livesub", posts=3, comments=4)
    assert len(added["posts"]) == 3 and len(added["comments"]) == 4
    d = api.get("/r/livesub/new", limit=100, before=newest).json()["data"]
    names = [c["data"]["name"] for c in d["children"]]
    assert names == list(reversed(added["posts"]))
    ids = [int(x[3:], 36) for x in added["posts"]]
    assert ids == sorted(ids)
    stream = api.get("/r/livesub/comments", limit=4).json()["data"]
    assert [c["data"]["name"] for c in stream["children"]] == \
        list(reversed(added["comments"]))
    assert all(c["data"]["link_id"].startswith("t3_")
               for c in stream["children"])


def test_faults(fake, api):
    fake.faults([{"path": "^/r/fakesub/hot", "action": "status",
                  "status": 503, "times": 2}])
    codes = [api.get("/r/fakesub/hot").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    fake.faults([{"path": "^/r/fakesub/top", "action": "nonjson",
                  "times": 1}])
    r = api.get("/r/fakesub/top")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    fake.faults([{"path": "^/r/fakesub/rising", "action": "429",
                  "times": 2, "retry_after": 3}])
    r = api.get("/r/fakesub/rising")
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    fake.faults([{"path": "^/r/fakesub/about", "action": "truncate",
                  "times": 1}])
    with pytest.raises(requests.exceptions.RequestException):
        api.get("/r/fakesub/about", limit=100).json()
    fake.faults([], expire_tokens=False)
    requests.delete(fake.base + "/_fake/faults")
    assert api.get("/r/fakesub/about").status_code == 200


def test_user_listings_match_truth(fake, api):
    truth = fake.truth(user="fakeuser", limit=1000)
    names, after = [], None
    while True:
        d = api.get("/user/fakeuser/submitted", limit=100, sort="new",
                    after=after).json()["data"]
        names += [c["data"]["name"] for c in d["children"]]
        assert all(c["kind"] == "t3" and c["data"]["author"] == "fakeuser"
                   for c in d["children"])
        after = d["after"]
        if not after:
            break
    assert len(names) == truth["posts"] == truth["posts_total"]
    got, after = 0, None
    while True:
        d = api.get("/user/fakeuser/comments", limit=100,
                    after=after).json()["data"]
        got += len(d["children"])
        assert all(c["kind"] == "t1" and c["data"]["link_title"]
                   for c in d["children"])
        after = d["after"]
        if not after:
            break
    assert got == truth["comments"]
    d = api.get("/user/fakeuser/overview", limit=100).json()["data"]
    assert {c["kind"] for c in d["children"]} == {"t1", "t3"}
    assert api.get("/user/nosuchuser/submitted").status_code == 404


def test_delay_and_expire_faults(fake, api):
    fake.faults([{"path": "^/r/fakesub/about", "action": "expire",
                  "times": 1},
                 {"path": "^/r/fakesub/new", "action": "delay",
                  "seconds": 0.3, "times": 1}])
    r = api.get("/r/fakesub/about")
    assert r.status_code == 401 and "invalid_token" in \
        r.headers["WWW-Authenticate"]
    assert api.get("/r/fakesub/about").status_code == 200
    r = api.get("/r/fakesub/new", limit=1)
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.3
    fake.reset()


def test_cli_options_and_user_agent():
    rule = json.dumps({"path": "^/r/", "action": "status", "status": 502,
                       "times": 1})
    with FakeReddit("small", args=["--fault", rule, "--require-ua",
                                   "--token-ttl", "60"]) as f:
        c = Client(f)
        tok = c.s.post(f.base + "/api/v1/access_token",
                       auth=("fake-client-id", "fake-client-secret"),
                       data={"grant_type": "client_credentials"}).json()
        assert tok["expires_in"] == 60
        assert c.get("/r/fakesub/about").status_code == 502
        assert c.get("/r/fakesub/about").status_code == 200
        c.s.headers["User-Agent"] = "python-requests/2.28"
        assert c.get("/r/fakesub/about").status_code == 403


def test_multi_subreddit_listing(api):
    a = api.get("/r/fakesub/new", limit=100).json()["data"]["children"]
    b = api.get("/r/livesub/new", limit=100).json()["data"]["children"]
    m = api.get("/r/fakesub+livesub/new", limit=100).json()["data"]
    ids = [int(c["data"]["id"], 36) for c in m["children"]]
    want = sorted((int(c["data"]["id"], 36) for c in a + b), reverse=True)
    assert ids == want[:100]


def test_live_generator(fake, api):
    import time
    start = fake._call("GET", "/_fake/live/gensub")
    assert start["posts"] == 0
    fake.live("gensub", rate={"posts_per_min": 1200,
                              "comments_per_min": 2400})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = fake._call("GET", "/_fake/live/gensub")
        if st["posts"] >= 5 and st["comments"] >= 5:
            break
        time.sleep(0.05)        # poll interval, bounded by the deadline
    fake.live("gensub", stop=True)
    assert st["posts"] >= 5 and st["comments"] >= 5
    items = fake.items(sub="gensub")
    d = api.get("/r/gensub/new", limit=100).json()["data"]
    assert [c["data"]["name"] for c in d["children"]][::-1] == \
        items["posts"][-len(d["children"]):]


def test_generated_files_and_clean_shutdown():
    import hashlib
    f = FakeReddit("media", args=["--oversized-bytes", "1500000"]).start()
    try:
        a = requests.get(f.base + "/media/gen/a1.png", params={"bytes": 60000})
        b = requests.get(f.base + "/media/gen/a2.png", params={"bytes": 60000})
        again = requests.get(f.base + "/media/gen/a1.png",
                             params={"bytes": 60000})
        assert a.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert abs(len(a.content) - 60000) < 1000
        assert a.content != b.content and a.content == again.content
        truth = f.truth(sub="mediasub", detail=True)
        big = [it for it in truth["media"]["list"]
               if "max_bytes" in it.get("reason", "")][0]
        r = requests.get(big["url"])
        assert len(r.content) == int(r.headers["Content-Length"]) == 1500000
        assert r.content.startswith(b"\xff\xd8\xff")
        same = [it for it in truth["media"]["list"]
                if it.get("sha256") and it["type"] == "image"]
        shas = [it["sha256"] for it in same]
        urls = [it["url"] for it in same]
        # one URL shared by two posts, and one content at two URLs
        assert len(urls) - len(set(urls)) == 1
        assert len(shas) - len(set(shas)) == 2
        assert hashlib.sha256(requests.get(urls[0]).content).hexdigest() == \
            shas[0]
    finally:
        f.proc.terminate()
        assert f.proc.wait(10) == 0
        f.stop()


def _strings(o):
    if isinstance(o, str):
        yield o
    elif isinstance(o, dict):
        for v in o.values():
            yield from _strings(v)
    elif isinstance(o, list):
        for v in o:
            yield from _strings(v)


def test_every_url_points_at_the_fake(fake, api):
    import re
    pages = ["/r/mediasub/new", "/r/fakesub/new", "/r/fakesub/comments",
             "/user/fakeuser/about", "/r/fakesub/about",
             "/user/fakeuser/overview"]
    docs = [api.get(p, limit=100).json() for p in pages]
    pid = next(c["data"]["id"] for c in docs[1]["data"]["children"]
               if c["data"]["num_comments"])
    docs.append(api.get("/comments/" + pid).json())
    urls = set()
    for d in docs:
        for s in _strings(d):
            urls.update(re.findall(r"https?://[^\s\"\)\]]+", s))
    assert urls and all(u.startswith(fake.base + "/") for u in urls)
    failing = {it["url"] for it in fake.truth(sub="mediasub", detail=True)
               ["media"]["list"] if it["expect"] == "failed"}
    for u in sorted(urls):
        if u in failing or "/media/" not in u and "/ext/" not in u:
            continue
        r = requests.get(u, stream=True)
        assert r.status_code == 200, u
        r.close()


def test_praw_reproduces_truth(fake):
    """The reference client (Debian's python3-praw, when installed) gets
    exactly the truth's numbers from the fake."""
    praw = pytest.importorskip("praw")
    r = praw.Reddit(client_id="fake-client-id",
                    client_secret="fake-client-secret", user_agent=UA,
                    oauth_url=fake.base, reddit_url=fake.base,
                    check_for_updates=False)
    truth = fake.truth(sub="livesub", limit=100)
    posts = list(r.subreddit("livesub").new(limit=100))
    n = 0
    for p in posts:
        p.comments.replace_more(limit=None)
        n += len(p.comments.list())
    assert len(posts) == truth["posts"]
    assert n == truth["comments"]
