"""The HTTP API of DESIGN.md section 4, checked as an API consumer would:
real jobd and httpd, real HTTP, keys made with rscrapectl."""

import datetime
import json
import re
import time
import uuid

import pytest

from rstack import wait_until

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
JOB_ID = re.compile(r"^job_" + UUID + r"$")
WS_ID = re.compile(r"^ws_" + UUID + r"$")
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
JOB_FIELDS = {"id", "workspace_id", "target", "target_type", "mode", "config",
              "status", "started_at", "completed_at", "duration_seconds",
              "posts_scraped", "comments_scraped", "media_downloaded",
              "error_message", "progress", "created_at"}
STATUSES = {"pending", "running", "completed", "failed", "cancelled"}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_time(s):
    assert RFC3339_Z.match(s), s
    return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)


def is_json(r):
    ct = r.headers.get("Content-Type", "")
    return ct.split(";")[0].strip().lower() == "application/json"


def error(r, status):
    """r is a JSON error with this status; returns its detail."""
    assert r.status_code == status, (r.status_code, r.text)
    assert is_json(r), r.headers.get("Content-Type")
    body = r.json()
    assert set(body) == {"detail"}, body
    return body["detail"]


def validation_error(r, loc):
    """422 in the list form, one of whose entries points at loc."""
    detail = error(r, 422)
    assert isinstance(detail, list) and detail, detail
    for d in detail:
        assert set(d) >= {"loc", "msg", "type"}, d
        assert isinstance(d["loc"], list) and isinstance(d["msg"], str) \
            and d["msg"] and isinstance(d["type"], str) and d["type"], d
    assert any(d["loc"] == loc for d in detail), (loc, detail)


def bare(prefixed):
    return prefixed.split("_", 1)[1]


def jobs(ws):
    return "/api/v1/workspaces/%s/jobs" % ws


# --- the job object ---------------------------------------------------------

def test_create_job_returns_the_exact_job_object_with_defaults(stack, tenant):
    before = datetime.datetime.now(datetime.timezone.utc)
    r = stack.http("POST", jobs(tenant.ws), key=tenant.key,
                   json={"target": "python"})
    assert r.status_code == 201, r.text
    assert is_json(r)
    job = r.json()
    assert set(job) == JOB_FIELDS and len(job) == 16, sorted(job)
    assert JOB_ID.match(job["id"]), job["id"]
    assert job["workspace_id"] == tenant.ws
    assert job["target"] == "python"
    assert job["target_type"] == "subreddit"
    assert job["mode"] == "full"
    assert job["config"] == {"limit": 100, "download_media": True,
                             "scrape_comments": True, "plugins": []}
    assert is_int(job["config"]["limit"])
    assert job["status"] == "pending"
    assert job["started_at"] is None
    assert job["completed_at"] is None
    assert job["duration_seconds"] is None
    for f in ("posts_scraped", "comments_scraped", "media_downloaded"):
        assert is_int(job[f]) and job[f] == 0, (f, job[f])
    assert job["error_message"] is None
    assert job["progress"] == {}
    created = parse_time(job["created_at"])
    assert before - datetime.timedelta(seconds=2) <= created <= \
        datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=2)

    got = stack.http("GET", jobs(tenant.ws) + "/" + job["id"], key=tenant.key)
    assert got.status_code == 200 and is_json(got)
    assert got.json() == job


def test_create_job_with_every_field(stack, tenant):
    body = {"target": "spez", "target_type": "user", "mode": "history",
            "limit": 10000, "download_media": False, "scrape_comments": False,
            "plugins": []}
    job = stack.create_job(tenant.ws, tenant.key, **body)
    assert job["target"] == "spez"
    assert job["target_type"] == "user"
    assert job["mode"] == "history"
    assert job["config"] == {"limit": 10000, "download_media": False,
                             "scrape_comments": False, "plugins": []}
    job = stack.create_job(tenant.ws, tenant.key, target="python",
                           mode="monitor", limit=1)
    assert job["mode"] == "monitor" and job["config"]["limit"] == 1


