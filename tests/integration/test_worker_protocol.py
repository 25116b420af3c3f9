"""The worker protocol of proto/proto.h, driven against the real jobd by a
scripted worker (rscrapectl call): lease, heartbeat, idempotent reports,
expiry and re-lease after a worker vanishes, finish, fail, release, cancel,
and media work shared by URL."""


import pytest

from rstack import wait_until

LEASE_S = 1


@pytest.fixture
def jobd(make_stack):
    return make_stack(daemons=("jobd",),
                      env={"RSCRAPE_JOBD_LEASE_SECONDS": str(LEASE_S)})


def new_job(s, ws, media=True, target="python"):
    return s.call("job.create", {
        "workspace_id": ws, "target": target, "target_type": "subreddit",
        "mode": "full", "limit": 10, "download_media": media,
        "scrape_comments": True, "plugins": []})["job"]


def job(s, ws, job_id):
    return s.call("job.get", {"workspace_id": ws, "job_id": job_id})["job"]


def lease(s, kind="fetch", worker="w1"):
    tasks = s.call("task.lease", {"worker": worker, "kind": kind})["tasks"]
    return tasks[0] if tasks else None


def ref(t):
    return {"task_id": t["task_id"], "lease_id": t["lease_id"]}


def post(i, **kw):
    return dict({"id": "t3_p%d" % i, "subreddit": "python", "author": "a",
                 "title": "post %d" % i, "created_utc": 1700000000 + i,
                 "score": i, "num_comments": 1, "url": "u", "permalink": "p",
                 "selftext": "", "post_type": "self", "raw": {"n": i}}, **kw)


def comment(i, post_id="t3_p0"):
    return {"id": "t1_c%d" % i, "post_id": post_id, "parent_id": post_id,
            "depth": 0, "author": "b", "body": "c%d" % i, "score": 1,
            "created_utc": 1700000000 + i, "deleted": False,
            "removed": False, "raw": {"n": i}}


def test_lease_report_twice_finish(jobd):
    s = jobd
    ws = s.workspace()
    j = new_job(s, ws, media=False)
    assert job(s, ws, j["id"])["status"] == "pending"
    t = lease(s)
    assert t["job_id"] == j["id"] and t["attempt"] == 1
    assert t["job"]["target"] == "python" and t["checkpoint"] == {}
    assert job(s, ws, j["id"])["status"] == "running"
    assert lease(s) is None                      # one fetch task per job
    batch = dict(ref(t), batch="b1", posts=[post(0), post(1)],
                 comments=[comment(0), comment(1), comment(2)],
                 checkpoint={"after": "t3_p1"}, progress={"phase": "listing"})
    r1 = s.call("task.report", batch)
    assert (r1["posts_new"], r1["comments_new"]) == (2, 3)
    r2 = s.call("task.report", batch)            # re-delivered: no change
    assert (r2["posts_new"], r2["comments_new"]) == (0, 0)
    assert (r2["posts_scraped"], r2["comments_scraped"]) == (2, 3)
    hb = s.call("task.heartbeat", dict(ref(t), progress={"phase": "comments"}))
    assert hb["cancelled"] is False
    got = job(s, ws, j["id"])
    assert got["progress"]["phase"] == "comments"
    assert got["progress"]["posts"] == 2 and got["progress"]["comments"] == 3
    assert s.call("task.finish", ref(t))["job_status"] == "completed"
    got = job(s, ws, j["id"])
    assert got["status"] == "completed" and got["posts_scraped"] == 2
    assert got["comments_scraped"] == 3 and got["completed_at"]


def test_vanished_worker_lease_expires_and_resumes_from_checkpoint(jobd):
    s = jobd
    ws = s.workspace()
    j = new_job(s, ws, media=False)
    t1 = lease(s, worker="dies")
    s.call("task.report", dict(ref(t1), batch="b1", posts=[post(0)],
                               checkpoint={"after": "t3_p0", "page": 1}))
    # the worker vanishes: no heartbeat; the lease runs out
    t2 = wait_until(lambda: lease(s, worker="next"), timeout=LEASE_S + 5,
                    interval=0.1, what="re-lease after expiry")
    assert t2["task_id"] == t1["task_id"]
    assert t2["lease_id"] != t1["lease_id"] and t2["attempt"] == 2
    assert t2["checkpoint"] == {"after": "t3_p0", "page": 1}
    # the old worker's lease is gone for good
    for typ, body in (("task.heartbeat", ref(t1)),
                      ("task.report", dict(ref(t1), posts=[post(5)])),
                      ("task.finish", ref(t1))):
        p = s.call(typ, body, check=False)
        assert p.returncode == 1 and "lease_lost" in p.stderr, typ
    s.call("task.report", dict(ref(t2), batch="b2", posts=[post(0), post(1)]))
    s.call("task.finish", ref(t2))
    got = job(s, ws, j["id"])
    assert got["status"] == "completed" and got["posts_scraped"] == 2
    assert s.call("ping")["lease_expiries"] >= 1


