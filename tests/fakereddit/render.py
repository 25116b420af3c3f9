"""Store records -> Reddit JSON, starting from the fixture templates.

`base` is the fake's own URL (http://127.0.0.1:PORT); every media URL
points at it, never at a real host.
"""

import copy
import hashlib

from .fixtures import templates
from .store import b36


def _sig(s):
    return hashlib.sha1(s.encode()).hexdigest()


def _slug(title):
    out = "".join(ch if ch.isascii() and ch.isalnum() else "_"
                  for ch in title.lower())
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_")[:50] or "post"


_plinks = {}


def permalink(p):
    got = _plinks.get(p)
    if got is None:
        got = _plinks[p] = "/r/%s/comments/%s/%s/" % (p.sub.name, p.sid,
                                                      _slug(p.title))
    return got


def md_html(text):
    esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    paras = "".join("<p>%s</p>\n" % x for x in esc.split("\n\n") if x)
    return '<div class="md">%s</div>' % paras


def _resolutions(url_for, w, h):
    out = []
    for rw in (108, 216, 320, 640, 960, 1080):
        if rw > w:
            break
        out.append({"url": url_for(rw), "width": rw, "height": h * rw // w})
    return out


def _image_preview(base, path, w, h, variants=None):
    src = base + path

    def at(rw):
        q = "width=%d&crop=smart&auto=webp" % rw
        return "%s?%s&s=%s" % (src.replace("/media/i/", "/media/preview/"),
                               q, _sig(path + q))
    return {"images": [{
        "source": {"url": "%s?auto=webp&s=%s" % (
            src.replace("/media/i/", "/media/preview/"), _sig(path)),
            "width": w, "height": h},
        "resolutions": _resolutions(at, w, h),
        "variants": variants or {},
        "id": path.rsplit("/", 1)[-1].split(".")[0]}], "enabled": True}


def _gif_variants(base, path, w, h):
    pv = base + path.replace("/media/i/", "/media/preview/")

    def var(fmt):
        extra = "&format=mp4" if fmt == "mp4" else ""
        return {"source": {"url": "%s?%ss=%s" % (pv, extra[1:] + "&" if extra
                                                  else "", _sig(fmt + path)),
                           "width": w, "height": h},
                "resolutions": _resolutions(
                    lambda rw: "%s?width=%d%s&s=%s" % (pv, rw, extra,
                                                       _sig(fmt + path + str(rw))),
                    w, h)}
    return {"gif": var("gif"), "mp4": var("mp4")}


def reddit_video(base, m):
    v = "%s/media/v/%s" % (base, m["vid"])
    a = "a=1778705385%2C" + _sig(m["vid"])[:40] + "&v=1&f=sd"
    return {"bitrate_kbps": 1200,
            "fallback_url": v + "/DASH_720.mp4?source=fallback",
            "has_audio": bool(m["audio"]), "height": 64, "width": 64,
            "scrubber_media_url": v + "/DASH_96.mp4",
            "dash_url": v + "/DASHPlaylist.mpd?" + a,
            "duration": 1,
            "hls_url": v + "/HLSPlaylist.m3u8?" + a,
            "is_gif": not m["audio"],
            "transcoding_status": "completed"}


def _apply_media(d, p, base):
    T = templates()
    m = p.media
    typ = m["type"] if m else "self"
    sub = p.sub.name
    if typ == "self":
        d["url"] = base + permalink(p)
        d["domain"] = "self." + sub
        d["is_self"] = True
        return
    d["is_self"] = False
    d["selftext"] = ""
    d["selftext_html"] = None
    if typ == "image":
        for k in ("post_hint", "thumbnail_width", "thumbnail_height",
                  "is_reddit_media_domain"):
            d[k] = copy.deepcopy(T.image[k])
        url = base + m["path"]
        d["url"] = d["url_overridden_by_dest"] = url
        d["domain"] = "i.redd.it"
        d["preview"] = _image_preview(base, m["path"], m.get("w", 1200),
                                      m.get("h", 900))
        d["thumbnail"] = d["preview"]["images"][0]["resolutions"][0]["url"]
    elif typ == "gif":
        for k in ("post_hint", "thumbnail_width", "thumbnail_height",
                  "is_reddit_media_domain"):
            d[k] = copy.deepcopy(T.gif[k])
        url = base + m["path"]
        d["url"] = d["url_overridden_by_dest"] = url
        d["domain"] = "i.redd.it"
        d["preview"] = _image_preview(base, m["path"], 1152, 648,
                                      _gif_variants(base, m["path"], 1152,
                                                    648))
        d["thumbnail"] = d["preview"]["images"][0]["resolutions"][0]["url"]
    elif typ in ("video", "transcoding"):
        src = T.video if typ == "video" else T.transcoding
        if typ == "video" and not m["audio"]:
            src = T.video_noaudio
        for k in ("post_hint", "thumbnail_width", "thumbnail_height",
                  "is_reddit_media_domain", "media_embed",
                  "secure_media_embed"):
            d[k] = copy.deepcopy(src.get(k))
        url = "%s/media/v/%s" % (base, m["vid"])
        d["url"] = d["url_overridden_by_dest"] = url
        d["is_video"] = True
        if typ == "video":
            d["domain"] = "v.redd.it"
            rv = reddit_video(base, m)
            d["media"] = {"reddit_video": rv}
            d["secure_media"] = {"reddit_video": copy.deepcopy(rv)}
            thumb = "/media/vthumb/%s.jpeg" % m["vid"]
            d["preview"] = _image_preview(base, thumb, 640, 640)
            d["preview"]["enabled"] = False
            d["thumbnail"] = base + thumb + "?width=140&height=140"
        else:
            d["domain"] = permalink(p)
            d["media"] = None
            d["secure_media"] = None
            d["thumbnail"] = "default"
    elif typ == "gallery":
        d["url"] = d["url_overridden_by_dest"] = "%s/gallery/%s" % (base, p.sid)
        d["domain"] = "reddit.com"
        d["is_gallery"] = True
        d["thumbnail"] = "default"
        d["thumbnail_width"] = 140
        d["thumbnail_height"] = 140
        d.pop("post_hint", None)
        d.pop("preview", None)
        items, meta = [], {}
        for i, it in enumerate(m["items"]):
            gi = {"caption": it.get("caption", ""), "media_id": it["mid"],
                  "is_deleted": False, "id": 911209100 + i}
            if it.get("outbound_url"):
                gi["outbound_url"] = base + it["outbound_url"]
            items.append(gi)
            meta[it["mid"]] = _gallery_meta(base, it)
        d["gallery_data"] = {"items": items}
        d["media_metadata"] = meta
    elif typ == "gifv":
        g = T.gifv
        for k in ("post_hint",):
            d[k] = g[k]
        url = "%s/media/imgur/%s.gifv" % (base, m["iid"])
        d["url"] = d["url_overridden_by_dest"] = url
        d["domain"] = "i.imgur.com"
        pv = "/media/extpreview/%s.gif" % m["iid"]
        d["preview"] = _image_preview(base, pv, 718, 404,
                                      _gif_variants(base, pv, 718, 404))
        rvp = copy.deepcopy(g["preview"].get("reddit_video_preview") or {})
        v = "%s/media/v/%s" % (base, m["iid"])
        rvp.update({"fallback_url": v + "/DASH_360.mp4",
                    "scrubber_media_url": v + "/DASH_96.mp4",
                    "dash_url": v + "/DASHPlaylist.mpd",
                    "hls_url": v + "/HLSPlaylist.m3u8", "is_gif": True})
        d["preview"]["reddit_video_preview"] = rvp
        d["thumbnail"] = d["preview"]["images"][0]["resolutions"][0]["url"]
    elif typ == "link":
        for k in ("post_hint", "thumbnail_width", "thumbnail_height"):
            d[k] = copy.deepcopy(T.link[k])
        url = "%s/ext/article-%s.html" % (base, m["n"])
        d["url"] = d["url_overridden_by_dest"] = url
        d["domain"] = "example.com"
        pv = "/media/extpreview/link%s.jpeg" % m["n"]
        d["preview"] = _image_preview(base, pv, 1200, 674)
        d["preview"]["enabled"] = False
        d["thumbnail"] = d["preview"]["images"][0]["resolutions"][0]["url"]


def _gallery_meta(base, it):
    st = it["status"]
    if st != "valid":
        return {"status": st}
    mid, ext = it["mid"], it["ext"]
    path = "/media/preview/%s.%s" % (mid, ext)
    w, h = it.get("w", 1080), it.get("h", 1080)
    if it["e"] == "AnimatedImage":
        return {"status": "valid", "e": "AnimatedImage", "m": "image/gif",
                "p": [{"y": h * rw // w, "x": rw,
                       "u": "%s%s?width=%d&crop=smart&format=png8&s=%s"
                       % (base, path, rw, _sig(path + str(rw)))}
                      for rw in (108, 216, 320) if rw <= w],
                "s": {"y": h, "x": w,
                      "gif": "%s/media/i/%s.gif" % (base, mid),
                      "mp4": "%s%s?format=mp4&s=%s" % (base, path,
                                                       _sig("mp4" + path))},
                "id": mid}
    mime = "image/png" if ext == "png" else "image/jpg"
    return {"status": "valid", "e": "Image", "m": mime,
            "p": [{"y": h * rw // w, "x": rw,
                   "u": "%s%s?width=%d&crop=smart&auto=webp&s=%s"
                   % (base, path, rw, _sig(path + str(rw)))}
                  for rw in (108, 216, 320, 640, 960, 1080) if rw <= w],
            "s": {"y": h, "x": w,
                  "u": "%s%s?width=%d&format=pjpg&auto=webp&s=%s"
                  % (base, path, w, _sig(path))},
            "id": mid}


def post(p, base, store, in_comments_page=False):
    T = templates()
    d = dict(T.t3)      # nested template values are replaced, never mutated
    sub = p.sub
    sid = p.sid
    d.update({
        "id": sid, "name": p.fullname, "title": p.title,
        "created": float(p.created), "created_utc": float(p.created),
        "score": p.score, "ups": p.ups, "downs": 0,
        "upvote_ratio": round(p.ups / max(1, p.ups + p.downs), 2),
        "num_comments": len(p.comments),
        "author": p.author,
        "author_fullname": "t2_" + b36(store.user(p.author).uid)
        if p.author != "[deleted]" else None,
        "subreddit": sub.name, "subreddit_id": "t5_" + b36(sub.sid),
        "subreddit_name_prefixed": "r/" + sub.name,
        "subreddit_subscribers": sub.subscribers,
        "subreddit_type": "public",
        "permalink": permalink(p),
        "selftext": p.selftext,
        "selftext_html": md_html(p.selftext) if p.selftext else None,
        "stickied": p.stickied, "pinned": False,
        "edited": float(p.edited) if p.edited else False,
        "num_crossposts": 0, "over_18": False, "quarantine": False,
        "link_flair_richtext": [], "content_categories": None,
        "thumbnail": "self", "thumbnail_width": None, "thumbnail_height": None,
    })
    if d["author_fullname"] is None:
        del d["author_fullname"]
    if sub.state == "quarantined":
        d["quarantine"] = True
    m = p.media
    if m and m["type"] == "crosspost":
        parent = m["parent"]
        pd = post(parent, base, store)
        d["crosspost_parent"] = parent.fullname
        d["crosspost_parent_list"] = [pd]
        for k in ("url", "url_overridden_by_dest", "domain", "is_video",
                  "media", "secure_media", "preview", "post_hint",
                  "thumbnail", "thumbnail_width", "thumbnail_height"):
            if k in pd:
                d[k] = copy.deepcopy(pd[k])
        d["url"] = d["url_overridden_by_dest"] = pd["permalink"]
        d["is_self"] = False
        d["selftext"] = ""
        d["selftext_html"] = None
    else:
        _apply_media(d, p, base)
    if p.removed_by == "deleted":
        d["author"] = "[deleted]"
        d.pop("author_fullname", None)
        d["selftext"] = "[deleted]"
        d["removed_by_category"] = "deleted"
    elif p.removed_by:
        d["selftext"] = "[removed]"
        d["removed_by_category"] = p.removed_by
    if in_comments_page:
        d["num_duplicates"] = 0
    return d


def _comment_common(d, c, base, store):
    p = c.post
    d.update({
        "id": c.sid, "name": c.fullname, "parent_id": c.parent_fullname,
        "link_id": p.fullname, "author": c.author, "body": c.body,
        "body_html": md_html(c.body), "score": c.score, "ups": c.ups,
        "downs": 0, "created": float(c.created),
        "created_utc": float(c.created),
        "edited": float(c.edited) if c.edited else False,
        "subreddit": p.sub.name, "subreddit_id": "t5_" + b36(p.sub.sid),
        "subreddit_name_prefixed": "r/" + p.sub.name,
        "subreddit_type": "public",
        "permalink": "%s%s/" % (permalink(p), c.sid),
        "is_submitter": c.author == p.author and c.author != "[deleted]",
        "stickied": c.stickied,
        "distinguished": "moderator" if c.stickied else None,
        "archived": False, "locked": False, "no_follow": c.score < 2,
        "controversiality": 1 if c.downs > 0 and c.ups > 0 else 0,
        "score_hidden": False, "collapsed": False, "collapsed_reason": None,
        "collapsed_reason_code": None, "author_flair_text": None,
        "author_flair_css_class": None, "author_flair_richtext": [],
        "author_flair_background_color": None, "author_flair_text_color": None,
        "author_flair_template_id": None, "author_flair_type": "text",
        "author_patreon_flair": False, "author_premium": False,
        "all_awardings": [], "awarders": [], "gildings": {},
        "total_awards_received": 0, "treatment_tags": [],
    })
    if c.author == "[deleted]":
        d.pop("author_fullname", None)
        for k in ("author_flair_type", "author_patreon_flair",
                  "author_premium"):
            d.pop(k, None)
        d["author_flair_background_color"] = ""
        d["author_flair_text_color"] = "dark"
    else:
        d["author_fullname"] = "t2_" + b36(store.user(c.author).uid)


def comment_tree(c, depth, replies, base, store):
    d = dict(templates().t1_tree)
    _comment_common(d, c, base, store)
    d["depth"] = depth
    d["replies"] = replies
    return d


def comment_stream(c, base, store):
    d = dict(templates().t1_stream)
    _comment_common(d, c, base, store)
    p = c.post
    d.update({
        "link_title": p.title,
        "link_author": p.author if p.removed_by != "deleted" else "[deleted]",
        "link_permalink": base + permalink(p),
        "link_url": post(p, base, store)["url"],
        "num_comments": len(p.comments), "over_18": False,
        "quarantine": p.sub.state == "quarantined",
    })
    return d


def listing(children, after=None, before=None, dist=True):
    if not children and dist:
        return {"kind": "Listing", "data": {
            "modhash": None, "dist": 0, "children": [], "after": None,
            "before": None}}
    return {"kind": "Listing", "data": {
        "after": after, "dist": len(children) if dist else None,
        "modhash": None, "geo_filter": "" if not dist else None,
        "children": children, "before": before}}


def tree_things(entries, base, store):
    out = []
    for e in entries:
        if e[0] == "more":
            out.append({"kind": "more", "data": dict(e[1])})
        else:
            _, c, kids, d = e
            rep = listing(tree_things(kids, base, store), dist=False) \
                if kids else ""
            out.append({"kind": "t1", "data": comment_tree(c, d, rep, base,
                                                            store)})
    return out


def sub_about(s, base):
    T = templates()
    d = copy.deepcopy(T.t5)
    d.update({
        "display_name": s.name, "display_name_prefixed": "r/" + s.name,
        "name": "t5_" + b36(s.sid), "id": b36(s.sid), "title": s.title,
        "public_description": s.description, "description": s.description,
        "subscribers": s.subscribers, "created": float(s.created),
        "created_utc": float(s.created), "url": "/r/%s/" % s.name,
        "subreddit_type": "public", "quarantine": s.state == "quarantined",
        "over18": False, "accounts_active": 10, "active_user_count": 10,
        "header_img": None, "icon_img": "", "banner_img": "",
        "community_icon": "", "submit_text": "",
        "submit_text_html": None,
        "description_html": "<!-- SC_OFF -->" + md_html(s.description)
        + "<!-- SC_ON -->",
        "public_description_html": "<!-- SC_OFF -->"
        + md_html(s.description) + "<!-- SC_ON -->",
    })
    return d


AVATAR = "/media/static/avatar_default_6.png"


def user_about(u, base):
    T = templates()
    d = copy.deepcopy(T.t2)
    d["icon_img"] = d["subreddit"]["icon_img"] = base + AVATAR
    karma = len(u.posts) + len(u.comments)
    d.update({
        "name": u.name, "id": b36(u.uid), "created": float(u.created),
        "created_utc": float(u.created), "link_karma": len(u.posts),
        "comment_karma": len(u.comments), "total_karma": karma,
        "is_mod": False, "verified": True,
    })
    sr = d["subreddit"]
    sr.update({"display_name": "u_" + u.name,
               "display_name_prefixed": "u/" + u.name,
               "name": "t5_" + b36(u.uid + 17), "url": "/user/%s/" % u.name,
               "title": u.name})
    return d
