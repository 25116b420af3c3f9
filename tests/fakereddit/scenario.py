"""Deterministic scenario data: a seed plus a small JSON spec.

Spec (all keys optional; see tests/README.md):

{"seed": 1, "now": 1775000000, "errors": true,
 "subreddits": [{"name": "fakesub", "posts": 120, "spacing": 900,
                 "comments": {"zero": 0.25, "mean": 4, "top_share": 0.45,
                              "deleted": 0.04, "removed": 0.03,
                              "huge": [{"post": 3, "count": 2500}],
                              "deep": [{"post": 5, "length": 25}],
                              "fixed": [[0, 7]]},
                 "media": "all" | "some" | false,
                 "stickied": 1, "live": false, "history": false,
                 "archive_only": 0, "authors": 20}],
 "users": [{"name": "fakeuser", "posts": 30, "comments": 120, "sub": "fakesub"},
           {"name": "suspendeduser", "state": "suspended"}]}
"""

import json
import os
import random

from .store import Store, b36

NAMED = {
    "small": {
        "seed": 1,
        "subreddits": [
            {"name": "fakesub", "posts": 30, "spacing": 600,
             "comments": {"zero": 0.3, "mean": 3,
                          "deep": [{"post": 2, "length": 13}],
                          "huge": [{"post": 4, "count": 700}],
                          "deleted": 0.05, "removed": 0.05},
             "media": "some", "stickied": 1},
            {"name": "livesub", "posts": 20, "live": True,
             "comments": {"zero": 0.5, "mean": 2}},
        ],
        "users": [{"name": "fakeuser", "posts": 12, "comments": 40,
                   "sub": "fakesub"}],
    },
    "demo": {
        "seed": 7,
        "subreddits": [
            {"name": "demo", "posts": 100, "spacing": 1800,
             "comments": {"zero": 0.2, "mean": 3.5,
                          "huge": [{"post": 1, "count": 650}],
                          "deep": [{"post": 6, "length": 12}],
                          "deleted": 0.03, "removed": 0.02},
             "media": "some", "stickied": 1},
        ],
        "users": [{"name": "demo_user", "posts": 10, "comments": 30,
                   "sub": "demo"}],
    },
    "seedshape": {
        "seed": 13, "errors": False,
        "subreddits": [
            {"name": "seedshape", "posts": 100, "spacing": 1800,
             "comments": {"zero": 0.2, "mean": 6.8}},
        ],
    },
    "bench100": {
        "seed": 17, "errors": False,
        "subreddits": [
            {"name": "benchsub", "posts": 100, "spacing": 600,
             "comments": {"zero": 0.0, "mean": 100, "top_share": 0.3}},
        ],
    },
    "bench1000": {
        "seed": 19, "errors": False,
        "subreddits": [
            {"name": "benchsub", "posts": 1000, "spacing": 600,
             "comments": {"zero": 0.0, "mean": 100, "top_share": 0.3}},
        ],
    },
    "media": {
        "seed": 3,
        "subreddits": [
            {"name": "mediasub", "posts": 20, "media": "all",
             "comments": {"zero": 1.0}},
        ],
    },
    "history": {
        "seed": 5,
        "subreddits": [
            {"name": "historysub", "posts": 1500, "history": True,
             "archive_only": 60, "comments": {"zero": 0.9, "mean": 2}},
        ],
    },
    "full": {
        "seed": 11,
        "subreddits": [
            {"name": "fakesub", "posts": 250, "spacing": 900,
             "comments": {"zero": 0.25, "mean": 4,
                          "huge": [{"post": 3, "count": 2500}],
                          "deep": [{"post": 5, "length": 25},
                                   {"post": 9, "length": 11}],
                          "deleted": 0.04, "removed": 0.03},
             "media": "all", "stickied": 2},
            {"name": "historysub", "posts": 1500, "history": True,
             "archive_only": 60, "comments": {"zero": 0.9, "mean": 2}},
            {"name": "livesub", "posts": 40, "live": True,
             "comments": {"zero": 0.4, "mean": 2}},
            {"name": "mediasub", "posts": 20, "media": "all",
             "comments": {"zero": 1.0}},
        ],
        "users": [{"name": "fakeuser", "posts": 40, "comments": 150,
                   "sub": "fakesub"}],
    },
}
NAMED["default"] = NAMED["small"]