@pytest.mark.parametrize("given,target_type,stored", [
    ("r/python", "subreddit", "python"),
    ("/r/python", "subreddit", "python"),
    ("u/spez", "user", "spez"),
    ("/u/spez", "user", "spez"),
    ("AskReddit", "subreddit", "AskReddit"),
])
def test_target_prefix_is_stripped(stack, tenant, given, target_type, stored):
    job = stack.create_job(tenant.ws, tenant.key, target=given,
                           target_type=target_type)
    assert job["target"] == stored


# --- validation -------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({}, "target"),
    ({"target": ""}, "target"),
    ({"target": "a" * 256}, "target"),
    ({"target": 123}, "target"),
    ({"target": None}, "target"),
    ({"target": "not a name!"}, "target"),
    ({"target": "r/"}, "target"),
    ({"target": "python", "target_type": "group"}, "target_type"),
    ({"target": "python", "target_type": 1}, "target_type"),
    ({"target": "python", "mode": "fast"}, "mode"),
    ({"target": "python", "limit": 0}, "limit"),
    ({"target": "python", "limit": -5}, "limit"),
    ({"target": "python", "limit": 10001}, "limit"),
    ({"target": "python", "limit": 1.5}, "limit"),
    ({"target": "python", "limit": "ten"}, "limit"),
    ({"target": "python", "download_media": "maybe"}, "download_media"),
    ({"target": "python", "scrape_comments": [True]}, "scrape_comments"),
    ({"target": "python", "plugins": "sentiment"}, "plugins"),
    ({"target": "python", "plugins": [1]}, "plugins"),
    ({"target": "python", "plugins": ["no-such-plugin"]}, "plugins"),
])
def test_invalid_job_field_is_422_naming_it(stack, tenant, body, field):
    r = stack.http("POST", jobs(tenant.ws), key=tenant.key, json=body)
    detail = error(r, 422)
    assert isinstance(detail, list)
    assert any(d["loc"][:2] == ["body", field] for d in detail), detail
    validation_error(r, next(d["loc"] for d in detail
                             if d["loc"][:2] == ["body", field]))
    # nothing was created
    listed = stack.http("GET", jobs(tenant.ws), key=tenant.key).json()
    assert listed["total"] == 0


def test_malformed_json_is_400(stack, tenant):
    r = stack.http("POST", jobs(tenant.ws), key=tenant.key,
                   data=b'{"target": "python"',
                   headers={"Content-Type": "application/json"})
    assert isinstance(error(r, 400), str)


