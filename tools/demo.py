#!/usr/bin/python3
"""make demo — the whole stack against the fake Reddit from tests/.

Starts the fake Reddit (scenario "demo"), then jobd, httpd and fetchd on a
temporary state directory, creates a workspace and an API key with
rscrapectl, runs a full job through the HTTP API, shows its progress until
it ends, and prints how to look at the results. The stack keeps running
until Ctrl-C, so the printed commands can be tried.

usage: tools/demo.py [-b BUILD] [--target demo] [--limit 50] [--no-wait]
"""
import argparse
import os
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-b", default=os.path.join(ROOT, "build"))
    ap.add_argument("--target", default="demo")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--no-wait", action="store_true",
                    help="stop the stack as soon as the job ends")
    args = ap.parse_args()
    os.environ["RSCRAPE_BUILD"] = os.path.abspath(args.b)
    import rstack                                   # noqa: E402
    from fakereddit.launch import FakeReddit        # noqa: E402

    fake = FakeReddit(scenario="demo")
    fake.start()
    print("fake Reddit: %s (scenario demo)" % fake.base)
    s = rstack.Stack(env={
        "RSCRAPE_REDDIT_API_URL": fake.base,
        "RSCRAPE_REDDIT_PUBLIC_URL": fake.base,
        "RSCRAPE_REDDIT_TOKEN_URL": fake.base + "/api/v1/access_token",
        "RSCRAPE_REDDIT_CLIENT_ID": "fake-client-id",
        "RSCRAPE_REDDIT_CLIENT_SECRET": "fake-client-secret"})
    try:
        daemons = ["jobd", "httpd", "fetchd"]
        if rstack.have("mediad"):
            daemons.append("mediad")
        for d in daemons:
            s.start(d)
            print("started %s" % d)
        ws, key = s.workspace_and_key("demo")
        print("workspace %s, API key %s" % (ws, key))
        body = {"target": args.target, "limit": args.limit,
                "download_media": rstack.have("mediad")}
        r = s.http("POST", "/api/v1/workspaces/%s/jobs" % ws, key=key,
                   json=body)
        job = r.json()
        path = "/api/v1/workspaces/%s/jobs/%s" % (ws, job["id"])
        print("POST %s -> %d, job %s" % (path.rsplit("/", 1)[0],
                                          r.status_code, job["id"]))
        last = None
        while job["status"] not in ("completed", "failed", "cancelled"):
            time.sleep(0.5)
            job = s.http("GET", path, key=key).json()
            p = job["progress"]
            line = "%-9s phase %-9s posts %4d  comments %5d  media %3d" % (
                job["status"], p.get("phase", "-"), job["posts_scraped"],
                job["comments_scraped"], p.get("media", 0))
            if line != last:
                print(line, flush=True)
                last = line
        print("job %s %s in %.1f s: %d posts, %d comments%s" % (
            job["id"], job["status"], job["duration_seconds"] or 0,
            job["posts_scraped"], job["comments_scraped"],
            (", error: " + job["error_message"])
            if job["error_message"] else ""))
        print("\nLook at the results:")
        auth = "curl -s -H 'Authorization: Bearer %s' " % key
        print("  %s%s%s" % (auth, s.base_url, path))
        print("  %s'%s%s/posts?sort_by=num_comments&limit=5'" % (
            auth, s.base_url, path))
        print("  %s'%s%s/comments?limit=5'" % (auth, s.base_url, path))
        print("  %s'%s%s/export?format=csv&type=comments' > comments.csv" % (
            auth, s.base_url, path))
        print("  %s'%s/api/v1/workspaces/%s/posts?q=the'" % (
            auth, s.base_url, ws))
        print("  sqlite3 %s/rscrape.db 'SELECT id, title, num_comments "
              "FROM posts LIMIT 10'" % s.state_dir)
        if args.no_wait:
            return 0 if job["status"] == "completed" else 1
        print("\nThe stack keeps running; Ctrl-C stops it.")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    finally:
        s.close()
        fake.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}) \
        if "--no-wait" not in sys.argv else None
    sys.exit(main())
