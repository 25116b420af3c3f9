"""Reddit API endpoints of the fake (everything behind the bearer token),
plus the media files and the Arctic-Shift-style archive."""

import re
import time
from urllib.parse import quote

from . import fixtures
from . import media as M
from . import render as R
from .store import COMMENT_SORTS, LISTING_SORTS, TIMED_SORTS, WINDOWS

_ENT = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def escape_entities(o):
    """What Reddit does to every string without raw_json=1."""
    if isinstance(o, str):
        for a, b in _ENT:
            o = o.replace(a, b)
        return o
    if isinstance(o, list):
        return [escape_entities(x) for x in o]
    if isinstance(o, dict):
        return {k: escape_entities(v) for k, v in o.items()}
    return o


def _reply(obj, status=200, raw=True, headers=None):
    from .server import json_reply
    return json_reply(obj, status, raw, headers)


def _html(status, text, headers=None):
    from .server import html_reply
    return html_reply(status, text, headers)


def not_found():
    return _reply({"message": "Not Found", "error": 404}, 404)


def forbidden():
    return _reply({"message": "Forbidden", "error": 403}, 403)


def sub_error(sub):
    """Error reply for an unavailable subreddit, or None."""
    st = sub.state
    if st == "private":
        return _reply({"reason": "private", "message": "Forbidden",
                       "error": 403}, 403)
    if st == "quarantined":
        return _reply(fixtures.load("error_403_quarantined.json"), 403)
    if st == "gated":
        return _reply({
            "interstitial_warning_message_html":
                '<!-- SC_OFF --><div class="md"><p>This community has been '
                'gated by Reddit admins.</p>\n</div><!-- SC_ON -->',
            "reason": "gated",
            "interstitial_warning_message":
                "This community has been gated by Reddit admins.",
            "message": "Forbidden", "error": 403}, 403)
    if st == "banned":
        return _reply({"reason": "banned", "message": "Not Found",
                       "error": 404}, 404)
    return None


def redirect_search(srv, name, public):
    loc = "%s/subreddits/search%s?q=%s" % (srv.base, ".json" if public
                                           else "", quote(name))
    page = fixtures.load("redirect_302_r_random.html")
    page = page.replace("https://oauth.reddit.com/r/RelayForReddit/.json"
                        "?raw_json=1", loc)
    return _html(302, page, [("Location", loc)])


def _limit(args, default=25, hi=100):
    try:
        n = int(args.get("limit", default))
    except ValueError:
        return default
    return max(1, min(hi, n))


def _page(srv, items, index, args):
    limit = _limit(args)
    return srv.store.page(items, index, args.get("after") or None,
                          args.get("before") or None, limit)


def _listing_reply(srv, things, after, before, raw):
    lst = R.listing(things, after, before)
    return _reply(lst, raw=raw)


def dispatch(srv, method, path, args, raw, public):
    parts = [p for p in path.split("/") if p]
    st = srv.store
    with srv.lock:
        if not parts:
            return not_found()
        if parts[0] == "r" and len(parts) >= 2:
            return subreddit(srv, parts[1:], args, raw, public)
        if parts[0] in ("user", "u") and len(parts) >= 2:
            return user(srv, parts[1:], args, raw)
        if parts[0] == "comments" and len(parts) >= 2:
            focus = parts[3] if len(parts) >= 4 else args.get("comment")
            return comments(srv, parts[1], focus, args, raw)
        if parts == ["api", "info"]:
            return info(srv, args, raw)
        if parts == ["subreddits", "search"]:
            srv.count("search")
            q = args.get("q", "").lower()
            things = [{"kind": "t5", "data": R.sub_about(s, srv.base)}
                      for s in st.subs.values()
                      if q and q in s.name.lower() and s.state == "public"]
            return _listing_reply(srv, things[:_limit(args)], None, None, raw)
    if parts == ["api", "morechildren"]:
        return morechildren(srv, args, raw)
    return not_found()


def subreddit(srv, parts, args, raw, public):
    st = srv.store
    name = parts[0]
    sub = st.sub(name)
    rest = parts[1:]
    if sub is None and "+" in name and (not rest or rest[0] in LISTING_SORTS):
        sub = st.multi(name.split("+"))
    if rest[:1] == ["about"]:
        srv.count("about")
        if sub is None:
            return not_found()
        return sub_error(sub) or _reply({"kind": "t5", "data": R.sub_about(
            sub, srv.base)}, raw=raw)
    if rest[:1] == ["comments"] and len(rest) >= 2:
        focus = rest[3] if len(rest) >= 4 else args.get("comment")
        return comments(srv, rest[1], focus, args, raw, sub_name=name)
    if rest == ["comments"]:
        srv.count("comment_stream")
        if sub is None:
            return redirect_search(srv, name, public)
        err = sub_error(sub)
        if err:
            return err
        items, index = st.sub_comment_stream(sub)
        chunk, after, before = _page(srv, items, index, args)
        things = [{"kind": "t1", "data": R.comment_stream(c, srv.base, st)}
                  for c in chunk]
        return _listing_reply(srv, things, after, before, raw)
    sort = rest[0] if rest else "hot"
    if sort not in LISTING_SORTS or len(rest) > 1:
        return not_found()
    srv.count("listing")
    if sub is None:
        return redirect_search(srv, name, public)
    err = sub_error(sub)
    if err:
        return err
    t = args.get("t", "day") if sort in TIMED_SORTS else None
    if t is not None and t not in WINDOWS:
        t = "day"
    items, index = st.sub_listing(sub, sort, t)
    chunk, after, before = _page(srv, items, index, args)
    things = [{"kind": "t3", "data": R.post(p, srv.base, st)} for p in chunk]
    return _listing_reply(srv, things, after, before, raw)


