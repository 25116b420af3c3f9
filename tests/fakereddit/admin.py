"""/_fake/* admin endpoints: truth, stats, faults, live data, config."""

import json
import random
import threading
import time

from . import truth as T

CONFIG_KEYS = {"budget": int, "public_budget": int, "window": int,
               "token_ttl": float, "morechildren_cap": int,
               "morechildren_delay": float, "morechildren_lock": bool,
               "require_ua": bool, "retry_after": int}


def _reply(obj, status=200):
    from .server import json_reply
    return json_reply(obj, status)


def handle(srv, h, method, path, q, body):
    parts = [p for p in path.split("/") if p][1:]
    what = parts[0] if parts else ""
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        return _reply({"error": "body is not JSON"}, 400)
    if what == "health":
        return _reply({"ok": True, "base": srv.base})
    if what == "truth":
        return truth(srv, q)
    if what == "stats":
        if method == "POST" or parts[1:] == ["reset"]:
            reset(srv)
        with srv.lock:
            out = dict(srv.stats)
            out["tokens_live"] = sum(1 for _, e in srv.tokens.values()
                                     if e > time.time())
            out["morechildren_inflight"] = srv.mc_inflight
        return _reply(out)
    if what == "reset":
        reset(srv, data.get("faults", True))
        return _reply({"ok": True})
    if what == "faults":
        return faults(srv, method, data)
    if what == "config":
        return config(srv, method, data)
    if what == "live" and len(parts) >= 2:
        return live(srv, method, parts[1], data)
    if what == "items":
        return items(srv, q)
    if what == "requests":
        with srv.lock:
            since = int(q.get("since", 0))
            out = [{"method": m, "path": p, "status": s}
                   for m, p, s in srv.requests[since:]]
            return _reply({"total": len(srv.requests), "requests": out})
    return _reply({"error": "unknown admin endpoint"}, 404)


def reset(srv, clear_faults=False):
    with srv.lock:
        # answers paused by a slow fault (their client may be gone) end now
        srv.slow_wake.set()
        srv.slow_wake = threading.Event()
        srv.stats.clear()
        srv.windows.clear()
        srv.requests.clear()
        if clear_faults:
            srv.faults.clear()


def truth(srv, q):
    try:
        limit = int(q.get("limit", 100))
    except ValueError:
        limit = 100
    detail = q.get("detail") in ("1", "true")
    with srv.lock:
        if q.get("sub"):
            s = srv.store.sub(q["sub"])
            if s is None:
                return _reply({"target": q["sub"], "state": "nonexistent"},
                              404)
            return _reply(T.sub_truth(srv, s, limit, detail))
        if q.get("user"):
            u = srv.store.users.get(q["user"].lower())
            if u is None:
                return _reply({"target": q["user"], "state": "missing"}, 404)
            return _reply(T.user_truth(srv, u, limit, detail))
        return _reply({
            "subreddits": {s.name: {"state": s.state, "posts": len(s.posts),
                                    "archive_only": len(s.archive_only),
                                    "comments": len(s.comments),
                                    "live": s.live}
                           for s in srv.store.subs.values()},
            "users": {u.name: {"state": u.state, "posts": len(u.posts),
                               "comments": len(u.comments)}
                      for u in srv.store.users.values()
                      if u.posts or u.comments or u.state != "ok"},
            "nonexistent_sub": "nosuchsub", "missing_user": "nosuchuser"})


def faults(srv, method, data):
    from .server import Fault
    with srv.lock:
        if method == "DELETE":
            srv.faults.clear()
        elif method == "POST":
            if data.get("clear"):
                srv.faults.clear()
            rules = data.get("faults", [])
            if "action" in data:
                rules = [data]
            try:
                srv.faults.extend(Fault(r) for r in rules)
            except (ValueError, TypeError) as e:
                return _reply({"error": str(e)}, 400)
            if data.get("expire_tokens"):
                srv.expire_tokens()
                srv.stats["tokens_expired"] += 1
        return _reply({"faults": [f.view() for f in srv.faults]})


def config(srv, method, data):
    cfg = srv.cfg
    with srv.lock:
        if method == "POST":
            for k, v in data.items():
                if k not in CONFIG_KEYS:
                    return _reply({"error": "unknown key " + k}, 400)
                setattr(cfg, k, CONFIG_KEYS[k](v))
            if "window" in data or "budget" in data:
                srv.windows.clear()
        return _reply({k: getattr(cfg, k) for k in CONFIG_KEYS})


