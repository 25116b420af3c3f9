"""What a correct scraper must end with, computed from the data store only.

Nothing here looks at what any client did; tests compare the scraper's
counts with these numbers.
"""

import math

from . import media as M
from . import render as R
from .store import LISTING_SORTS, TIMED_SORTS, WINDOWS


def _file_bytes(srv, path):
    spec = srv.store.media_files.get(path)
    if spec is None:
        return None
    return srv.file_bytes(path, spec)


def media_items(srv, p):
    """One entry per media item a user would count (issue 4)."""
    m = p.media
    if not m:
        return []
    typ = m["type"]
    if typ == "crosspost":
        items = media_items(srv, m["parent"])
        for it in items:
            it["via_crosspost"] = m["parent"].fullname
        return items
    out = []

    def item(kind, path, expect="downloaded", reason=None, **kw):
        spec = srv.store.media_files.get(path.split("#")[0])
        it = {"type": kind, "url": srv.base + path, "expect": expect}
        if expect == "downloaded" and spec is not None:
            b = srv.file_bytes(path, spec)
            it["sha256"] = M.sha256(b)
            it["bytes"] = len(b)
            it["content_type"] = M.CONTENT_TYPES.get(spec["kind"],
                                                     "video/mp4")
        if reason:
            it["reason"] = reason
        if spec is not None and spec.get("behavior") == "big":
            it["bytes"] = spec["size"]
        it.update(kw)
        out.append(it)

    if typ == "image":
        item("image", m["path"], m.get("expect", "downloaded"),
             m.get("reason"))
    elif typ == "gif":
        item("animated", m["path"],
             mp4_url=srv.base + m["path"].replace("/media/i/",
                                                  "/media/preview/")
             + "?format=mp4",
             mp4_sha256=M.sha256(srv.file_bytes(
                 m["path"].replace("/media/i/", "/media/preview/")
                 + "?format=mp4")))
    elif typ == "video":
        v = "/media/v/%s" % m["vid"]
        vb = srv.file_bytes(v + "/DASH_720.mp4")
        it = {"type": "video", "url": srv.base + v + "/DASH_720.mp4",
              "expect": "downloaded", "has_audio": m["audio"],
              "video_sha256": M.sha256(vb), "video_bytes": len(vb)}
        if m["audio"]:
            ab = srv.file_bytes(v + "/DASH_AUDIO_128.mp4")
            it["audio_url"] = srv.base + v + "/DASH_AUDIO_128.mp4"
            it["audio_sha256"] = M.sha256(ab)
            it["audio_bytes"] = len(ab)
        else:
            it["sha256"] = it["video_sha256"]
        out.append(it)
    elif typ == "transcoding":
        out.append({"type": "video", "url": None, "expect": "failed",
                    "reason": "media null (still transcoding)"})
    elif typ == "gallery":
        for i, g in enumerate(m["items"]):
            path = "/media/preview/%s.%s" % (g["mid"], g["ext"])
            if g["status"] != "valid":
                out.append({"type": "gallery_item", "index": i,
                            "url": None, "expect": "failed",
                            "reason": "status " + g["status"]})
            elif g["e"] == "AnimatedImage":
                item("gallery_item", "/media/i/%s.gif" % g["mid"], index=i,
                     animated=True)
            else:
                item("gallery_item", path, index=i)
    elif typ == "gifv":
        item("gifv", "/media/imgur/%s.mp4" % m["iid"],
             page_url=srv.base + "/media/imgur/%s.gifv" % m["iid"])
    return out


def listing_sets(srv, sub):
    st = srv.store
    sets = {}
    for sort in LISTING_SORTS:
        if sort in TIMED_SORTS:
            for t in WINDOWS:
                items, _ = st.sub_listing(sub, sort, t)
                sets["%s/%s" % (sort, t)] = {p.id for p in items}
        else:
            items, _ = st.sub_listing(sub, sort, None)
            sets[sort] = {p.id for p in items}
    return sets


def tree_cost(srv, p, limit=500, batch=100):
    """Requests a frugal client needs for one post's full tree: one tree
    fetch, then morechildren in pooled batches of `batch` ids (answers
    capped as the fake caps them) and one fetch per continue stub."""
    st = srv.store
    if not p.comments:
        return {"tree": 0, "morechildren": 0, "continue": 0}
    cost = {"tree": 1, "morechildren": 0, "continue": 0}
    pending_ids = []
    cont = []

    def scan_tree(entries):
        for e in entries:
            if e[0] == "more":
                if e[1]["count"] == 0:
                    cont.append(e[1]["parent_id"][3:])
                else:
                    pending_ids.extend(e[1]["children"])
            else:
                scan_tree(e[2])

    scan_tree(st.tree(p, "confidence", limit))
    while pending_ids or cont:
        while pending_ids:
            b, pending_ids[:] = pending_ids[:batch], pending_ids[batch:]
            cost["morechildren"] += 1
            for e in st.morechildren(p, b, cap=srv.cfg.morechildren_cap):
                if e[0] == "more":
                    if e[1]["count"] == 0:
                        cont.append(e[1]["parent_id"][3:])
                    else:
                        pending_ids.extend(e[1]["children"])
        while cont:
            cid = cont.pop()
            c = st.comment_by_id(cid)
            cost["continue"] += 1
            scan_tree(st.tree(p, "confidence", limit, focus=c))
    return cost