ERROR_SUBS = {"privatesub": "private", "quarantinedsub": "quarantined",
              "gatedsub": "gated", "bannedsub": "banned"}
ERROR_USERS = {"suspendeduser": "suspended"}

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet "
         "kilo lima mike november oscar papa quebec romeo sierra tango "
         "uniform victor whiskey xray yankee zulu reddit scrape fake test "
         "question answer thread window listing comment media").split()

# The media kinds one "all" subreddit gets, one post each (issue 4).
MEDIA_ALL = ["image_jpeg", "image_png", "gif", "video", "video_noaudio",
             "transcoding", "gallery", "gifv", "link", "html_at_image",
             "oversized", "truncated", "dup_a", "dup_b", "same_a", "same_b",
             "crosspost"]
MEDIA_SOME = ["image_jpeg", "image_png", "gif", "video", "gallery", "link",
              "self", "self", "self"]


def load_spec(arg):
    if arg is None:
        return NAMED["small"]
    if arg in NAMED:
        return NAMED[arg]
    try:
        if os.path.exists(arg):
            with open(arg) as f:
                return json.load(f)
        if arg.lstrip().startswith("{"):
            return json.loads(arg)
    except ValueError as e:
        raise SystemExit("fakereddit: scenario %s: %s" % (arg, e))
    raise SystemExit("fakereddit: unknown scenario %r (built in: %s; or a "
                     "JSON file, or inline JSON)" % (arg, ", ".join(NAMED)))