WORDS = "live fresh new breaking update today another more".split()


def add_live(srv, sub, posts=0, comments=0, author=None, rng=None,
             on=None):
    """Create posts and comments now; returns their fullnames."""
    st = srv.store
    r = rng or random.Random()
    made_p, made_c = [], []
    with srv.lock:
        for i in range(posts):
            a = author or "%s_live%d" % (sub.name[:8], r.randint(0, 9))
            p = st.add_post(sub, a, "%s post %d %s" % (
                r.choice(WORDS).capitalize(), st.next_post,
                r.choice(WORDS)))
            p.selftext = "Live post body %d." % st.next_post
            p.ups = r.randint(1, 50)
            made_p.append(p.fullname)
        targets = [p for p in sub.posts[-50:] if not p.archive_only]
        if on:
            targets = [st.post_by_id(x[3:] if x.startswith("t3_") else x)
                       for x in on]
            targets = [p for p in targets if p is not None]
        for i in range(comments):
            if not targets:
                break
            p = r.choice(targets)
            parent = None
            if p.comments and r.random() < 0.5:
                parent = r.choice(p.comments[-20:])
            a = author or "%s_talker%d" % (sub.name[:8], r.randint(0, 9))
            c = st.add_comment(p, parent, a, "Live comment %d" %
                               st.next_comment)
            c.ups = r.randint(1, 20)
            made_c.append(c.fullname)
        st.touch(sub)
        srv.stats["live_posts"] += len(made_p)
        srv.stats["live_comments"] += len(made_c)
    return made_p, made_c


def _generator(srv, sub, stop, ppm, cpm, author, seed):
    r = random.Random(seed)
    acc_p = acc_c = 0.0
    last = time.time()
    while not stop.wait(0.1):
        now = time.time()
        dt, last = now - last, now
        acc_p += dt * ppm / 60.0
        acc_c += dt * cpm / 60.0
        np_, nc = int(acc_p), int(acc_c)
        if np_ or nc:
            acc_p -= np_
            acc_c -= nc
            add_live(srv, sub, np_, nc, author, r)


def live(srv, method, name, data):
    sub = srv.store.sub(name)
    if sub is None:
        with srv.lock:
            sub = srv.store.add_sub(name, created=int(time.time()) - 86400)
    sub.live = True
    if method == "GET":
        with srv.lock:
            return _reply({"sub": sub.name, "posts": len(sub.posts),
                           "comments": len(sub.comments),
                           "generator": name.lower() in srv.live_threads})
    out = {}
    if data.get("stop") or "rate" in data:
        t = srv.live_threads.pop(name.lower(), None)
        if t:
            t[1].set()
            t[0].join(2)
    if "rate" in data:
        rate = data["rate"]
        stop = threading.Event()
        th = threading.Thread(target=_generator, args=(
            srv, sub, stop, float(rate.get("posts_per_min", 0)),
            float(rate.get("comments_per_min", 0)), data.get("author"),
            data.get("seed", 1)), daemon=True)
        srv.live_threads[name.lower()] = (th, stop)
        th.start()
        out["generator"] = "started"
    if data.get("posts") or data.get("comments"):
        p, c = add_live(srv, sub, int(data.get("posts", 0)),
                        int(data.get("comments", 0)), data.get("author"),
                        random.Random(data.get("seed")), data.get("on"))
        out["posts"] = p
        out["comments"] = c
    return _reply(out)


def stop_live(srv):
    for th, stop in list(srv.live_threads.values()):
        stop.set()
    srv.live_threads.clear()


def items(srv, q):
    """Every fullname of a target, oldest first: what a monitor must see."""
    st = srv.store
    with srv.lock:
        if q.get("sub"):
            s = st.sub(q["sub"])
            if s is None:
                return _reply({"error": "no such sub"}, 404)
            posts, comments = s.posts, s.comments
        elif q.get("user"):
            u = st.users.get(q["user"].lower())
            if u is None:
                return _reply({"error": "no such user"}, 404)
            posts, comments = u.posts, u.comments
        else:
            return _reply({"error": "sub= or user= required"}, 400)
        since = float(q.get("since", 0))
        return _reply({
            "posts": [p.fullname for p in posts if p.created >= since],
            "comments": [c.fullname for c in comments
                         if c.created >= since and not c.post.archive_only],
            "newest_post": posts[-1].fullname if posts else None,
            "newest_comment": comments[-1].fullname if comments else None})

