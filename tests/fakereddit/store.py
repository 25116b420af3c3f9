"""The fake's data store: subreddits, users, posts and a flat comment store,
and the Reddit algorithms over it (listings with the 1000-item horizon,
comment trees with more/continue stubs, /api/morechildren).

Objects here are plain records; render.py turns them into Reddit JSON.
"""

import heapq
import math
import threading
import time

B36 = "0123456789abcdefghijklmnopqrstuvwxyz"

WINDOWS = {"hour": 3600, "day": 86400, "week": 7 * 86400,
           "month": 30 * 86400, "year": 365 * 86400, "all": None}
LISTING_SORTS = ("hot", "new", "top", "controversial", "rising")
TIMED_SORTS = ("top", "controversial")
COMMENT_SORTS = ("confidence", "top", "new", "controversial", "old",
                 "random", "qa", "live")
MAX_DEPTH = 10


_b36 = {}


def b36(n):
    got = _b36.get(n)
    if got is None:
        got = _b36_make(n)
        if len(_b36) < 1000000:
            _b36[n] = got
    return got


def _b36_make(n):
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = B36[r] + s
        if n == 0:
            return s


def unb36(s):
    try:
        return int(s, 36)
    except (TypeError, ValueError):
        return None


class Sub:
    def __init__(self, name, state="public", sid=0, created=0):
        self.name = name
        self.state = state          # public private quarantined gated banned
        self.sid = sid
        self.created = created
        self.posts = []             # creation order (served by Reddit)
        self.comments = []          # creation order, all posts of the sub
        self.archive_only = []      # posts only the archive knows
        self.subscribers = 1000
        self.title = name
        self.description = ""
        self.live = False
        self.version = 0


class User:
    def __init__(self, name, state="ok", uid=0, created=0):
        self.name = name
        self.state = state          # ok suspended
        self.uid = uid
        self.created = created
        self.posts = []
        self.comments = []
        self.version = 0


class Post:
    __slots__ = ("id", "seq", "sub", "author", "created", "ups", "downs",
                 "title", "selftext", "media", "removed_by", "stickied",
                 "comments", "top", "archive_only", "edited", "_sizes",
                 "_sizes_n")

    def __init__(self, pid, seq, sub, author, created, title):
        self.id = pid
        self.seq = seq
        self.sub = sub
        self.author = author
        self.created = created
        self.title = title
        self.ups = 1
        self.downs = 0
        self.selftext = ""
        self.media = None           # dict, see scenario.MEDIA_KINDS
        self.removed_by = None      # None, "moderator", "deleted"
        self.stickied = False
        self.comments = []          # every comment, creation order
        self.top = []               # top-level comments
        self.archive_only = False
        self.edited = False
        self._sizes = None
        self._sizes_n = -1

    @property
    def score(self):
        return self.ups - self.downs

    @property
    def fullname(self):
        return "t3_" + b36(self.id)

    @property
    def sid(self):
        return b36(self.id)

    def subtree_sizes(self):
        """comment id -> size of its subtree (itself included)."""
        if self._sizes_n != len(self.comments):
            sizes = {}
            for c in reversed(self.comments):   # children are newer
                sizes[c.id] = 1 + sum(sizes[k.id] for k in c.children)
            self._sizes = sizes
            self._sizes_n = len(self.comments)
        return self._sizes


class Comment:
    __slots__ = ("id", "seq", "post", "parent", "depth", "author", "created",
                 "ups", "downs", "body", "state", "children", "stickied",
                 "edited")

    def __init__(self, cid, seq, post, parent, author, created, body):
        self.id = cid
        self.seq = seq
        self.post = post
        self.parent = parent
        self.depth = 0 if parent is None else parent.depth + 1
        self.author = author
        self.created = created
        self.body = body
        self.ups = 1
        self.downs = 0
        self.state = "ok"           # ok deleted removed
        self.children = []
        self.stickied = False
        self.edited = False

    @property
    def score(self):
        return self.ups - self.downs

    @property
    def fullname(self):
        return "t1_" + b36(self.id)

    @property
    def sid(self):
        return b36(self.id)

    @property
    def parent_fullname(self):
        return self.parent.fullname if self.parent else self.post.fullname


def _contro(x):
    u, d = x.ups, x.downs
    if u <= 0 or d <= 0:
        return 0.0
    return (u + d) ** (min(u, d) / max(u, d))