class Builder:
    def __init__(self, spec, seed=None, oversized_bytes=3 << 20):
        self.spec = spec
        self.seed = spec.get("seed", 1) if seed is None else seed
        self.store = Store(now=spec.get("now", 1775000000),
                           horizon=spec.get("horizon", 1000))
        self.store.seed = self.seed
        self.oversized = spec.get("oversized_bytes", oversized_bytes)
        self.mid_n = 0
        self.media_size = None

    def rng(self, *parts):
        return random.Random("%s/%s" % (self.seed, "/".join(map(str, parts))))

    def mid(self, r):
        self.mid_n += 1
        return "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                       for _ in range(9)) + b36(self.mid_n).rjust(4, "0")

    def build(self):
        st = self.store
        users = self.spec.get("users", [])
        st.media_files["/media/static/avatar_default_6.png"] = {
            "kind": "png", "key": "static/avatar"}
        if self.spec.get("errors", True):
            for name, state in ERROR_SUBS.items():
                st.add_sub(name, state=state, created=st.now - 900 * 86400)
            for name, state in ERROR_USERS.items():
                st.add_user(name, state=state, created=st.now - 900 * 86400)
        for u in users:
            if u.get("state", "ok") != "ok":
                st.add_user(u["name"], state=u["state"],
                            created=st.now - 900 * 86400)
            else:
                st.user(u["name"])
        for s in self.spec.get("subreddits", []):
            self.build_sub(s)
        for u in users:
            if u.get("state", "ok") == "ok":
                self.build_user(u)
        st.finalize()
        return st

    # -- subreddits ------------------------------------------------------

    def build_sub(self, spec):
        st = self.store
        name = spec["name"]
        r = self.rng("sub", name)
        sub = st.add_sub(name, state=spec.get("state", "public"),
                         created=st.now - 3000 * 86400)
        sub.title = spec.get("title", "The %s test community" % name)
        sub.description = "Fake subreddit %s for rscrape tests." % name
        sub.subscribers = r.randint(1000, 500000)
        sub.live = bool(spec.get("live"))
        n = spec.get("posts", 25)
        history = spec.get("history")
        spacing = spec.get("spacing", 8 * 3600 if history else 900)
        authors = ["%s_poster%d" % (name[:8], i)
                   for i in range(spec.get("authors", 20))]
        kinds = []
        mode = spec.get("media", False)
        self.media_size = spec.get("media_size")
        if mode == "all":
            kinds = list(MEDIA_ALL)
        elif mode == "images":
            kinds = ["image_jpeg" if i % 2 == 0 else "image_png"
                     for i in range(n)]
        elif mode == "some":
            kinds = [MEDIA_SOME[i % len(MEDIA_SOME)] for i in range(n)]
            r.shuffle(kinds)
        n_arch = spec.get("archive_only", 0)
        total = n + n_arch
        newest = st.now - 60 if not sub.live else st.now - 60
        # archive-only posts are interleaved among the oldest ones
        arch_idx = set(r.sample(range(total // 3, total), n_arch)) \
            if n_arch else set()
        posts = []
        for i in range(total):
            # i = 0 is the oldest
            created = newest - (total - 1 - i) * spacing
            title = "%s %s %d" % (r.choice(WORDS).capitalize(),
                                  " ".join(r.choice(WORDS) for _ in range(4)),
                                  i)
            if i % 7 == 3:      # exercise escaping and non-ASCII parsing
                title += " \u2014 Q&A <b>caf\u00e9</b> \u2615"
            p = st.add_post(sub, r.choice(authors), title, created=created,
                            archive_only=i in arch_idx)
            if history:
                p.ups = int(r.paretovariate(1.2) * 10)
                p.downs = int(p.ups * r.random() * r.random())
                p.ups += p.downs
            else:
                p.ups = r.randint(1, 500)
            posts.append(p)
        served = [p for p in posts if not p.archive_only]
        newest_first = list(reversed(served))
        # media kinds go on the newest posts so any limit window holds them
        for idx, kind in enumerate(kinds[:len(newest_first)]):
            self.set_media(newest_first[idx], kind, r, newest_first)
        for p in served:
            if p.media is None:
                p.selftext = "Body of post %s: %s." % (
                    p.sid, " ".join(r.choice(WORDS) for _ in range(12)))
        for i in range(spec.get("stickied", 0)):
            if i + 3 < len(newest_first):
                newest_first[len(newest_first) // 2 + i].stickied = True
        if spec.get("deleted_posts"):
            for p in r.sample(newest_first, min(len(newest_first),
                                                spec["deleted_posts"])):
                if p.media is None:
                    p.removed_by = "deleted"
        self.build_comments(sub, spec.get("comments", {}), newest_first,
                            [p for p in posts if p.archive_only], r)
        st.touch(sub)
        return sub

    def set_media(self, p, kind, r, newest_first):
        st = self.store
        files = st.media_files

        def img(ext, key=None, path=None, behavior="ok", size=None):
            mid = self.mid(r)
            if size is None and self.media_size:
                size = r.randint(*self.media_size)
            key = key or "img/" + mid
            path = path or "/media/i/%s.%s" % (mid, ext)
            spec = {"kind": ext, "key": key, "behavior": behavior}
            if size:
                spec["size"] = size
            files[path] = spec
            files[path.replace("/media/i/", "/media/preview/")] = spec
            return mid, path

        if kind in ("image_jpeg", "image_png"):
            ext = "jpeg" if kind == "image_jpeg" else "png"
            mid, path = img(ext)
            p.media = {"type": "image", "ext": ext, "mid": mid, "path": path}
        elif kind == "gif":
            mid, path = img("gif")
            pv = path.replace("/media/i/", "/media/preview/")
            files[pv + "?format=mp4"] = {"kind": "mp4", "key": "gifmp4/" + mid,
                                         "behavior": "ok"}
            p.media = {"type": "gif", "ext": "gif", "mid": mid, "path": path}
        elif kind in ("video", "video_noaudio", "transcoding"):
            vid = self.mid(r)
            audio = kind == "video"
            p.media = {"type": "transcoding" if kind == "transcoding"
                       else "video", "vid": vid, "audio": audio}
            if kind != "transcoding":
                v = "/media/v/" + vid
                files[v + "/DASH_720.mp4"] = {"kind": "mp4", "key": "v/" + vid}
                files[v + "/DASH_96.mp4"] = {"kind": "mp4", "key": "s/" + vid}
                files[v + "/DASHPlaylist.mpd"] = {
                    "kind": "mpd", "video": "DASH_720.mp4",
                    "audio": "DASH_AUDIO_128.mp4" if audio else None}
                files[v + "/HLSPlaylist.m3u8"] = {
                    "kind": "m3u8", "video": "DASH_720.mp4",
                    "audio": "DASH_AUDIO_128.mp4" if audio else None}
                files[v + "/DASH_AUDIO_128.mp4"] = \
                    {"kind": "audio", "key": "a/" + vid} if audio else \
                    {"kind": "html", "behavior": "forbidden"}
                files["/media/vthumb/%s.jpeg" % vid] = {"kind": "jpeg",
                                                        "key": "vt/" + vid}
                files["/media/preview/vthumb/%s.jpeg" % vid] = \
                    files["/media/vthumb/%s.jpeg" % vid]
        elif kind == "gallery":
            items = []
            for j, (ext, e, status) in enumerate(
                    [("jpg", "Image", "valid"), ("png", "Image", "valid"),
                     ("gif", "AnimatedImage", "valid"),
                     ("jpg", "Image", "failed"),
                     ("jpg", "Image", "unprocessed")]
                    if kind == "gallery" else []):
                mid, path = img(ext)
                if e == "AnimatedImage":
                    files["/media/preview/%s.gif?format=mp4" % mid] = {
                        "kind": "mp4", "key": "gmp4/" + mid}
                it = {"mid": mid, "ext": ext, "e": e, "status": status,
                      "caption": "item %d" % (j + 1)}
                if j == 1:
                    it["outbound_url"] = "/ext/outbound-%s.html" % mid
                    files[it["outbound_url"]] = {"kind": "html",
                                                 "title": "Outbound " + mid}
                items.append(it)
            p.media = {"type": "gallery", "items": items}
        elif kind == "gifv":
            iid = self.mid(r)[:7]
            files["/media/imgur/%s.gifv" % iid] = {"kind": "html",
                                                   "title": "imgur " + iid}
            files["/media/imgur/%s.mp4" % iid] = {"kind": "mp4",
                                                  "key": "imgur/" + iid}
            pv = "/media/extpreview/%s.gif" % iid
            files[pv] = {"kind": "gif", "key": "ep/" + iid}
            files[pv + "?format=mp4"] = {"kind": "mp4", "key": "epmp4/" + iid}
            # Reddit's own transcode of the external GIF
            v = "/media/v/" + iid
            files[v + "/DASH_360.mp4"] = {"kind": "mp4", "key": "rvp/" + iid}
            files[v + "/DASH_96.mp4"] = {"kind": "mp4", "key": "rvps/" + iid}
            files[v + "/DASHPlaylist.mpd"] = {"kind": "mpd",
                                              "video": "DASH_360.mp4"}
            files[v + "/HLSPlaylist.m3u8"] = {"kind": "m3u8",
                                              "video": "DASH_360.mp4"}
            p.media = {"type": "gifv", "iid": iid}
        elif kind == "link":
            n = self.mid(r)[:6]
            files["/ext/article-%s.html" % n] = {"kind": "html",
                                                 "title": "Article " + n}
            files["/media/extpreview/link%s.jpeg" % n] = {"kind": "jpeg",
                                                          "key": "lp/" + n}
            p.media = {"type": "link", "n": n}
        elif kind == "html_at_image":
            mid = self.mid(r)
            path = "/media/bad/%s.jpeg" % mid
            files[path] = {"kind": "html", "title": "Not an image",
                           "behavior": "ok"}
            files[path.replace("/media/bad/", "/media/preview/")] = files[path]
            p.media = {"type": "image", "ext": "jpeg", "mid": mid,
                       "path": path, "expect": "failed",
                       "reason": "html instead of image"}
        elif kind == "oversized":
            mid = self.mid(r)
            path = "/media/big/%s.jpeg" % mid
            files[path] = {"kind": "jpeg", "key": "big/" + mid,
                           "behavior": "big", "size": self.oversized}
            p.media = {"type": "image", "ext": "jpeg", "mid": mid,
                       "path": path, "expect": "failed",
                       "reason": "larger than max_bytes (%d bytes)"
                       % self.oversized}
        elif kind == "truncated":
            mid = self.mid(r)
            path = "/media/cut/%s.jpeg" % mid
            files[path] = {"kind": "jpeg", "key": "cut/" + mid,
                           "behavior": "cut"}
            p.media = {"type": "image", "ext": "jpeg", "mid": mid,
                       "path": path, "expect": "failed",
                       "reason": "body cut short of Content-Length"}
        elif kind in ("dup_a", "dup_b"):
            if kind == "dup_a":
                self._dup = img("jpeg", key="dup/" + self.mid(r))
            mid, path = self._dup
            p.media = {"type": "image", "ext": "jpeg", "mid": mid,
                       "path": path}
        elif kind in ("same_a", "same_b"):
            if kind == "same_a":
                self._same = "same/" + self.mid(r)
            mid, path = img("png", key=self._same)
            p.media = {"type": "image", "ext": "png", "mid": mid,
                       "path": path}
        elif kind == "crosspost":
            parent = next((q for q in newest_first
                           if q.media and q.media.get("type") == "video"),
                          None)
            if parent is not None:
                p.media = {"type": "crosspost", "parent": parent}
        # "self": nothing

    def build_comments(self, sub, cspec, served, archived, r):
        st = self.store
        zero = cspec.get("zero", 0.25)
        mean = cspec.get("mean", 4)
        counts = {}
        for i, p in enumerate(served):
            if r.random() < zero:
                counts[i] = 0
            else:
                counts[i] = 1 + int(r.expovariate(1.0 / max(0.01, mean - 1)))
        for i, c in cspec.get("fixed", []):
            counts[i] = c
        for h in cspec.get("huge", []):
            counts[h["post"]] = h["count"]
        deep = {d["post"]: d["length"] for d in cspec.get("deep", [])}
        p_del = cspec.get("deleted", 0.0)
        p_rem = cspec.get("removed", 0.0)
        top_share = cspec.get("top_share", 0.45)
        commenters = ["%s_user%d" % (sub.name[:8], i) for i in range(30)]
        # comments are created in time order across the whole sub
        plan = []
        for i, p in enumerate(served):
            n = counts.get(i, 0)
            if i in deep:
                n = max(n, deep[i])
            if n:
                plan.append((p, n, deep.get(i, 0)))
        for p in archived:
            plan.append((p, 0, 0))
        plan.sort(key=lambda x: x[0].id)
        for p, n, chain in plan:
            rr = self.rng("comments", p.id)
            made = []
            t = p.created + 30
            parent = None
            for k in range(chain):                 # a deep reply chain
                t += rr.randint(1, 120)
                parent = st.add_comment(p, parent, rr.choice(commenters),
                                        "Chain reply %d" % k, created=t)
                made.append(parent)
            for k in range(n - chain):
                t += rr.randint(1, 90)
                if not made or rr.random() < top_share:
                    par = None
                elif rr.random() < 0.7:
                    par = made[rr.randrange(len(made))]
                else:
                    # a reply to a recent comment: conversations go deeper
                    par = made[-1 - min(len(made) - 1,
                                        int(rr.expovariate(0.15)))]
                body = "Comment %d on %s: %s" % (k, p.sid, " ".join(
                    rr.choice(WORDS) for _ in range(6)))
                if k % 11 == 5:
                    body += " & <3 \U0001f600 \u201cquoted\u201d"
                c = st.add_comment(p, par, rr.choice(commenters), body,
                                   created=t)
                c.ups = rr.randint(1, 60)
                made.append(c)
            for c in made:
                x = rr.random()
                if x < p_del:
                    c.state, c.author, c.body = "deleted", "[deleted]", \
                        "[deleted]"
                elif x < p_del + p_rem:
                    c.state, c.author, c.body = "removed", "[deleted]", \
                        "[removed]"
            if made and n >= 5 and not chain:
                made[0].stickied = rr.random() < 0.1

    # -- users ------------------------------------------------------------

    def build_user(self, spec):
        st = self.store
        u = st.user(spec["name"])
        r = self.rng("user", u.name)
        sub = st.sub(spec.get("sub", "")) or st.sub("u_" + u.name) or \
            st.add_sub("u_" + u.name, created=st.now - 900 * 86400)
        n = spec.get("posts", 10)
        base = st.now - 30
        mine = []
        for i in range(n):
            created = base - (n - i) * 3700
            p = st.add_post(sub, u.name, "Post %d by %s" % (i, u.name),
                            created=created)
            p.selftext = "Text of %s's post %d." % (u.name, i)
            p.ups = r.randint(1, 300)
            mine.append(p)
        targets = [p for p in sub.posts] or mine
        for i in range(spec.get("comments", 0)):
            p = r.choice(targets)
            t = r.randint(min(p.created + 10, base), base)
            c = st.add_comment(p, None, u.name, "User comment %d by %s"
                               % (i, u.name), created=t)
            c.ups = r.randint(1, 40)
        st.touch(sub)


def build(spec, seed=None):
    return Builder(spec, seed).build()