def user(srv, parts, args, raw):
    st = srv.store
    u = st.users.get(parts[0].lower())
    what = parts[1] if len(parts) > 1 else "overview"
    if what == "about":
        srv.count("user_about")
        if u is None:
            return not_found()
        if u.state == "suspended":
            return _reply({"kind": "t2", "data": {"is_suspended": True,
                                                  "name": u.name}}, raw=raw)
        return _reply({"kind": "t2", "data": R.user_about(u, srv.base)}, raw=raw)
    if what not in ("overview", "submitted", "comments") or len(parts) > 2:
        return not_found()
    srv.count("user_listing")
    if u is None:
        return not_found()
    if u.state == "suspended":
        return forbidden()
    sort = args.get("sort", "new")
    if sort not in ("new", "hot", "top", "controversial"):
        sort = "new"
    t = args.get("t", "all") if sort in TIMED_SORTS else None
    items, index = st.user_listing(u, what, sort, t)
    chunk, after, before = _page(srv, items, index, args)
    things = []
    for x in chunk:
        if x.fullname.startswith("t3_"):
            things.append({"kind": "t3", "data": R.post(x, srv.base, st)})
        else:
            things.append({"kind": "t1", "data": R.comment_stream(
                x, srv.base, st)})
    return _listing_reply(srv, things, after, before, raw)


def comments(srv, article, focus_id, args, raw, sub_name=None):
    st = srv.store
    p = st.post_by_id(article)
    srv.count("continue" if focus_id else "comments")
    if p is None or p.archive_only:
        return not_found()
    err = sub_error(p.sub)
    if err:
        return err
    focus = None
    if focus_id:
        focus = st.comment_by_id(focus_id)
        if focus is not None and focus.post is not p:
            focus = None
    sort = args.get("sort", "confidence")
    if sort not in COMMENT_SORTS:
        sort = "confidence"
    try:
        limit = int(args.get("limit", 200))
    except ValueError:
        limit = 200
    limit = max(1, min(srv.cfg.tree_limit_max, limit))
    try:
        depth = int(args["depth"]) if args.get("depth") else None
    except ValueError:
        depth = None
    if focus_id and focus is None:
        entries = []            # a gone comment: the post, no comments
    else:
        entries = st.tree(p, sort, limit, depth, focus)
    things = R.tree_things(entries, srv.base, st)
    post_listing = {"kind": "Listing", "data": {
        "after": None, "dist": 1, "modhash": None, "geo_filter": "",
        "children": [{"kind": "t3", "data": R.post(p, srv.base, st, True)}],
        "before": None}}
    return _reply([post_listing, R.listing(things, dist=False)], raw=raw)


def morechildren(srv, args, raw):
    st = srv.store
    srv.count("morechildren")
    with srv.lock:
        overlap = srv.mc_inflight > 0
        srv.mc_inflight += 1
        if overlap:
            srv.stats["morechildren_concurrent"] += 1
    try:
        if overlap and srv.cfg.morechildren_lock:
            from .server import too_many
            return too_many(srv, srv.cfg.retry_after)
        if srv.cfg.morechildren_delay > 0:
            time.sleep(srv.cfg.morechildren_delay)
        link = args.get("link_id", "")
        ids = [x.strip() for x in re.split(r"[,\s]+", args.get("children",
                                                                "")) if x]
        # --cache-bodies: the answer (and its gzip) made once per distinct
        # call, as the other endpoints' are; the lock, the delay and the
        # counters above and below still apply to every call
        ckey = ("morechildren", tuple(sorted(args.items())), raw)
        hit = srv.body_cache.get(ckey) if srv.cfg.cache_bodies else None
        if hit is not None:
            if hit.nids:
                srv.count("morechildren_ids", hit.nids)
            return hit.copy()
        nids = 0
        with srv.lock:
            p = st.post_by_id(link[3:] if link.startswith("t3_") else link)
            if p is None or p.archive_only:
                things = []
            else:
                srv.count("morechildren_ids", len(ids))
                nids = len(ids)
                sort = args.get("sort", "confidence")
                if sort not in COMMENT_SORTS:
                    sort = "confidence"
                try:
                    depth = int(args["depth"]) if args.get("depth") else None
                except ValueError:
                    depth = None
                lc = str(args.get("limit_children", "")).lower() in (
                    "1", "true")
                things = []
                for e in st.morechildren(p, ids, sort,
                                         srv.cfg.morechildren_cap, depth, lc):
                    if e[0] == "more":
                        things.append({"kind": "more", "data": dict(e[1])})
                    else:
                        things.append({"kind": "t1", "data": R.comment_tree(
                            e[1], e[2], "", srv.base, st)})
        if args.get("api_type") != "json":
            return _reply({"jquery": [[0, 1, "call", ["body"]]],
                           "success": True}, raw=raw)
        rep = _reply({"json": {"errors": [], "data": {"things": things}}},
                     raw=raw)
        if srv.cfg.cache_bodies:
            rep.nids = nids         # counted again on each cached answer
            rep = srv.cache_keep(ckey, rep).copy()
        return rep
    finally:
        with srv.lock:
            srv.mc_inflight -= 1