def test_json_body_that_is_not_an_object_is_rejected(stack, tenant):
    r = stack.http("POST", jobs(tenant.ws), key=tenant.key,
                   data=b'["python"]',
                   headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert is_json(r) and "detail" in r.json()


def test_body_over_64k_is_413(stack, tenant):
    body = json.dumps({"target": "python", "pad": "x" * (64 * 1024)})
    r = stack.http("POST", jobs(tenant.ws), key=tenant.key, data=body,
                   headers={"Content-Type": "application/json"})
    assert isinstance(error(r, 413), str)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_body_not_json_is_415(stack, tenant, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    r = stack.http("POST", jobs(tenant.ws), key=tenant.key,
                   data=b'{"target": "python"}', headers=headers)
    if ctype is None:
        # requests sends no Content-Type for raw bytes
        assert "Content-Type" not in r.request.headers
    assert isinstance(error(r, 415), str)


def test_json_content_type_with_charset_is_accepted(stack, tenant):
    r = stack.http("POST", jobs(tenant.ws), key=tenant.key,
                   data=b'{"target": "python"}',
                   headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text


# --- listing ------------------------------------------------------------------

def test_list_pagination_total_and_has_more(stack, tenant):
    made = [stack.create_job(tenant.ws, tenant.key, target="sub%d" % i)["id"]
            for i in range(5)]
    newest_first = list(reversed(made))

    def page(**q):
        r = stack.http("GET", jobs(tenant.ws), key=tenant.key, params=q)
        assert r.status_code == 200 and is_json(r), r.text
        body = r.json()
        assert set(body) == {"jobs", "total", "has_more"}, body
        assert is_int(body["total"]) and isinstance(body["has_more"], bool)
        return body

    everything = page()
    assert everything["total"] == 5 and everything["has_more"] is False
    assert [j["id"] for j in everything["jobs"]] == newest_first
    for j in everything["jobs"]:
        assert {"id", "target", "target_type", "status", "posts_scraped",
                "comments_scraped", "created_at"} <= set(j), j

    p = page(limit=2)
    assert ([j["id"] for j in p["jobs"]], p["total"], p["has_more"]) == \
        (newest_first[:2], 5, True)
    p = page(limit=2, offset=2)
    assert ([j["id"] for j in p["jobs"]], p["total"], p["has_more"]) == \
        (newest_first[2:4], 5, True)
    p = page(limit=2, offset=4)
    assert ([j["id"] for j in p["jobs"]], p["total"], p["has_more"]) == \
        (newest_first[4:], 5, False)
    p = page(limit=2, offset=10)
    assert (p["jobs"], p["total"], p["has_more"]) == ([], 5, False)
    p = page(limit=5)
    assert p["has_more"] is False and len(p["jobs"]) == 5


def test_list_default_limit_is_50(stack, tenant):
    for i in range(51):
        stack.create_job(tenant.ws, tenant.key, target="sub%d" % i)
    r = stack.http("GET", jobs(tenant.ws), key=tenant.key)
    body = r.json()
    assert (len(body["jobs"]), body["total"], body["has_more"]) == \
        (50, 51, True)
    r = stack.http("GET", jobs(tenant.ws), key=tenant.key,
                   params={"limit": 200})
    assert len(r.json()["jobs"]) == 51


def test_list_status_filter(stack, tenant):
    a = stack.create_job(tenant.ws, tenant.key)["id"]
    b = stack.create_job(tenant.ws, tenant.key)["id"]
    c = stack.create_job(tenant.ws, tenant.key)["id"]
    r = stack.http("DELETE", jobs(tenant.ws) + "/" + b, key=tenant.key)
    assert r.status_code == 200, r.text

    def ids(status):
        r = stack.http("GET", jobs(tenant.ws), key=tenant.key,
                       params={"status": status})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["jobs"])
        assert all(j["status"] == status for j in body["jobs"])
        return [j["id"] for j in body["jobs"]]

    assert ids("cancelled") == [b]
    assert ids("pending") == [c, a]
    assert ids("completed") == []


@pytest.mark.parametrize("query,field,status", [
    ({"limit": "abc"}, "limit", 400),
    ({"offset": "x1"}, "offset", 400),
    ({"limit": 0}, "limit", 422),
    ({"limit": 201}, "limit", 422),
    ({"offset": -1}, "offset", 422),
    ({"status": "sleeping"}, "status", 422),
])
def test_list_bad_query(stack, tenant, query, field, status):
    r = stack.http("GET", jobs(tenant.ws), key=tenant.key, params=query)
    detail = error(r, status)
    if status == 422:
        validation_error(r, ["query", field])
    else:
        assert detail


# --- ids in paths -------------------------------------------------------------

def test_bare_uuid_paths(stack, tenant):
    job = stack.create_job(tenant.ws, tenant.key)
    for ws in (tenant.ws, bare(tenant.ws)):
        for jid in (job["id"], bare(job["id"])):
            r = stack.http("GET", jobs(ws) + "/" + jid, key=tenant.key)
            assert r.status_code == 200, (ws, jid, r.text)
            assert r.json()["id"] == job["id"]
            assert r.json()["workspace_id"] == tenant.ws
    r = stack.http("POST", jobs(bare(tenant.ws)), key=tenant.key,
                   json={"target": "python"})
    assert r.status_code == 201 and r.json()["workspace_id"] == tenant.ws
    r = stack.http("GET", jobs(bare(tenant.ws)), key=tenant.key)
    assert r.status_code == 200 and r.json()["total"] == 2
    assert all(JOB_ID.match(j["id"]) for j in r.json()["jobs"])
    r = stack.http("DELETE", jobs(bare(tenant.ws)) + "/" + bare(job["id"]),
                   key=tenant.key)
    assert r.status_code == 200, r.text


# --- cancel -----------------------------------------------------------------

def test_cancel_then_409(stack, tenant):
    job = stack.create_job(tenant.ws, tenant.key)
    path = jobs(tenant.ws) + "/" + job["id"]
    r = stack.http("DELETE", path, key=tenant.key)
    assert r.status_code == 200 and is_json(r)
    assert r.json() == {"message": "Job cancelled successfully"}
    got = stack.http("GET", path, key=tenant.key).json()
    assert got["status"] == "cancelled"
    if got["completed_at"] is not None:
        parse_time(got["completed_at"])
    r = stack.http("DELETE", path, key=tenant.key)
    assert isinstance(error(r, 409), str)
    assert stack.http("GET", path, key=tenant.key).json()["status"] == \
        "cancelled"


# --- 404 and 405 ----------------------------------------------------------

def test_unknown_ids_are_404(stack, tenant):
    unknown_job = "job_" + str(uuid.uuid4())
    for path in (jobs(tenant.ws) + "/" + unknown_job,
                 jobs(tenant.ws) + "/" + str(uuid.uuid4()),
                 jobs(tenant.ws) + "/job_not-a-uuid",
                 jobs(tenant.ws) + "/12345"):
        assert isinstance(error(stack.http("GET", path, key=tenant.key), 404),
                          str), path
    r = stack.http("DELETE", jobs(tenant.ws) + "/" + unknown_job,
                   key=tenant.key)
    error(r, 404)
    for ws in ("ws_" + str(uuid.uuid4()), "not-a-workspace"):
        error(stack.http("GET", jobs(ws), key=tenant.key), 404)
        error(stack.http("POST", jobs(ws), key=tenant.key,
                         json={"target": "python"}), 404)


def test_unknown_route_is_404_json(stack, tenant):
    for path in ("/api/v1/nothing", "/api/v2/workspaces/%s/jobs" % tenant.ws,
                 "/api/v1/workspaces/%s/jobs/a/b" % tenant.ws):
        error(stack.http("GET", path, key=tenant.key), 404)


@pytest.mark.parametrize("method,on_job", [
    ("PUT", False), ("PATCH", False), ("DELETE", False),
    ("POST", True), ("PUT", True), ("PATCH", True),
])
def test_wrong_method_is_405(stack, tenant, method, on_job):
    job = stack.create_job(tenant.ws, tenant.key)
    path = jobs(tenant.ws) + ("/" + job["id"] if on_job else "")
    r = stack.http(method, path, key=tenant.key, json={"target": "python"})
    assert isinstance(error(r, 405), str)
    assert stack.http("GET", jobs(tenant.ws) + "/" + job["id"],
                      key=tenant.key).json()["status"] == "pending"


# --- authentication and scopes ----------------------------------------------

def test_both_auth_headers_work(stack, tenant):
    for header in ("bearer", "x-api-key"):
        r = stack.http("GET", jobs(tenant.ws), key=tenant.key, header=header)
        assert r.status_code == 200, (header, r.text)


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer rp_unknownunknownunknownunknown"},
    {"X-API-Key": "rp_unknownunknownunknownunknown"},
    {"X-API-Key": ""},
])
def test_missing_or_unknown_key_is_401(stack, tenant, headers):
    for method, path in (("GET", jobs(tenant.ws)),
                         ("POST", jobs(tenant.ws)),
                         ("GET", jobs(tenant.ws) + "/job_" + str(uuid.uuid4()))):
        r = stack.http(method, path, headers=headers,
                       json={"target": "python"} if method == "POST" else None)
        assert isinstance(error(r, 401), str), (method, path, headers)