def _hot(x):
    s = x.score
    order = math.log10(max(abs(s), 1))
    sign = 1 if s > 0 else (-1 if s < 0 else 0)
    return round(sign * order + (x.created - 1134028003) / 45000, 7)


class Store:
    def __init__(self, now=1775000000, horizon=1000):
        self.lock = threading.RLock()
        self.subs = {}
        self.users = {}
        self.posts = {}
        self.comments = {}
        self.media_files = {}       # path -> file spec dict
        self.now = now
        self.horizon = horizon
        self.next_post = int("1s00000", 36)
        self.next_comment = int("o000000", 36)
        self.next_seq = 1
        self.last_created = 0
        self._lcache = {}

    # -- creation -------------------------------------------------------

    def add_sub(self, name, **kw):
        s = Sub(name, sid=int("2q0000", 36) + len(self.subs) * 7919, **kw)
        self.subs[name.lower()] = s
        return s

    def add_user(self, name, **kw):
        u = User(name, uid=int("3e0000", 36) + len(self.users) * 7907, **kw)
        self.users[name.lower()] = u
        return u

    def user(self, name):
        u = self.users.get(name.lower())
        if u is None:
            u = self.add_user(name, created=self.now - 400 * 86400)
        return u

    def _created(self, created):
        if created is None:
            created = max(int(time.time()), self.last_created)
        self.last_created = max(self.last_created, created)
        return created

    def add_post(self, sub, author, title, created=None, archive_only=False):
        created = self._created(created)
        p = Post(self.next_post, self.next_seq, sub, author, created, title)
        self.next_post += 1
        self.next_seq += 1
        p.archive_only = archive_only
        self.posts[p.id] = p
        if archive_only:
            sub.archive_only.append(p)
        else:
            sub.posts.append(p)
            if author != "[deleted]":
                u = self.user(author)
                u.posts.append(p)
                u.version += 1
        sub.version += 1
        return p

    def add_comment(self, post, parent, author, body, created=None):
        created = self._created(created)
        c = Comment(self.next_comment, self.next_seq, post, parent, author,
                    created, body)
        self.next_comment += 1
        self.next_seq += 1
        self.comments[c.id] = c
        post.comments.append(c)
        (parent.children if parent else post.top).append(c)
        post.sub.comments.append(c)
        post.sub.version += 1
        if author != "[deleted]":
            u = self.user(author)
            u.comments.append(c)
            u.version += 1
        return c

    def touch(self, sub):
        sub.version += 1

    # -- lookups ----------------------------------------------------------

    def sub(self, name):
        return self.subs.get(name.lower())

    def post_by_id(self, sid):
        n = unb36(sid)
        p = self.posts.get(n) if n is not None else None
        return p

    def comment_by_id(self, sid):
        n = unb36(sid)
        return self.comments.get(n) if n is not None else None

    def ref_time(self, posts):
        newest = posts[-1].created if posts else 0
        return max(self.now, newest)

    # -- listings -------------------------------------------------------

    def _ordered(self, posts, sort, t, stickies_first=True):
        if sort == "new":
            return list(reversed(posts))
        ref = self.ref_time(posts)
        if sort in TIMED_SORTS:
            win = WINDOWS.get(t, WINDOWS["day"])
            if win is not None:
                posts = [p for p in posts if p.created >= ref - win]
            if sort == "top":
                return sorted(posts, key=lambda p: (-p.score, -p.id))
            return sorted(posts, key=lambda p: (-_contro(p), -p.id))
        if sort == "rising":
            recent = [p for p in posts if p.created >= ref - 86400]
            return sorted(recent, key=lambda p: (
                -p.score / ((ref - p.created) / 3600.0 + 2), -p.id))
        # hot
        out = sorted(posts, key=lambda p: (-_hot(p), -p.id))
        if stickies_first:
            st = [p for p in out if p.stickied][:2]
            out = st + [p for p in out if not (p.stickied and p in st)]
        return out

    def sub_listing(self, sub, sort, t):
        """Posts of a listing, newest-first order of that sort, capped."""
        key = ("sub", sub.name, sort, t if sort in TIMED_SORTS else None)
        got = self._lcache.get(key)
        if got and got[0] == sub.version:
            return got[1], got[2]
        posts = [p for p in sub.posts if p.removed_by != "moderator"]
        items = self._ordered(posts, sort, t)[:self.horizon]
        index = {x.fullname: i for i, x in enumerate(items)}
        self._lcache[key] = (sub.version, items, index)
        return items, index

    def multi(self, names):
        """/r/a+b+c: a listing over several subreddits (None if any is
        missing; unavailable ones make the whole request fail)."""
        subs = [self.sub(n) for n in names]
        if not subs or any(s is None for s in subs):
            return None
        bad = [s for s in subs if s.state != "public"]
        if bad:
            return bad[0]
        m = Sub("+".join(s.name for s in subs))
        m.posts = sorted((p for s in subs for p in s.posts),
                         key=lambda p: p.id)
        m.comments = sorted((c for s in subs for c in s.comments),
                            key=lambda c: c.id)
        m.version = ("multi", tuple(s.version for s in subs))
        return m

    def sub_comment_stream(self, sub):
        key = ("subc", sub.name)
        got = self._lcache.get(key)
        if got and got[0] == sub.version:
            return got[1], got[2]
        items = [c for c in reversed(sub.comments)
                 if not c.post.archive_only][:self.horizon]
        index = {x.fullname: i for i, x in enumerate(items)}
        self._lcache[key] = (sub.version, items, index)
        return items, index

    def user_listing(self, user, what, sort, t):
        key = ("user", user.name, what, sort, t if sort in TIMED_SORTS else None)
        got = self._lcache.get(key)
        if got and got[0] == user.version:
            return got[1], got[2]
        if what == "submitted":
            base = user.posts
        elif what == "comments":
            base = user.comments
        else:
            base = sorted(user.posts + user.comments, key=lambda x: x.seq)
        if sort == "new":
            items = sorted(base, key=lambda x: -x.seq)
        else:
            ref = max(self.now, max((x.created for x in base), default=0))
            if sort in TIMED_SORTS:
                win = WINDOWS.get(t, WINDOWS["all"])
                if win is not None:
                    base = [x for x in base if x.created >= ref - win]
            if sort == "top":
                items = sorted(base, key=lambda x: (-x.score, -x.seq))
            elif sort == "controversial":
                items = sorted(base, key=lambda x: (-_contro(x), -x.seq))
            else:
                items = sorted(base, key=lambda x: (-_hot(x), -x.seq))
        items = items[:self.horizon]
        index = {x.fullname: i for i, x in enumerate(items)}
        self._lcache[key] = (user.version, items, index)
        return items, index

    @staticmethod
    def page(items, index, after, before, limit):
        """Reddit's after/before paging (REDDIT.md section 3).

        Returns (children, after, before)."""
        if before:
            i = index.get(before)
            if i is None:
                return [], None, None
            return items[max(0, i - limit):i], None, None
        if after:
            i = index.get(after)
            if i is None:
                return [], None, None
            start = i + 1
        else:
            start = 0
        chunk = items[start:start + limit]
        nxt = chunk[-1].fullname if chunk and start + len(chunk) < len(items) \
            else None
        return chunk, nxt, None

    # -- comment trees --------------------------------------------------

    def comment_key(self, sort, seed=0):
        if sort == "new" or sort == "live":
            return lambda c: (not c.stickied, -c.id)
        if sort == "old":
            return lambda c: (not c.stickied, c.id)
        if sort == "controversial":
            return lambda c: (not c.stickied, -_contro(c), c.id)
        if sort == "random":
            return lambda c: (not c.stickied, (c.id * 2654435761 + seed) % 4294967296)
        return lambda c: (not c.stickied, -c.score, c.id)     # confidence top qa

    def select(self, roots, key, limit, max_depth, base_depth):
        """Pick up to `limit` comments, best first across levels (as
        Reddit's CommentBuilder does), not below max_depth."""
        heap = [(key(c), c.id, c) for c in roots]
        heapq.heapify(heap)
        chosen = set()
        while heap and len(chosen) < limit:
            _, _, c = heapq.heappop(heap)
            if c.id in chosen:
                continue
            chosen.add(c.id)
            if c.depth - base_depth + 1 < max_depth:
                for k in c.children:
                    heapq.heappush(heap, (key(k), k.id, k))
        return chosen

    def tree(self, post, sort="confidence", limit=500, depth=None,
             focus=None):
        """Nested tree for /comments: a list of ("t1", c, kids, d) /
        ("more", dict) entries, d the shown depth."""
        max_depth = MAX_DEPTH if not depth else max(1, min(depth, MAX_DEPTH))
        key = self.comment_key(sort)
        if focus is not None:
            roots, base = [focus], focus.depth
        else:
            roots, base = post.top, 0
        chosen = self.select(roots, key, limit, max_depth, base)
        sizes = post.subtree_sizes()

        def level(children, parent_fullname, d):
            kids = sorted(children, key=key)
            out = []
            hidden = []
            for c in kids:
                if c.id in chosen:
                    out.append(("t1", c, level(c.children, c.fullname, d + 1),
                                d))
                else:
                    hidden.append(c)
            if hidden:
                out.append(("more", self.stub(hidden, parent_fullname, d,
                                              sizes, max_depth)))
            return out

        if focus is not None:
            if focus.id not in chosen:
                return []
            return [("t1", focus, level(focus.children, focus.fullname, 1), 0)]
        return level(post.top, post.fullname, 0)

    @staticmethod
    def stub(hidden, parent_fullname, d, sizes, max_depth=MAX_DEPTH):
        if d >= max_depth:
            return {"count": 0, "name": "t1__", "id": "_",
                    "parent_id": parent_fullname, "depth": d, "children": []}
        ids = [c.sid for c in hidden]
        return {"count": sum(sizes[c.id] for c in hidden),
                "name": "t1_" + ids[0], "id": ids[0],
                "parent_id": parent_fullname, "depth": d, "children": ids}

    def morechildren(self, post, ids, sort="confidence", cap=100, depth=None,
                     limit_children=False):
        """Flat depth-first list for /api/morechildren: ("t1", c, depth)
        and ("more", dict)."""
        key = self.comment_key(sort)
        want = []
        seen = set()
        for sid in ids:
            c = self.comment_by_id(sid)
            if c is None or c.post is not post or c.id in seen:
                continue
            seen.add(c.id)
            want.append(c)
        if not want:
            return []
        roots = [c for c in want if c.parent is None or c.parent.id not in seen]
        base = (min(c.depth for c in roots) // MAX_DEPTH) * MAX_DEPTH
        max_depth = MAX_DEPTH if not depth else max(1, min(depth, MAX_DEPTH))
        if limit_children:
            roots.sort(key=key)
            chosen = {c.id for c in roots[:cap]}
        else:
            chosen = self.select(roots, key, cap, max_depth, base)
        sizes = post.subtree_sizes()
        out = []

        def emit(c):
            out.append(("t1", c, c.depth))
            kids = sorted(c.children, key=key)
            hidden = []
            for k in kids:
                if k.id in chosen:
                    emit(k)
                else:
                    hidden.append(k)
            if hidden:
                out.append(("more", self.stub(hidden, c.fullname, c.depth + 1,
                                              sizes, base + max_depth)))

        roots.sort(key=key)
        left = {}
        for c in roots:
            if c.id in chosen:
                emit(c)
            else:
                left.setdefault(c.parent_fullname, []).append(c)
        for pf, cs in left.items():
            out.append(("more", self.stub(cs, pf, cs[0].depth, sizes,
                                          base + max_depth + 1)))
        return out

    def finalize(self):
        """Give ids in creation-time order, as Reddit's are: the generator
        makes things out of time order, so number them only at the end."""
        posts = sorted(self.posts.values(), key=lambda p: (p.created, p.seq))
        comments = sorted(self.comments.values(),
                          key=lambda c: (c.created, c.seq))
        base = int("1s00000", 36)
        for i, p in enumerate(posts):
            p.id = base + i
        self.posts = {p.id: p for p in posts}
        self.next_post = base + len(posts)
        base = int("o000000", 36)
        for i, c in enumerate(comments):
            c.id = base + i
        self.comments = {c.id: c for c in comments}
        self.next_comment = base + len(comments)
        allx = sorted(posts + comments, key=lambda x: (x.created, x.seq))
        for i, x in enumerate(allx):
            x.seq = i + 1
        self.next_seq = len(allx) + 1
        for s in self.subs.values():
            s.posts.sort(key=lambda x: x.id)
            s.archive_only.sort(key=lambda x: x.id)
            s.comments.sort(key=lambda x: x.id)
            s.version += 1
        for u in self.users.values():
            u.posts.sort(key=lambda x: x.id)
            u.comments.sort(key=lambda x: x.id)
            u.version += 1
        for p in posts:
            p.comments.sort(key=lambda x: x.id)
            p.top.sort(key=lambda x: x.id)
            p._sizes_n = -1
        for c in comments:
            c.children.sort(key=lambda x: x.id)
        self.last_created = max([self.now] + [x.created for x in allx])
        self._lcache.clear()