def test_release_hands_the_task_back_at_once(jobd):
    s = jobd
    ws = s.workspace()
    new_job(s, ws, media=False)
    t1 = lease(s)
    s.call("task.heartbeat", dict(ref(t1), checkpoint={"k": 1}))
    s.call("task.release", ref(t1))
    t2 = lease(s, worker="w2")
    assert t2 is not None and t2["checkpoint"] == {"k": 1}


def test_fail_without_retry_fails_the_job_with_the_message(jobd):
    s = jobd
    ws = s.workspace()
    j = new_job(s, ws)
    t = lease(s)
    r = s.call("task.fail", dict(ref(t), error="subreddit r/x is private",
                                 retry=False))
    assert r["job_status"] == "failed"
    got = job(s, ws, j["id"])
    assert got["status"] == "failed"
    assert got["error_message"] == "subreddit r/x is private"


def test_fail_with_retry_requeues_then_gives_up(jobd):
    s = jobd
    ws = s.workspace()
    j = new_job(s, ws)
    for n in range(1, 10):
        t = lease(s)
        assert t is not None, n
        r = s.call("task.fail", dict(ref(t), error="HTTP 503", retry=True))
        if r["job_status"] == "failed":
            break
    assert n == 5                               # PROTO_MAX_ATTEMPTS
    assert "HTTP 503" in job(s, ws, j["id"])["error_message"]


def test_cancel_is_seen_by_the_worker(jobd):
    s = jobd
    ws = s.workspace()
    j = new_job(s, ws)
    t = lease(s)
    s.call("job.cancel", {"workspace_id": ws, "job_id": j["id"]})
    assert s.call("task.heartbeat", ref(t))["cancelled"] is True
    p = s.call("task.report", dict(ref(t), posts=[post(9)]), check=False)
    assert p.returncode == 1
    s.call("task.finish", ref(t))
    got = job(s, ws, j["id"])
    assert got["status"] == "cancelled" and got["posts_scraped"] == 0


def test_media_work_is_shared_by_url_and_completes_the_jobs(jobd):
    s = jobd
    ws = s.workspace()
    a, b = new_job(s, ws, target="aaa"), new_job(s, ws, target="bbb")
    url = "http://127.0.0.1:9/same.jpg"
    media = [{"post_id": "t3_p0", "index": 0, "kind": "image", "url": url},
             {"post_id": "t3_p0", "index": 1, "kind": "gallery_image",
              "url": None, "extra": {"status": "failed"}}]
    for _ in (a, b):
        t = lease(s)
        s.call("task.report", dict(ref(t), posts=[post(0)], media=media))
        s.call("task.finish", ref(t))
    m = lease(s, kind="media", worker="m1")
    assert m["media"]["url"] == url
    assert lease(s, kind="media") is None        # one task for the URL
    assert job(s, ws, a["id"])["status"] == "running"
    s.call("task.finish", dict(ref(m), result={
        "status": "downloaded", "bytes": 3, "sha256": "00" * 32,
        "content_type": "image/jpeg", "path": "media/00/x.jpg"}))
    for j in (a, b):
        got = job(s, ws, j["id"])
        assert got["status"] == "completed", got
        assert got["media_downloaded"] == 1
        assert got["progress"]["media_failed"] == 1


def test_state_survives_a_jobd_restart(jobd):
    s = jobd
    ws = s.workspace()
    j = new_job(s, ws, media=False)
    t = lease(s)
    s.call("task.report", dict(ref(t), posts=[post(0)],
                               checkpoint={"after": "x"}))
    s.jobd.restart()
    got = job(s, ws, j["id"])
    assert got["status"] == "running" and got["posts_scraped"] == 1
    t2 = wait_until(lambda: lease(s, worker="after"), timeout=LEASE_S + 5,
                    interval=0.1, what="re-lease after restart")
    assert t2["checkpoint"] == {"after": "x"}
