"""HTTP edge cases that libevent would answer by itself (with HTML) unless
httpd takes them over: every one must be JSON with
Content-Type application/json (DESIGN.md section 4, Errors)."""

import concurrent.futures
import json
import socket

import pytest

from rstack import wait_until


def raw_exchange(stack, data, timeout=10.0):
    """Send raw bytes, half-close, read the whole answer (httpd closes
    after these errors). Returns (status, headers dict, body bytes)."""
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=timeout)
    try:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def assert_json_error(status, headers, body, want):
    assert status == want, (status, body)
    assert headers.get("content-type", "").startswith("application/json")
    doc = json.loads(body)
    assert isinstance(doc.get("detail"), str) and doc["detail"]


@pytest.mark.parametrize("line,want", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"FROB /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 501),
])
def test_bad_request_line_or_header_is_json(stack, line, want):
    assert_json_error(*raw_exchange(stack, line), want=want)


def test_oversized_headers_are_json(stack):
    req = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000
           + b"\r\n\r\n")
    assert_json_error(*raw_exchange(stack, req), want=400)


def test_body_beyond_libevent_limit_is_json_413(stack, tenant):
    body = b"x" * (2 << 20)
    req = (("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")
           % (stack.jobs_path(tenant.ws), tenant.key, len(body))).encode()
    assert_json_error(*raw_exchange(stack, req + body), want=413)


def test_keepalive_survives_many_requests(stack, tenant):
    for _ in range(50):
        r = stack.http("GET", stack.jobs_path(tenant.ws), key=tenant.key)
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("application/json")


def _send_get(stack, path, key):
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "\r\n" % (path, key)).encode())
    return s


def test_clients_leaving_during_jobd_calls_do_no_harm(make_stack):
    s = make_stack(request_timeout_ms=1000)
    ws, key = s.workspace_and_key()
    job = s.create_job(ws, key)
    path = s.jobs_path(ws, job["id"])
    s.jobd.pause()
    try:
        socks = [_send_get(s, path, key) for _ in range(32)]
        # the first answer (503, after request_timeout_ms) comes long
        # after httpd read all 32 and asked jobd; closing the rest while
        # their calls are still pending must neither crash nor wedge it
        first = socks.pop()
        assert b" 503 " in first.recv(4096).split(b"\r\n")[0]
        first.close()
        for sk in socks:
            sk.close()
    finally:
        s.jobd.resume()
    wait_until(lambda: s.http("GET", path, key=key).status_code == 200,
               timeout=10, interval=0.1, what="httpd answering again")
    assert s.httpd.running()


def test_many_requests_in_flight_each_answered(make_stack):
    s = make_stack()
    ws, key = s.workspace_and_key()
    job = s.create_job(ws, key)
    path = s.jobs_path(ws, job["id"])

    def get(_):
        r = s.http_session.get(s.url(path), timeout=15,
                               headers={"X-API-Key": key})
        return r.status_code, r.json().get("id")

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        got = list(ex.map(get, range(200)))
    assert got == [(200, job["id"])] * 200

