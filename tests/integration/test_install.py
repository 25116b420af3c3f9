"""`make install` into a temporary DESTDIR: the tree an operator gets, the
systemd units checked by systemd-analyze (verify: no errors, no warnings;
security: exposure 2.5 or lower), the installed daemons accepting the
installed config, a second install keeping an edited config, and
`make uninstall` removing everything but the config."""

import os
import re
import shutil
import stat
import subprocess

import pytest

import rstack
from conftest import require

DAEMONS = ("jobd", "httpd", "fetchd", "mediad")
UNITS = ["rscrape-%s.service" % d for d in DAEMONS] + ["rscrape.target"]
PREFIX = "/usr"
EXPOSURE_MAX = 2.5


def make(target, destdir, check=True):
    args = ["make", "--no-print-directory", "-C", rstack.REPO,
            "-o", "all",        # install what the test run built, as is
            "BUILD=" + rstack.BUILD, "DESTDIR=" + str(destdir),
            "PREFIX=" + PREFIX, "SYSCONFDIR=/etc", target]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, (p.stdout, p.stderr)
    return p


def built(d):
    return rstack.have(d)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    require("rscrapectl", "jobd", "httpd", "fetchd")
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (tools/deps.sh)")
    d = tmp_path_factory.mktemp("destdir")
    make("install", d)
    return d


def path(root, p):
    return os.path.join(str(root), p.lstrip("/"))


def test_tree(root):
    for d in DAEMONS:
        p = path(root, "%s/libexec/rscrape/%s" % (PREFIX, d))
        if not built(d):
            assert not os.path.exists(p)
            continue
        assert os.access(p, os.X_OK), p
    assert os.access(path(root, PREFIX + "/bin/rscrapectl"), os.X_OK)
    for u in UNITS:
        p = path(root, PREFIX + "/lib/systemd/system/" + u)
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644, p
        text = open(p).read()
        # install rewrote the paths for PREFIX=/usr
        assert "/usr/local/libexec" not in text and "/usr/local/share" not in text, u
        if u.endswith(".service"):
            d = u[len("rscrape-"):-len(".service")]
            assert "ExecStart=%s/libexec/rscrape/%s -c /etc/rscrape/" \
                "rscrape.conf\n" % (PREFIX, d) in text
    sysusers = open(path(root, PREFIX + "/lib/sysusers.d/rscrape.conf")).read()
    assert re.search(r"^u rscrape ", sysusers, re.M)
    tmpfiles = open(path(root, PREFIX + "/lib/tmpfiles.d/rscrape.conf")).read()
    assert re.search(r"^d /var/lib/rscrape\s+0750 rscrape rscrape", tmpfiles,
                     re.M)
    assert re.search(r"^d /run/rscrape\s+0750 rscrape rscrape", tmpfiles, re.M)

    conf = path(root, "/etc/rscrape/rscrape.conf")
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640
    text = open(conf).read()
    assert re.search(r"^state_dir\s*=\s*/var/lib/rscrape\s", text, re.M)
    assert re.search(r"^runtime_dir\s*=\s*/run/rscrape\s", text, re.M)
    assert re.search(r"^plugin_dir\s*=\s*/usr/lib/rscrape/plugins", text,
                     re.M)
    assert os.path.isdir(path(root, PREFIX + "/lib/rscrape/plugins"))
    for p in ("sentiment", "keywords", "webhook"):
        f = path(root, PREFIX + "/lib/rscrape/plugins/" + p)
        assert os.access(f, os.X_OK), f


def test_installed_daemons_check_the_installed_config(root):
    conf = path(root, "/etc/rscrape/rscrape.conf")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSCRAPE_")}
    for d in DAEMONS:
        if not built(d):
            continue
        exe = path(root, "%s/libexec/rscrape/%s" % (PREFIX, d))
        p = subprocess.run([exe, "-t", "-c", conf], capture_output=True,
                           text=True, timeout=30, env=env)
        assert p.returncode == 0, (d, p.stderr)
        # an installed daemon's default config is the system one
        p = subprocess.run([exe, "-h"], capture_output=True, text=True,
                           timeout=30, env=env)
        assert "/etc/rscrape/rscrape.conf" in p.stderr + p.stdout, d


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify(root, unit):
    d = unit[len("rscrape-"):-len(".service")] if unit.endswith(".service") \
        else None
    if d is not None and not built(d):
        pytest.skip("%s is not built yet: its unit's ExecStart cannot be "
                    "verified" % d)
    p = subprocess.run(["systemd-analyze", "verify", "--recursive-errors=no",
                        "--root=" + str(root),
                        path(root, PREFIX + "/lib/systemd/system/" + unit)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr


@pytest.mark.parametrize("unit", [u for u in UNITS if u.endswith(".service")])
def test_systemd_analyze_security_exposure(root, unit):
    p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--no-pager",
                        path(root, PREFIX + "/lib/systemd/system/" + unit)],
                       capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert m, out
    assert float(m.group(1)) <= EXPOSURE_MAX, out


def test_reinstall_keeps_config_and_uninstall_leaves_only_it(tmp_path):
    require("rscrapectl", "jobd", "httpd", "fetchd")
    make("install", tmp_path)
    conf = path(tmp_path, "/etc/rscrape/rscrape.conf")
    with open(conf, "a") as f:
        f.write("; edited by the operator\n")
    edited = open(conf).read()
    p = make("install", tmp_path)
    assert "keeping" in p.stdout
    assert open(conf).read() == edited

    make("uninstall", tmp_path)
    left = sorted(os.path.relpath(os.path.join(dp, f), str(tmp_path))
                  for dp, _, fs in os.walk(str(tmp_path)) for f in fs)
    assert left == ["etc/rscrape/rscrape.conf"], left