def test_revoked_key_stops_working_within_a_second(stack, tenant):
    key, key_id = stack.key(tenant.ws)
    assert stack.http("GET", jobs(tenant.ws), key=key).status_code == 200
    stack.ctl("key", "revoke", key_id)
    revoked_at = time.monotonic()
    wait_until(lambda: stack.http("GET", jobs(tenant.ws), key=key)
               .status_code == 401, timeout=1.0, interval=0.05,
               what="the revoked key to get 401")
    assert time.monotonic() - revoked_at <= 1.0
    error(stack.http("GET", jobs(tenant.ws), key=key), 401)
    # the workspace's other key is untouched
    assert stack.http("GET", jobs(tenant.ws), key=tenant.key).status_code == 200


def test_read_key_cannot_write(stack, tenant):
    job = stack.create_job(tenant.ws, tenant.key)
    read_key, _ = stack.key(tenant.ws, scopes="read")
    r = stack.http("POST", jobs(tenant.ws), key=read_key,
                   json={"target": "python"})
    assert isinstance(error(r, 403), str)
    r = stack.http("DELETE", jobs(tenant.ws) + "/" + job["id"], key=read_key)
    error(r, 403)
    assert stack.http("GET", jobs(tenant.ws) + "/" + job["id"],
                      key=read_key).json()["status"] == "pending"
    assert stack.http("GET", jobs(tenant.ws), key=read_key).json()["total"] \
        == 1


