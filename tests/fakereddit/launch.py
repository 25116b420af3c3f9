"""Start and stop the fake from Python tests.

    import sys; sys.path.insert(0, "<repo>/tests")
    from fakereddit.launch import FakeReddit
    with FakeReddit(scenario="small", args=["--budget", "50"]) as fake:
        fake.base           # http://127.0.0.1:PORT
        fake.truth(sub="fakesub", limit=100)
        fake.stats(); fake.reset(); fake.faults([{...}]); fake.config(budget=5)

The process is started with `--port 0`, readiness is the READY line on its
stdout (read with a deadline, no sleeps), and it is stopped with SIGTERM
(then SIGKILL) on exit.
"""

import json
import os
import select
import subprocess
import time
import urllib.request

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


class FakeReddit:
    def __init__(self, scenario="small", args=(), seed=None, timeout=30):
        self.cmd = [PYTHON, "-m", "fakereddit", "--port", "0",
                    "--scenario", scenario] + list(args)
        if seed is not None:
            self.cmd += ["--seed", str(seed)]
        self.timeout = timeout
        self.proc = None
        self.base = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, cwd=TESTS_DIR,
                                     stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                line = self.proc.stdout.readline()
                if line.startswith("READY "):
                    self.base = line.split()[1]
                    return self
                if not line:
                    break
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("fakereddit did not start: %s" % " ".join(self.cmd))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- admin helpers --------------------------------------------------

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def truth(self, sub=None, user=None, limit=100, detail=False):
        q = "sub=%s" % sub if sub else "user=%s" % user
        return self._call("GET", "/_fake/truth?%s&limit=%d%s" % (
            q, limit, "&detail=1" if detail else ""))

    def stats(self):
        return self._call("GET", "/_fake/stats")

    def reset(self, faults=True):
        return self._call("POST", "/_fake/reset", {"faults": faults})

    def faults(self, rules, expire_tokens=False):
        return self._call("POST", "/_fake/faults",
                          {"faults": rules, "expire_tokens": expire_tokens})

    def config(self, **kw):
        return self._call("POST", "/_fake/config", kw)

    def live(self, sub, **kw):
        return self._call("POST", "/_fake/live/" + sub, kw)

    def items(self, sub=None, user=None):
        q = "sub=%s" % sub if sub else "user=%s" % user
        return self._call("GET", "/_fake/items?" + q)

    def config_ini(self, client=True):
        """[reddit] keys pointing rscrape at this fake."""
        lines = ["[reddit]",
                 "api_url = " + self.base,
                 "public_url = " + self.base,
                 "token_url = %s/api/v1/access_token" % self.base]
        if client:
            lines += ["client_id = fake-client-id",
                      "client_secret = fake-client-secret"]
        return "\n".join(lines) + "\n"
