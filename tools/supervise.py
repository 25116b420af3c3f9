#!/usr/bin/python3
"""supervise.py -- run rscrape's daemons in the foreground (`make run`).

Like systemd's Restart=always for a developer's terminal:
  * starts the daemons whose binaries exist in BUILD: jobd first, and once
    jobd has sent READY=1 (over a NOTIFY_SOCKET made for each child), httpd,
    fetchd and mediad;
  * restarts any daemon that exits, after a short back-off that grows while
    it keeps crashing (5 starts within 10 s: wait THROTTLE seconds);
  * logs every start, readiness, exit and restart on stderr, named;
  * on Ctrl-C or SIGTERM sends SIGTERM to all of them in reverse order,
    waits, SIGKILLs whatever is left after a grace period, and exits 0.

For tests and scripts: --ready-file PATH is written ("ready\\n") once every
daemon has reported READY=1, and the line "supervise: ready" goes to stderr.
Standard library only.
"""

import argparse
import configparser
import ctypes
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

ORDER = ("jobd", "httpd", "fetchd", "mediad")
BACKOFF_MIN = 0.2        # seconds before the first restart
BACKOFF_MAX = 5.0        # ceiling of the growing back-off
HEALTHY_AFTER = 10.0     # a daemon that ran this long starts over at BACKOFF_MIN
BURST, BURST_WINDOW = 5, 10.0   # this many starts in this window: a crash loop
THROTTLE = 15.0          # then wait this long
READY_TIMEOUT = 30.0     # warn when a daemon has not said READY=1 by then


def log(msg):
    sys.stderr.write("supervise: %s\n" % msg)
    sys.stderr.flush()


def die_with_parent():
    """Children get SIGTERM if the supervisor itself is killed (-9)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def describe_exit(rc):
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exited with status %d" % rc


class Daemon:
    def __init__(self, name, path, args, sockdir, sel):
        self.name = name
        self.path = path
        self.args = args
        self.proc = None
        self.ready = False
        self.ever_ready = False
        self.started_at = 0.0
        self.starts = []            # start times, for the crash-loop check
        self.backoff = BACKOFF_MIN
        self.restart_at = None      # when a scheduled restart is due
        self.ready_warned = False
        self.sock_path = os.path.join(sockdir, name + ".notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.setblocking(False)
        sel.register(self.sock, selectors.EVENT_READ, self)

    def start(self):
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self.sock_path
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        self.ready = False
        self.ready_warned = False
        self.restart_at = None
        now = time.monotonic()
        try:
            # own process group: a terminal's ^C reaches the supervisor
            # only, which then stops the daemons in order
            self.proc = subprocess.Popen([self.path] + self.args, env=env,
                                         start_new_session=True,
                                         preexec_fn=die_with_parent)
        except OSError as e:
            log("%s: cannot start %s: %s" % (self.name, self.path, e))
            self.proc = None
            self.schedule_restart(now)
            return
        self.started_at = now
        self.starts = [t for t in self.starts if now - t < BURST_WINDOW]
        self.starts.append(now)
        log("%s: started (pid %d)" % (self.name, self.proc.pid))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def schedule_restart(self, now):
        if now - self.started_at >= HEALTHY_AFTER:
            self.backoff = BACKOFF_MIN
        delay = self.backoff
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        if len(self.starts) >= BURST:
            delay = THROTTLE
            self.starts = []
            log("%s: %d starts within %.0f s, throttling" %
                (self.name, BURST, BURST_WINDOW))
        self.restart_at = now + delay
        log("%s: restarting in %.1f s" % (self.name, delay))

    def read_notify(self):
        """Drain the notify socket; True when READY=1 arrived."""
        got = False
        while True:
            try:
                data = self.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return got
            for line in data.decode("utf-8", "replace").splitlines():
                if line == "READY=1" and not self.ready:
                    self.ready = self.ever_ready = got = True
                    log("%s: ready (pid %d)" % (self.name,
                        self.proc.pid if self.proc else -1))
                elif line == "STOPPING=1":
                    log("%s: stopping" % self.name)

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.sock_path)
        except OSError:
            pass


def config_listen(conf):
    """httpd's listen address as the daemons will see it."""
    listen = os.environ.get("RSCRAPE_HTTPD_LISTEN")
    if listen:
        return listen
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                   interpolation=None)
    try:
        cp.read(conf)
        return cp.get("httpd", "listen", fallback="127.0.0.1:8080")
    except configparser.Error:
        return "127.0.0.1:8080"