def sub_truth(srv, sub, limit, detail=False):
    st = srv.store
    new, _ = st.sub_listing(sub, "new", None)
    window = new[:limit]
    out = {"target": sub.name, "target_type": "subreddit", "limit": limit,
           "state": sub.state,
           "posts_total": len(sub.posts),
           "listing_new": len(new),
           "posts": len(window),
           "listing_exhausted": limit >= len(new)}
    out.update(_posts_truth(srv, window, detail))
    out["requests_min"]["listing"] = max(1, math.ceil(len(window) / 100))
    out["requests_min"]["about"] = 1
    out["requests_min"]["total"] = sum(
        v for k, v in out["requests_min"].items() if k != "total")
    sets = listing_sets(srv, sub)
    union = set().union(*sets.values()) if sets else set()
    out["listings"] = {k: len(v) for k, v in sets.items()}
    out["listing_union"] = len(union)
    out.update(_history_truth(sub, union))
    out["archive_total"] = len(sub.posts) + len(sub.archive_only)
    out["archive_only"] = len(sub.archive_only)
    out["comment_stream"] = len(st.sub_comment_stream(sub)[0])
    if detail:
        out["listing_unreachable"] = sorted(
            p.fullname for p in sub.posts if p.id not in union)
        out["archive_only_ids"] = [p.fullname for p in sub.archive_only]
    return out


def _history_truth(sub, union):
    """What a history job ends with (issue 5): without an archive, the
    posts every listing reaches and their comments; with one, every post
    the archive has (Reddit serves the comments of all but the
    archive-only ones)."""
    return {"listing_union_comments": sum(len(p.comments) for p in sub.posts
                                          if p.id in union),
            "archive_comments": sum(len(p.comments) for p in sub.posts)}


def _posts_truth(srv, window, detail):
    comments = deleted = removed = with_c = 0
    cost = {"tree": 0, "morechildren": 0, "continue": 0}
    items = []
    maxd = 0
    for p in window:
        n = len(p.comments)
        comments += n
        if n:
            with_c += 1
        for c in p.comments:
            deleted += c.state == "deleted"
            removed += c.state == "removed"
            maxd = max(maxd, c.depth)
        for k, v in tree_cost(srv, p).items():
            cost[k] += v
        for it in media_items(srv, p):
            it["post"] = p.fullname
            items.append(it)
    by_type = {}
    for it in items:
        by_type[it["type"]] = by_type.get(it["type"], 0) + 1
    ok = [it for it in items if it["expect"] == "downloaded"]
    shas = set()
    for it in ok:
        for k in ("sha256", "video_sha256", "audio_sha256"):
            if k in it:
                shas.add(it[k])
    out = {"comments": comments, "comments_deleted": deleted,
           "comments_removed": removed, "posts_with_comments": with_c,
           "max_comment_depth": maxd,
           "requests_min": {"comments": cost["tree"],
                            "morechildren": cost["morechildren"],
                            "continue": cost["continue"]},
           "media": {"items": len(items), "by_type": by_type,
                     "downloaded": len(ok),
                     "failed": len(items) - len(ok),
                     "unique_files": len(shas)}}
    if detail:
        out["media"]["list"] = items
        out["post_ids"] = [p.fullname for p in window]
        out["post_fields"] = [_post_fields(srv, p) for p in window]
        out["comment_fields"] = [_comment_fields(c) for p in window
                                 for c in p.comments]
    return out


def _post_fields(srv, p):
    """A post as Reddit shows it (the fields a results API carries)."""
    d = R.post(p, srv.base, srv.store)
    return {k: d.get(k) for k in (
        "name", "subreddit", "title", "author", "created_utc", "score",
        "upvote_ratio", "num_comments", "selftext", "url", "permalink",
        "is_self", "is_video", "is_gallery", "post_hint", "domain",
        "over_18", "stickied", "removed_by_category")}


def _comment_fields(c):
    return {"name": c.fullname, "post_id": c.post.fullname,
            "parent_id": c.parent_fullname, "depth": c.depth,
            "author": c.author, "body": c.body, "score": c.score,
            "created_utc": float(c.created), "state": c.state}


def user_truth(srv, u, limit, detail=False):
    st = srv.store
    sub, _ = st.user_listing(u, "submitted", "new", None)
    window = sub[:limit]
    out = {"target": u.name, "target_type": "user", "limit": limit,
           "state": u.state, "posts_total": len(u.posts),
           "posts": len(window), "listing_exhausted": limit >= len(sub)}
    inner = _posts_truth(srv, window, detail)
    out["media"] = inner["media"]
    if detail:
        out["post_ids"] = inner["post_ids"]
    cm, _ = st.user_listing(u, "comments", "new", None)
    out["comments"] = len(cm)
    out["comments_total"] = len(u.comments)
    out["comments_on_posts"] = inner["comments"]
    out["requests_min"] = {"about": 1,
                           "listing": max(1, math.ceil(len(window) / 100)),
                           "comments_listing": max(1, math.ceil(len(cm) / 100))}
    return out
