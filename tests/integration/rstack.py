"""rstack -- the real rscrape daemons on temporary dirs and a free port.

A Stack owns one temporary directory (state_dir, runtime_dir, logs, one
NOTIFY_SOCKET per daemon) and starts daemons from $RSCRAPE_BUILD with
`-c etc/rscrape.conf` plus RSCRAPE_* environment overrides. Readiness is the
daemon's own READY=1 on the notify socket, awaited with a deadline; nothing
here sleeps a fixed time. close() kills whatever is still running.

    with Stack() as s:
        s.start("jobd"); s.start("httpd")
        ws, key = s.workspace_and_key()
        r = s.http("GET", "/api/v1/workspaces/%s/jobs" % ws, key=key)

Other test files reuse it through the fixtures in conftest.py, or directly
(e.g. Stack(env={"RSCRAPE_REDDIT_API_URL": fake.url}) and start("fetchd")).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("RSCRAPE_BUILD", os.path.join(REPO, "build"))
CONF = os.path.join(REPO, "etc", "rscrape.conf")
READY_TIMEOUT = 20.0      # generous: the sanitizer build starts slowly


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary(name):
    return os.path.join(BUILD, name)


def have(name):
    return os.access(binary(name), os.X_OK)


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Poll pred() until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:          # noqa: BLE001 -- retried
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s%s" % (
                timeout, what, " (last error: %r)" % last_exc
                if last_exc else ""))
        time.sleep(interval)


class DaemonFailed(AssertionError):
    pass


class Daemon:
    """One running daemon: .proc (Popen), .pid, .log_path."""

    def __init__(self, stack, name, args, env=None, watch_notify=False):
        self.stack = stack
        self.name = name
        self.args = args
        self.env = env or {}        # on top of the stack's environment
        # watch_notify: keep reading the NOTIFY_SOCKET for the daemon's
        # whole life; every line it sends lands in .notes (see note())
        self.watch_notify = watch_notify
        self.notes = []
        self._watcher = None
        self._watch_stop = None
        self.proc = None
        self.log_path = os.path.join(stack.dir, name + ".log")
        self.notify_path = os.path.join(stack.dir, name + ".notify")
        self.paused = False

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def start(self, wait_ready=True, timeout=READY_TIMEOUT):
        self.unwatch()      # of a previous run that died by itself
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self.notify_path)
        env = dict(self.stack.env)
        env.update(self.env)
        env["NOTIFY_SOCKET"] = self.notify_path
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [binary(self.name), "-c", self.stack.conf] + self.args,
                env=env, cwd=self.stack.dir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        self.paused = False
        if self.watch_notify:
            self._watch(sock)
            if wait_ready:
                self.wait_note("READY=1", timeout)
            return self
        try:
            if wait_ready:
                self._wait_ready(sock, timeout)
        finally:
            sock.close()
        return self

    def _watch(self, sock):
        self.notes = []
        stop = self._watch_stop = threading.Event()

        def run():
            # a daemon blocks in sd_notify() when a datagram socket's
            # queue is full: drain it until told to stop
            sock.settimeout(0.1)
            try:
                while not stop.is_set():
                    try:
                        data = sock.recv(65536)
                    except socket.timeout:
                        continue
                    for line in data.decode("utf-8", "replace").split("\n"):
                        if line:
                            self.notes.append((time.monotonic(), line))
            finally:
                sock.close()
        self._watcher = threading.Thread(target=run, daemon=True)
        self._watcher.start()

    def unwatch(self):
        if self._watcher is not None:
            self._watch_stop.set()
            self._watcher.join()
            self._watcher = None

    def note(self, what):
        """The last line sent on NOTIFY_SOCKET equal to what, or starting
        with it when what ends with "=" (e.g. "STATUS="), or None."""
        for _, line in reversed(list(self.notes)):
            if line == what or (what.endswith("=") and line.startswith(what)):
                return line
        return None

    def wait_note(self, what, timeout=READY_TIMEOUT, pred=None):
        """Wait for a line as note() finds it (and pred(line) true)."""
        def seen():
            if self.proc.poll() is not None and self.note(what) is None:
                raise DaemonFailed("%s exited (%d) before %s\n%s" % (
                    self.name, self.proc.returncode, what, self.log_tail()))
            for _, line in reversed(list(self.notes)):
                if (line == what or (what.endswith("=") and
                                     line.startswith(what))) and \
                        (pred is None or pred(line)):
                    return line
            return None
        return wait_until(seen, timeout, what="%s to send %s" % (self.name,
                                                                  what))

    def _wait_ready(self, sock, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise DaemonFailed("%s: no READY=1 within %.0f s\n%s" % (
                    self.name, timeout, self.log_tail()))
            # short slices so that a daemon that dies is noticed at once
            sock.settimeout(min(left, 0.1))
            try:
                data = sock.recv(4096)
            except socket.timeout:
                rc = self.proc.poll()
                if rc is not None:
                    raise DaemonFailed("%s exited (%d) before READY=1\n%s" % (
                        self.name, rc, self.log_tail()))
                continue
            if b"READY=1" in data.split(b"\n"):
                return

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def pause(self):
        """SIGSTOP: the daemon is there but answers nothing."""
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout=10.0):
        """SIGTERM, wait; returns the exit status. SIGKILL after timeout."""
        if self.proc is None:
            return None
        if self.paused:
            self.resume()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stacks = backtrace(self.proc.pid)
                self.proc.kill()
                self.proc.wait()
                self.unwatch()
                raise DaemonFailed("%s ignored SIGTERM for %.0f s\n%s\n%s" % (
                    self.name, timeout, self.log_tail(), stacks))
        self.unwatch()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.unwatch()

    def restart(self, timeout=READY_TIMEOUT):
        self.stop()
        return self.start(timeout=timeout)


def reddit_env(fake, **more):
    """The daemons' environment for a FakeReddit: its URLs for the API,
    the public .json paths and the token, the fake's client credentials,
    and no rate limit to speak of; more overrides or adds keys."""
    env = {
        "RSCRAPE_REDDIT_API_URL": fake.base,
        "RSCRAPE_REDDIT_PUBLIC_URL": fake.base,
        "RSCRAPE_REDDIT_TOKEN_URL": fake.base + "/api/v1/access_token",
        "RSCRAPE_REDDIT_CLIENT_ID": "fake-client-id",
        "RSCRAPE_REDDIT_CLIENT_SECRET": "fake-client-secret",
        "RSCRAPE_REDDIT_REQUESTS_PER_MINUTE": "100000"}
    env.update(more)
    return env


def backtrace(pid):
    """Every thread's stack of a hung daemon, for the failure message."""
    gdb = shutil.which("gdb")
    if gdb is None:
        return "(no gdb for a backtrace)"
    try:
        out = subprocess.run([gdb, "-p", str(pid), "-batch", "-nx",
                              "-ex", "thread apply all bt"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "(gdb failed: %s)" % e
    return "\n".join(line for line in out.stdout.splitlines()
                     if line.startswith(("#", "Thread")))


class Stack:
    """Temporary dirs, a free HTTP port, and the daemons started in them."""

    def __init__(self, env=None, conf=CONF, request_timeout_ms=None):
        # short paths: ipc:// and AF_UNIX addresses are limited to ~100 bytes
        self.dir = tempfile.mkdtemp(prefix="rs-")
        self.state_dir = os.path.join(self.dir, "state")
        self.runtime_dir = os.path.join(self.dir, "run")
        os.makedirs(self.state_dir)
        os.makedirs(self.runtime_dir)
        self.port = free_port()
        self.listen = "127.0.0.1:%d" % self.port
        self.base_url = "http://" + self.listen
        self.conf = conf
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("RSCRAPE_") or k == "RSCRAPE_BUILD"}
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("JOURNAL_STREAM", None)
        self.env.update({
            "RSCRAPE_PATHS_STATE_DIR": self.state_dir,
            "RSCRAPE_PATHS_RUNTIME_DIR": self.runtime_dir,
            "RSCRAPE_PATHS_PLUGIN_DIR": os.path.join(self.dir, "plugins"),
            "RSCRAPE_HTTPD_LISTEN": self.listen,
        })
        if request_timeout_ms is not None:
            self.env["RSCRAPE_HTTPD_REQUEST_TIMEOUT_MS"] = \
                str(request_timeout_ms)
        if env:
            self.env.update(env)
        self.daemons = {}
        self.http_session = requests.Session()
        self.http_session.trust_env = False     # no proxies from the env

    # --- daemons -------------------------------------------------------
    def start(self, name, *args, wait_ready=True, timeout=READY_TIMEOUT,
              env=None, watch_notify=False):
        """env: variables for this daemon only (e.g. a PATH without
        ffmpeg for mediad); watch_notify: see Daemon."""
        d = self.daemons.get(name)
        if d is not None and d.running():
            raise AssertionError("%s is already running" % name)
        d = Daemon(self, name, list(args), env=env, watch_notify=watch_notify)
        self.daemons[name] = d
        return d.start(wait_ready=wait_ready, timeout=timeout)

    def __getattr__(self, name):
        # stack.jobd, stack.httpd, stack.fetchd ...
        daemons = self.__dict__.get("daemons", {})
        if name in daemons:
            return daemons[name]
        raise AttributeError(name)

    def restart(self, name, timeout=READY_TIMEOUT):
        return self.daemons[name].restart(timeout=timeout)

    def close(self):
        for d in reversed(list(self.daemons.values())):
            if d.paused:
                d.resume()
            if d.running():
                d.proc.send_signal(signal.SIGTERM)
        for d in self.daemons.values():
            if d.proc is None:
                continue
            try:
                d.proc.wait(5)
            except subprocess.TimeoutExpired:
                d.kill()
            d.unwatch()
        self.http_session.close()
        if os.environ.get("RSCRAPE_KEEP_TMP"):
            print("rstack: kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        return "\n".join("--- %s ---\n%s" % (n, d.log_tail())
                         for n, d in self.daemons.items())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            # a failing test shows what each daemon said last
            print(self.logs())
        self.close()

    # --- rscrapectl ----------------------------------------------------
    def ctl(self, *args, check=True, timeout=30):
        """Run rscrapectl against this stack; a CompletedProcess (text)."""
        p = subprocess.run([binary("rscrapectl"), "-c", self.conf] +
                           [str(a) for a in args],
                           env=self.env, cwd=self.dir, capture_output=True,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("rscrapectl %s: exit %d\nstdout: %s\n"
                                 "stderr: %s" % (" ".join(map(str, args)),
                                                 p.returncode, p.stdout,
                                                 p.stderr))
        return p

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def call(self, type_, body=None, check=True):
        """One raw jobd request (rscrapectl call): the reply body."""
        args = ["call", type_]
        if body is not None:
            args.append(json.dumps(body))
        p = self.ctl(*args, check=check)
        return json.loads(p.stdout) if p.returncode == 0 else p

    def workspace(self, name="test"):
        return self.ctl("workspace", "create", name).stdout.strip()

    def key(self, workspace_id, scopes=None, name=None):
        """A new key: (secret, key_id)."""
        args = ["key", "create", workspace_id]
        if scopes:
            args += ["--scopes", scopes]
        if name:
            args += ["--name", name]
        k = self.ctl_json(*args)
        return k["secret"], k["id"]

    def workspace_and_key(self, name="test", scopes=None):
        ws = self.workspace(name)
        return ws, self.key(ws, scopes)[0]

    # --- HTTP ----------------------------------------------------------
    def url(self, path):
        return self.base_url + path

    def http(self, method, path, key=None, header="bearer", timeout=15,
             **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if key is not None:
            if header == "bearer":
                headers["Authorization"] = "Bearer " + key
            else:
                headers["X-API-Key"] = key
        return self.http_session.request(method, self.url(path),
                                         headers=headers, timeout=timeout,
                                         **kw)

    def jobs_path(self, ws, job=None):
        p = "/api/v1/workspaces/%s/jobs" % ws
        return p + "/" + job if job else p

    def create_job(self, ws, key, **body):
        body.setdefault("target", "python")
        r = self.http("POST", self.jobs_path(ws), key=key, json=body)
        assert r.status_code == 201, (r.status_code, r.text)
        return r.json()
