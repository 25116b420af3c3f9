"""rscrapectl against a real jobd (and httpd for status)."""

import json
import os
import re
import subprocess
import time

import pytest

import rstack
from conftest import require

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def stack():
    """jobd, and httpd when it is built (only `status` looks at it)."""
    require("rscrapectl", "jobd")
    s = rstack.Stack()
    try:
        s.start("jobd")
        if rstack.have("httpd"):
            s.start("httpd")
        yield s
    finally:
        s.close()


def run_ctl(*args, env=None, timeout=30):
    require("rscrapectl")
    return subprocess.run([rstack.binary("rscrapectl")] + list(args),
                          capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_workspace_create_prints_the_id_alone(stack):
    p = stack.ctl("workspace", "create", "demo")
    assert re.fullmatch(r"ws_" + UUID + r"\n", p.stdout), p.stdout
    assert p.returncode == 0


def test_workspace_create_json_and_list(stack):
    ws = stack.ctl_json("workspace", "create", "listed one")
    assert re.fullmatch(r"ws_" + UUID, ws["id"])
    assert ws["name"] == "listed one"
    assert {"id", "name", "created_at"} <= set(ws)

    listed = stack.ctl_json("workspace", "list")
    assert isinstance(listed, list)
    assert ws in listed

    text = stack.ctl("workspace", "list").stdout.splitlines()
    assert text[0].split() == ["ID", "NAME", "CREATED"]
    row = next(line for line in text if line.startswith(ws["id"]))
    assert "listed one" in row and ws["created_at"] in row
    # aligned columns: the name starts under the NAME header
    name_col = text[0].index("NAME")
    assert row[name_col:].startswith("listed one")


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_workspace_bad_name_fails(stack, name):
    p = stack.ctl("workspace", "create", name, check=False)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("rscrapectl: ") and len(
        p.stderr.splitlines()) == 1, p.stderr


def test_key_create_prints_the_key_alone_with_default_scopes(stack):
    ws = stack.workspace()
    p = stack.ctl("key", "create", ws)
    secret = p.stdout
    assert re.fullmatch(r"rp_[A-Za-z0-9_\-]{20,}\n", secret), secret
    secret = secret.strip()
    keys = stack.ctl_json("key", "list", ws)
    assert len(keys) == 1
    k = keys[0]
    assert re.fullmatch(r"key_" + UUID, k["id"])
    assert k["workspace_id"] == ws
    assert sorted(k["scopes"]) == ["read", "write"]
    assert k["revoked_at"] is None
    assert k["prefix"] == secret[:11]
    # the secret is shown once, never again
    assert secret not in json.dumps(keys)
    assert secret not in stack.ctl("key", "list", ws).stdout


def test_key_create_scopes_and_name(stack):
    ws = stack.workspace()
    admin = stack.ctl_json("key", "create", ws, "--scopes",
                           "read,write,admin", "--name", "ops")
    assert admin["secret"].startswith("rp_")
    ro = stack.ctl_json("key", "create", "--scopes", "read", ws)
    by_id = {k["id"]: k for k in stack.ctl_json("key", "list", ws)}
    assert sorted(by_id[admin["id"]]["scopes"]) == ["admin", "read", "write"]
    assert by_id[admin["id"]]["name"] == "ops"
    assert by_id[ro["id"]]["scopes"] == ["read"]

    text = stack.ctl("key", "list", ws).stdout.splitlines()
    assert text[0].split()[:4] == ["ID", "NAME", "PREFIX", "SCOPES"]
    row = next(line for line in text if line.startswith(admin["id"]))
    assert "ops" in row
    assert re.search(r"\b(read,write,admin|admin,read,write)\b", row), row


def test_key_create_errors(stack):
    ws = stack.workspace()
    p = stack.ctl("key", "create", ws, "--scopes", "read,root", check=False)
    assert p.returncode == 1 and p.stdout == "" and "rscrapectl:" in p.stderr
    p = stack.ctl("key", "create", "ws_00000000-0000-4000-8000-000000000000",
                  check=False)
    assert p.returncode == 1 and p.stdout == "" and p.stderr
    p = stack.ctl("key", "list", "ws_00000000-0000-4000-8000-000000000000",
                  check=False)
    assert p.returncode == 1 and p.stdout == ""


def test_key_revoke(stack):
    ws = stack.workspace()
    secret, key_id = stack.key(ws)
    p = stack.ctl("key", "revoke", key_id)
    assert key_id in p.stdout and secret not in p.stdout
    k = {k["id"]: k for k in stack.ctl_json("key", "list", ws)}[key_id]
    assert k["revoked_at"] is not None
    p = stack.ctl("key", "revoke", "key_00000000-0000-4000-8000-000000000000",
                  check=False)
    assert p.returncode == 1 and p.stderr


def test_status(stack):
    p = stack.ctl("status")
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["DAEMON", "STATE", "DETAIL"]
    state = {line.split()[0]: line.split()[1] for line in lines[1:]
             if line.strip() and not line.startswith("jobs")}
    httpd_up = "httpd" in stack.daemons
    assert state["jobd"] == "ok", p.stdout
    assert state["httpd"] == ("ok" if httpd_up else "down"), p.stdout
    st = stack.ctl_json("status")
    assert st["daemon"] == "jobd" and st["pid"] == stack.jobd.pid
    assert st["httpd"]["ok"] is httpd_up


def test_status_and_call_when_jobd_does_not_answer(make_stack):
    s = make_stack(daemons=("jobd",))
    assert s.ctl("call", "ping").returncode == 0
    s.jobd.pause()
    t0 = time.monotonic()
    p = s.ctl("--timeout", "500", "status", check=False)
    assert p.returncode == 1, p
    assert time.monotonic() - t0 < 10
    assert re.search(r"^jobd\s+down", p.stdout, re.M), p.stdout
    p = s.ctl("--timeout", "500", "call", "ping", check=False)
    assert p.returncode == 2 and p.stdout == "" and p.stderr
    # (a client that gave up while jobd was frozen breaks jobd's listener:
    # see the xfail test below; restart instead of resuming)
    s.jobd.resume()
    s.jobd.restart()
    assert s.ctl("status", check=False).returncode == 0
    s.jobd.stop()
    p = s.ctl("status", check=False)
    assert p.returncode == 1 and "jobd" in p.stdout
    p = s.ctl("workspace", "list", check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr


def test_call(stack):
    ping = stack.call("ping")
    assert ping["daemon"] == "jobd" and ping["pid"] == stack.jobd.pid
    ws = stack.call("workspace.create", {"name": "via call"})
    assert ws["workspace"]["name"] == "via call"
    p = stack.call("no.such.type", {}, check=False)
    assert p.returncode == 1 and p.stdout == ""
    assert "unknown_type" in p.stderr
    p = stack.call("job.get", {"workspace_id": ws["workspace"]["id"],
                               "job_id": "job_00000000-0000-4000-8000-"
                                         "000000000000"}, check=False)
    assert p.returncode == 1 and "not_found" in p.stderr
    p = stack.ctl("call", "ping", "{not json", check=False)
    assert p.returncode == 2
    p = stack.ctl("call", "ping", "[1]", check=False)
    assert p.returncode == 2


def test_usage_version_and_config_errors(tmp_path):
    p = run_ctl("-V")
    assert p.returncode == 0 and p.stdout.startswith("rscrapectl ")
    p = run_ctl("-h")
    assert p.returncode == 0 and "workspace create" in p.stdout
    for args in ([], ["frobnicate"], ["workspace"], ["workspace", "drop"],
                 ["workspace", "create"], ["key", "create"],
                 ["key", "list", "a", "b"], ["status", "extra"],
                 ["--timeout", "soon", "status"], ["workspace", "list",
                                                   "--scopes", "read"]):
        p = run_ctl(*args)
        assert p.returncode == 2, (args, p)
        assert p.stderr and p.stdout == "", args

    bad = tmp_path / "bad.conf"
    bad.write_text("[paths]\nstate_dir = /tmp\n\n[httpd]\nlisten_on = 1\n")
    p = run_ctl("-c", str(bad), "workspace", "list")
    assert p.returncode == 1
    assert "%s:5" % bad in p.stderr and "listen_on" in p.stderr, p.stderr
    p = run_ctl("-c", str(tmp_path / "missing.conf"), "status")
    assert p.returncode == 1 and "missing.conf" in p.stderr


def test_jobd_not_running_is_a_clear_error(tmp_path):
    require("rscrapectl")
    env = dict(os.environ, RSCRAPE_PATHS_RUNTIME_DIR=str(tmp_path))
    p = run_ctl("-c", rstack.CONF, "workspace", "list", env=env, timeout=10)
    assert p.returncode == 1 and "jobd" in p.stderr
    assert len(p.stderr.splitlines()) == 1
    p = run_ctl("-c", rstack.CONF, "call", "ping", env=env, timeout=10)
    assert p.returncode == 2


# nng 1.5.2 bug (nanomsg/nng#1518, fixed in 1.6.0): a peer that hangs up
# before the SP handshake made the listener stop accepting; jobd re-listens
# when its self-probe gets no answer (lib/rep.c rep_probe).
def test_jobd_accepts_new_clients_after_a_client_gave_up_while_frozen(
        make_stack):
    s = make_stack(daemons=("jobd",))
    s.jobd.pause()
    assert s.ctl("--timeout", "300", "call", "ping",
                 check=False).returncode == 2
    s.jobd.resume()
    rstack.wait_until(lambda: s.ctl("--timeout", "1000", "call", "ping",
                                    check=False).returncode == 0,
                      timeout=10, what="jobd to answer a new client")
