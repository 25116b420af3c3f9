#!/usr/bin/python3
"""soak.py -- N random kill -9s spread over one long full job (run by hand).

    make && /usr/bin/python3 tests/soak.py [--kills 20] [--seed 1]

Starts the fake Reddit (--scenario, default "demo": 100 posts, ~970
comments with a 650-comment thread and a 12-deep chain) and the stack from
$RSCRAPE_BUILD (default build/), creates one full job (--limit, default
100, comments; media once mediad is built), and every 0.5-3 s kills one daemon at random with
SIGKILL and starts it again at once, as systemd's Restart=always would.
Then it waits for the job and compares with the fake's truth: status,
posts, comments, and the database rows (no duplicates). Exit 0 when all
match. Results are recorded in tests/README.md.
"""

import argparse
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
sys.path.insert(0, HERE)

from rstack import Stack, have, wait_until  # noqa: E402
from fakereddit.launch import FakeReddit  # noqa: E402
from integration.test_restart import db_rows, fake_env, job_of  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--scenario", default="demo")
    ap.add_argument("--sub", default="demo")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--delay", type=float, default=2.0,
                    help="seconds added to each comment-tree request")
    opts = ap.parse_args()
    seed = opts.seed if opts.seed is not None else int(time.time())
    rnd = random.Random(seed)
    victims = [d for d in ("jobd", "httpd", "fetchd", "mediad") if have(d)]
    print("soak: seed %d, %d kills among %s" % (seed, opts.kills,
                                                 ", ".join(victims)))
    with FakeReddit(scenario=opts.scenario) as fake, \
            Stack(env=fake_env(fake, RSCRAPE_JOBD_LEASE_SECONDS="3",
                               # the fake's truth fails its 3 MiB file
                               RSCRAPE_MEDIAD_MAX_BYTES="2000000"),
                  request_timeout_ms=3000) as s:
        for d in victims:
            s.start(d)
        ws, key = s.workspace_and_key()
        truth = fake.truth(sub=opts.sub, limit=opts.limit)
        fake.faults([{"path": "/comments/", "times": None,
                      "action": "delay", "seconds": opts.delay}])
        media = "mediad" in victims
        job = s.create_job(ws, key, target=opts.sub, limit=opts.limit,
                           download_media=media)
        t0 = time.monotonic()
        kills = []
        for i in range(opts.kills):
            time.sleep(rnd.uniform(0.5, 3.0))
            v = rnd.choice(victims)
            s.daemons[v].kill()
            s.start(v)
            j = None
            try:
                j = wait_until(lambda: job_of(s, ws, key, job["id"]),
                               timeout=30, interval=0.1, what="the job")
            except AssertionError:
                pass
            kills.append(v)
            print("soak: %5.1f s kill %2d: %-6s -> %s, %s comments" % (
                time.monotonic() - t0, i + 1, v,
                j and j["status"], j and j["comments_scraped"]))
            if j and j["status"] != "running":
                print("soak: the job ended before all kills")
                break

        def ended():
            j = job_of(s, ws, key, job["id"])
            return j if j and j["status"] in ("completed", "failed",
                                              "cancelled") else None
        j = wait_until(ended, timeout=600, interval=0.5, what="the job")
        rows = db_rows(s, job["id"])
        took = time.monotonic() - t0
        ok = (j["status"] == "completed" and
              j["posts_scraped"] == truth["posts"] and
              j["comments_scraped"] == truth["comments"] and
              rows["posts"] == (truth["posts"],) * 2 and
              rows["comments"] == (truth["comments"],) * 2 and
              (not media or
               (j["media_downloaded"] == truth["media"]["downloaded"] and
                j["progress"].get("media_failed") ==
                truth["media"]["failed"])))
        if media:
            print("soak: media downloaded %d/%d, failed %s/%d" % (
                j["media_downloaded"], truth["media"]["downloaded"],
                j["progress"].get("media_failed"), truth["media"]["failed"]))
        print("soak: %d kills (%s) in %.0f s; job %s: posts %d/%d, "
              "comments %d/%d, rows %s -> %s" % (
                  len(kills), ", ".join("%s %d" % (v, kills.count(v))
                                        for v in victims),
                  took, j["status"], j["posts_scraped"], truth["posts"],
                  j["comments_scraped"], truth["comments"], rows,
                  "OK" if ok else "MISMATCH"))
        if not ok:
            print(s.logs())
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
