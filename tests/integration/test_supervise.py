"""tools/supervise.py (`make run`): starts the daemons, restarts what exits,
throttles a crash loop, and stops everything on SIGTERM."""

import os
import re
import signal
import stat
import subprocess
import sys

import pytest

import rstack
from conftest import require

SUPERVISE = os.path.join(rstack.REPO, "tools", "supervise.py")


class Supervisor:
    def __init__(self, stack, build, *extra):
        self.stack = stack
        self.ready_file = os.path.join(stack.dir, "ready")
        self.log_path = os.path.join(stack.dir, "supervise.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, SUPERVISE, "-b", build, "-c", stack.conf,
             "--ready-file", self.ready_file, "--grace", "5"] + list(extra),
            env=stack.env, cwd=stack.dir, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_ready(self, timeout=30):
        rstack.wait_until(lambda: os.path.exists(self.ready_file) or
                          self.proc.poll() is not None, timeout,
                          what="supervise.py --ready-file")
        assert self.proc.poll() is None, self.text()

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def supervised(request):
    made = []

    def make(build=rstack.BUILD, *extra):
        s = rstack.Stack()
        sup = Supervisor(s, build, *extra)
        made.append((s, sup))
        return s, sup

    yield make
    for s, sup in made:
        sup.close()
        if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
            sys.stderr.write(sup.text())
        s.close()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie not yet reaped by its parent counts as gone
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_starts_restarts_and_stops(supervised):
    require("jobd", "rscrapectl")
    s, sup = supervised()
    sup.wait_ready()
    log = sup.text()
    assert re.search(r"supervise: jobd: ready", log), log
    for name in ("httpd", "fetchd", "mediad"):
        if rstack.have(name):
            assert re.search(r"supervise: %s: ready" % name, log), log
    if rstack.have("httpd"):
        assert "the API listens on http://%s/api/v1" % s.listen in log, log

    first = s.call("ping")["pid"]
    os.kill(first, signal.SIGKILL)
    # a new jobd, started by the supervisor, answers
    second = rstack.wait_until(
        lambda: (lambda p: p if p != first else None)(
            s.call("ping", check=False)["pid"]),
        timeout=20, interval=0.1, what="jobd restarted")
    assert second != first
    assert re.search(r"jobd: killed by SIGKILL", sup.text())
    assert re.search(r"jobd: restarting in \d", sup.text())

    sup.proc.send_signal(signal.SIGTERM)
    assert sup.proc.wait(20) == 0, sup.text()
    assert not alive(second)
    assert "supervise: stopped" in sup.text()


def test_crash_loop_is_throttled(supervised, tmp_path):
    require("jobd")
    build = tmp_path / "build"
    build.mkdir()
    os.symlink(rstack.binary("jobd"), build / "jobd")
    crasher = build / "httpd"
    crasher.write_text("#!/bin/sh\nexit 3\n")
    crasher.chmod(crasher.stat().st_mode | stat.S_IXUSR)
    s, sup = supervised(str(build))
    rstack.wait_until(lambda: "throttling" in sup.text(), timeout=30,
                      interval=0.1, what="the crash loop to be throttled")
    log = sup.text()
    assert log.count("httpd: exited with status 3") >= 5, log
    delays = [float(d) for d in re.findall(r"httpd: restarting in ([\d.]+) s",
                                             log)]
    # a growing back-off, then one long wait
    assert delays[:4] == sorted(delays[:4]) and delays[0] < delays[3], delays
    assert delays[-1] >= 10, delays
    # jobd is untouched by httpd's troubles
    assert log.count("jobd: started") == 1
    sup.proc.send_signal(signal.SIGINT)
    assert sup.proc.wait(20) == 0, sup.text()
