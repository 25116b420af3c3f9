"""Fixtures for the integration tests: real daemons from $RSCRAPE_BUILD on
temporary dirs and a free port (see rstack.py). Daemon logs are printed
when a test that used them fails."""

import collections
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rstack  # noqa: E402
from rstack import Stack  # noqa: E402,F401  (re-exported for test files)

Tenant = collections.namedtuple("Tenant", "ws key key_id")


def require(*names):
    """Skip when a program of the stack has not been built (yet)."""
    missing = [n for n in names if not rstack.have(n)]
    if missing:
        pytest.skip("not built in %s: %s" % (rstack.BUILD, ", ".join(missing)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.fixture
def make_stack(request):
    """A factory: make_stack(daemons=("jobd", "httpd"), **Stack kwargs).
    Every stack made is closed (its daemons killed) at teardown."""
    made = []

    def make(daemons=("jobd", "httpd"), **kw):
        require("rscrapectl", *daemons)
        s = Stack(**kw)
        made.append(s)
        for d in daemons:
            s.start(d)
        return s

    yield make
    for s in made:
        if _failed(request):
            sys.stderr.write(s.logs())
        s.close()


@pytest.fixture(scope="module")
def stack(request):
    """jobd and httpd shared by one test module (tests make their own
    workspaces, so they do not see each other's jobs)."""
    require("rscrapectl", "jobd", "httpd")
    s = Stack()
    try:
        s.start("jobd")
        s.start("httpd")
    except Exception:
        sys.stderr.write(s.logs())
        s.close()
        raise
    yield s
    s.close()


@pytest.fixture
def tenant(stack, request):
    """A fresh workspace on the shared stack with a read,write key."""
    ws = stack.workspace(request.node.name[:90])
    key, key_id = stack.key(ws)
    yield Tenant(ws, key, key_id)
    if _failed(request):
        sys.stderr.write(stack.logs())