def test_write_only_key_cannot_read(stack, tenant):
    write_key, _ = stack.key(tenant.ws, scopes="write")
    assert stack.http("POST", jobs(tenant.ws), key=write_key,
                      json={"target": "python"}).status_code == 201
    error(stack.http("GET", jobs(tenant.ws), key=write_key), 403)


def test_other_workspace_looks_like_404(stack, tenant):
    other_ws, other_key = stack.workspace_and_key("other")
    theirs = stack.create_job(other_ws, other_key)
    mine = stack.create_job(tenant.ws, tenant.key)
    # my key on their workspace's paths: exactly like an unknown workspace
    for method, path in (("GET", jobs(other_ws)),
                         ("POST", jobs(other_ws)),
                         ("GET", jobs(other_ws) + "/" + theirs["id"]),
                         ("DELETE", jobs(other_ws) + "/" + theirs["id"]),
                         # their job under my workspace's path
                         ("GET", jobs(tenant.ws) + "/" + theirs["id"]),
                         ("DELETE", jobs(tenant.ws) + "/" + theirs["id"])):
        r = stack.http(method, path, key=tenant.key,
                       json={"target": "python"} if method == "POST" else None)
        unknown = stack.http(method, path.replace(
            bare(other_ws), str(uuid.uuid4())).replace(
            bare(theirs["id"]), str(uuid.uuid4())), key=tenant.key,
            json={"target": "python"} if method == "POST" else None)
        assert error(r, 404) == error(unknown, 404), (method, path)
    assert stack.http("GET", jobs(other_ws) + "/" + theirs["id"],
                      key=other_key).json()["status"] == "pending"
    assert stack.http("GET", jobs(other_ws), key=other_key).json()["total"] \
        == 1
    assert stack.http("GET", jobs(tenant.ws) + "/" + mine["id"],
                      key=tenant.key).status_code == 200


# --- rate limit ---------------------------------------------------------------

def test_per_key_rate_limit_is_429_with_retry_after(make_stack):
    s = make_stack(env={"RSCRAPE_HTTPD_KEY_RATE_LIMIT": "5"})
    ws, key = s.workspace_and_key()
    ws2, key2 = s.workspace_and_key()
    statuses = [s.http("GET", jobs(ws), key=key).status_code
                for _ in range(8)]
    assert statuses[0] == 200 and 429 in statuses, statuses
    r = s.http("GET", jobs(ws), key=key)
    error(r, 429)
    assert int(r.headers["Retry-After"]) >= 1
    # another key has its own budget
    assert s.http("GET", jobs(ws2), key=key2).status_code == 200


# --- jobd away ------------------------------------------------------------------