def info(srv, args, raw):
    st = srv.store
    srv.count("info")
    things = []
    for fn in (args.get("id") or "").split(",")[:100]:
        fn = fn.strip()
        if fn.startswith("t3_"):
            p = st.post_by_id(fn[3:])
            if p is not None and not p.archive_only:
                things.append({"kind": "t3", "data": R.post(p, srv.base, st)})
        elif fn.startswith("t1_"):
            c = st.comment_by_id(fn[3:])
            if c is not None:
                things.append({"kind": "t1", "data": R.comment_stream(
                    c, srv.base, st)})
        elif fn.startswith("t5_"):
            for s in st.subs.values():
                if "t5_" + R.b36(s.sid) == fn:
                    things.append({"kind": "t5", "data": R.sub_about(
                        s, srv.base)})
    lst = R.listing(things)
    lst["data"]["after"] = None
    return _reply(lst, raw=raw)


def archive(srv, path, q):
    """Arctic Shift style: GET /api/posts/search?subreddit=|author=&before=
    &after=&limit=<=100, newest first, {"data": [post objects]}."""
    st = srv.store
    with srv.lock:
        if path == "/api/comments/search":
            return _reply({"data": []})
        name = q.get("subreddit")
        author = q.get("author")
        if name:
            sub = st.sub(name.lstrip("r/") if name.startswith("r/") else name)
            posts = (sub.posts + sub.archive_only) if sub else []
        elif author:
            u = st.users.get(author.lower())
            posts = list(u.posts) if u else []
        else:
            return _reply({"error": "subreddit or author required"}, 400)
        try:
            limit = q.get("limit", "100")
            limit = 100 if limit == "auto" else max(1, min(100, int(limit)))
            before = float(q["before"]) if q.get("before") else None
            after = float(q["after"]) if q.get("after") else None
        except ValueError:
            return _reply({"error": "bad parameter"}, 400)
        desc = q.get("sort", "desc") != "asc"
        sel = [p for p in posts
               if (before is None or p.created < before)
               and (after is None or p.created > after)]
        sel.sort(key=lambda p: (p.created, p.id), reverse=desc)
        out = [R.post(p, srv.base, st) for p in sel[:limit]]
    return _reply({"data": out})


def media(srv, path, rawq, q):
    st = srv.store
    srv.count("media")
    spec = None
    if q.get("format") == "mp4":
        spec = st.media_files.get(path + "?format=mp4")
        key = path + "?format=mp4"
    if spec is None:
        spec = st.media_files.get(path)
        key = path
    if spec is None and path.startswith("/media/gen/"):
        # /media/gen/<name>.<jpeg|png|gif|mp4>?bytes=N: any number of
        # distinct real files, for benchmarks
        name, _, ext = path[len("/media/gen/"):].rpartition(".")
        if ext in ("jpeg", "jpg", "png", "gif", "mp4") and name:
            try:
                size = max(64, min(64 << 20, int(q.get("bytes", 100000))))
            except ValueError:
                size = 100000
            spec = {"kind": ext, "key": "gen/" + name, "size": size}
            key = "%s?bytes=%d" % (path, size)
    if spec is None and path.startswith("/gallery/"):
        return _html(200, M.html_page("Gallery " + path[9:]))
    if spec is None and path.startswith("/media/v/") and path.count("/") == 3:
        return _html(200, M.html_page("v.redd.it " + path[9:]))
    if spec is None:
        return _html(404, M.html_page("404 Not Found"))
    behavior = spec.get("behavior", "ok")
    if behavior == "forbidden":
        return _html(403, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<Error><Code>AccessDenied</Code><Message>Access Denied"
                     "</Message></Error>")
    kind = spec["kind"]
    ctype = M.CONTENT_TYPES.get(kind, "video/mp4")
    if kind == "html":
        ctype = M.CONTENT_TYPES["html"]
    from .server import Reply
    if behavior == "big":
        head = M.jpeg(spec["key"], 4000)[:-2]
        total = spec["size"]

        def gen():
            yield head
            left = total - len(head) - 2
            block = b"\x00" * 65536
            while left > 0:
                n = min(left, len(block))
                yield block[:n]
                left -= n
            yield b"\xff\xd9"
        rep = Reply(200, b"", ctype)
        rep.stream = (total, gen())
        return rep
    body = srv.file_bytes(key, spec)
    rep = Reply(200, body, ctype, [("Accept-Ranges", "bytes")])
    if behavior == "cut":
        rep.cut = True
    return rep