class Supervisor:
    def __init__(self, opts):
        self.opts = opts
        self.sel = selectors.DefaultSelector()
        self.sockdir = tempfile.mkdtemp(prefix="rscrape-supervise-")
        self.stopping = False
        self.announced = False
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)
        self.wake_r = rfd
        signal.set_wakeup_fd(wfd)
        self.sel.register(rfd, selectors.EVENT_READ, None)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.on_stop)
        signal.signal(signal.SIGCHLD, lambda s, f: None)

        args = ["-c", opts.config] + ["-v"] * opts.verbose
        self.daemons = []
        for name in ORDER:
            if opts.only and name not in opts.only:
                continue
            path = os.path.join(opts.build, name)
            if os.access(path, os.X_OK):
                self.daemons.append(Daemon(name, path, args, self.sockdir,
                                           self.sel))
        if not self.daemons or self.daemons[0].name != "jobd":
            log("no jobd in %s: run `make` first" % opts.build)
            sys.exit(1)
        self.jobd = self.daemons[0]

    def on_stop(self, signum, frame):
        if not self.stopping:
            log("received %s, stopping" % signal.Signals(signum).name)
        self.stopping = True

    def announce(self):
        listen = config_listen(self.opts.config)
        ctl = os.path.join(self.opts.build, "rscrapectl")
        if self.opts.config != "etc/rscrape.conf":
            ctl += " -c " + self.opts.config
        log("ready: %s" % " ".join(d.name for d in self.daemons))
        if any(d.name == "httpd" for d in self.daemons):
            sys.stderr.write(
                "\nrscrape: the API listens on http://%s/api/v1\n"
                "  create a workspace and a key, in another terminal:\n"
                "    %s workspace create demo\n"
                "    %s key create ws_...\n"
                "  then: curl -H 'Authorization: Bearer rp_...' "
                "http://%s/api/v1/workspaces/ws_.../jobs\n"
                "  Ctrl-C stops everything.\n\n" % (listen, ctl, ctl, listen))
            sys.stderr.flush()
        if self.opts.ready_file:
            tmp = self.opts.ready_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("ready\n")
            os.replace(tmp, self.opts.ready_file)

    def reap(self, now):
        for d in self.daemons:
            if d.proc is None or d.restart_at is not None:
                continue
            rc = d.proc.poll()
            if rc is None:
                continue
            log("%s: %s after %.1f s" % (d.name, describe_exit(rc),
                                          now - d.started_at))
            d.proc = None
            d.ready = False
            if not self.stopping:
                d.schedule_restart(now)

    def step(self):
        now = time.monotonic()
        # others wait for jobd's first READY=1, as systemd's After= would
        for d in self.daemons:
            if d.proc is None and d.restart_at is not None and \
                    now >= d.restart_at:
                d.start()
            elif d.proc is None and d.restart_at is None and \
                    not d.starts and (d is self.jobd or self.jobd.ever_ready):
                d.start()
            if d.running() and not d.ready and not d.ready_warned and \
                    now - d.started_at > READY_TIMEOUT:
                d.ready_warned = True
                log("%s: no READY=1 after %.0f s" % (d.name, READY_TIMEOUT))
                if d is self.jobd and not d.ever_ready:
                    d.ever_ready = True     # start the others anyway
        if not self.announced and all(d.ever_ready for d in self.daemons):
            self.announced = True
            self.announce()

        deadlines = [d.restart_at for d in self.daemons if d.restart_at]
        timeout = 1.0
        if deadlines:
            timeout = max(0.0, min(min(deadlines) - now, timeout))
        for key, _ in self.sel.select(timeout):
            if key.data is None:
                try:
                    while os.read(self.wake_r, 512):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass
            else:
                key.data.read_notify()
        self.reap(time.monotonic())

    def stop_all(self):
        for d in reversed(self.daemons):
            d.restart_at = None
            if d.running():
                log("%s: sending SIGTERM (pid %d)" % (d.name, d.proc.pid))
                try:
                    d.proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
                # stop one at a time so httpd goes before jobd, as the
                # order of the arrows says, but never wait past the grace
                self.wait_for(d, self.opts.grace)
        for d in self.daemons:
            if d.running():
                log("%s: still running after %.0f s, sending SIGKILL" %
                    (d.name, self.opts.grace))
                d.proc.kill()
                d.proc.wait()
        for d in self.daemons:
            if d.proc is not None:
                log("%s: %s" % (d.name, describe_exit(d.proc.wait())))
            d.close()
        try:
            os.rmdir(self.sockdir)
        except OSError:
            pass

    @staticmethod
    def wait_for(d, grace):
        try:
            d.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass

    def run(self):
        try:
            while not self.stopping:
                self.step()
        finally:
            self.stop_all()
        log("stopped")
        return 0


def main():
    ap = argparse.ArgumentParser(
        description="Run rscrape's daemons in the foreground, restarting "
                    "any that exits; Ctrl-C stops them all.")
    ap.add_argument("-b", "--build", default="build",
                    help="directory with the daemon binaries (default build)")
    ap.add_argument("-c", "--config", default="etc/rscrape.conf",
                    help="configuration file passed to every daemon")
    ap.add_argument("-v", "--verbose", action="count", default=0,
                    help="pass -v to the daemons")
    ap.add_argument("--only", type=lambda s: s.split(","), default=None,
                    help="comma-separated daemons to run (jobd always "
                         "first)")
    ap.add_argument("--grace", type=float, default=10.0,
                    help="seconds to wait after SIGTERM before SIGKILL")
    ap.add_argument("--ready-file",
                    help="write 'ready' here once every daemon is ready")
    opts = ap.parse_args()
    if not os.path.isfile(opts.config):
        log("cannot read the configuration %s" % opts.config)
        return 1
    return Supervisor(opts).run()


if __name__ == "__main__":
    sys.exit(main())