def test_jobd_stopped_gives_503_then_recovers(make_stack):
    timeout_ms = 1000
    s = make_stack(request_timeout_ms=timeout_ms)
    ws, key = s.workspace_and_key()
    job = s.create_job(ws, key)
    path = jobs(ws) + "/" + job["id"]
    assert s.http("GET", "/healthz").status_code == 200

    s.jobd.pause()
    for method, p, body in (("GET", path, None),
                            ("GET", jobs(ws), None),
                            ("POST", jobs(ws), {"target": "python"})):
        t0 = time.monotonic()
        r = s.http(method, p, key=key, json=body, timeout=30)
        took = time.monotonic() - t0
        assert isinstance(error(r, 503), str), (method, p)
        assert int(r.headers["Retry-After"]) >= 1
        # an answer, not a hang: within request_timeout plus a margin
        assert took < timeout_ms / 1000 + 2.0, took
    r = s.http("GET", "/healthz", timeout=30)
    assert r.status_code == 503 and is_json(r)

    s.jobd.resume()
    wait_until(lambda: s.http("GET", path, key=key).status_code == 200,
               timeout=10, interval=0.1, what="recovery after SIGCONT")
    assert s.http("GET", path, key=key).json()["id"] == job["id"]
    wait_until(lambda: s.http("GET", "/healthz").status_code == 200,
               timeout=10, interval=0.1, what="healthz 200 again")


def test_jobd_restart_keeps_every_job(make_stack):
    s = make_stack(request_timeout_ms=1000)
    ws, key = s.workspace_and_key()
    made = [s.create_job(ws, key, target="sub%d" % i) for i in range(3)]
    s.http("DELETE", jobs(ws) + "/" + made[1]["id"], key=key)
    made[1] = s.http("GET", jobs(ws) + "/" + made[1]["id"], key=key).json()

    assert s.jobd.stop() == 0
    r = s.http("GET", jobs(ws), key=key, timeout=30)
    error(r, 503)
    assert "Retry-After" in r.headers
    hz = s.http("GET", "/healthz", timeout=30)
    assert hz.status_code == 503 and is_json(hz)

    s.jobd.start()
    wait_until(lambda: s.http("GET", jobs(ws), key=key).status_code == 200,
               timeout=10, interval=0.1, what="httpd to reach the new jobd")
    for job in made:
        assert s.http("GET", jobs(ws) + "/" + job["id"],
                      key=key).json() == job
    listed = s.http("GET", jobs(ws), key=key).json()
    assert listed["total"] == 3
    assert [j["id"] for j in listed["jobs"]] == \
        [j["id"] for j in reversed(made)]
    # the key survived too, and new jobs can be made
    s.create_job(ws, key)


def test_healthz(stack):
    r = stack.http("GET", "/healthz")
    assert r.status_code == 200 and is_json(r)
    assert isinstance(r.json(), dict)


def test_sigterm_stops_httpd_and_jobd_with_status_0(make_stack):
    s = make_stack()
    assert s.httpd.stop() == 0
    assert s.jobd.stop() == 0


def test_concurrent_requests_each_get_their_own_answer(stack, tenant):
    """Under load httpd sends the calls of one loop round to jobd as one
    batch (proto.h BATCHES): every client must still get its own reply,
    errors included, whatever it was batched with."""
    import concurrent.futures
    import requests

    made = [stack.create_job(tenant.ws, tenant.key, target="sub%d" % i)
            for i in range(8)]
    missing = "job_00000000-0000-4000-8000-000000000000"
    asks = [j["id"] for j in made] * 12 + [missing] * 8
    base = stack.base_url + jobs(tenant.ws) + "/"

    def get(job_id):
        with requests.Session() as s:
            r = s.get(base + job_id,
                      headers={"Authorization": "Bearer " + tenant.key},
                      timeout=10)
            return job_id, r.status_code, r.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=48) as ex:
        got = list(ex.map(get, asks))
    by_id = {j["id"]: j for j in made}
    for job_id, status, body in got:
        if job_id == missing:
            assert status == 404 and "detail" in body
        else:
            assert status == 200
            assert body["id"] == job_id
            assert body["target"] == by_id[job_id]["target"]
