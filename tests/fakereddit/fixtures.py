"""Templates taken from the recorded Reddit responses in tests/data/reddit.

Every object the fake serves starts as a deep copy of a real recorded
object, so it carries Reddit's real field set; the generator only changes
the identity, text, time, score and media fields.
"""

import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.environ.get("FAKEREDDIT_FIXTURES",
                          os.path.join(os.path.dirname(HERE), "data", "reddit"))

# Keys that only moderators see; a read-only scraper never gets them.
MOD_ONLY = {"approved", "ban_note", "ignore_reports", "removed", "rte_mode",
            "spam", "steward_reports", "author_cakeday"}
# Keys that only flat (stream / user) comment listings carry.
STREAM_ONLY = {"link_title", "link_author", "link_permalink", "link_url",
               "num_comments", "over_18", "quarantine"}

_cache = {}


def load(name):
    """Parsed fixture by file name (cached; callers must copy)."""
    if name not in _cache:
        path = os.path.join(DATA_DIR, name)
        with open(path, "rb") as f:
            raw = f.read()
        _cache[name] = raw.decode("utf-8") if name.endswith(".html") \
            else json.loads(raw)
    return _cache[name]


def raw(name):
    with open(os.path.join(DATA_DIR, name), "rb") as f:
        return f.read()


def _children(listing):
    return [c for c in listing["data"]["children"]]


def _post(name, pid=None):
    d = load(name)
    lst = d[0] if isinstance(d, list) else d
    for c in _children(lst):
        if pid is None or c["data"]["id"] == pid:
            return c["data"]
    raise KeyError(pid)


def _hot(pid):
    return _post("listing_r_popular_hot_2026.json", pid)


class Templates:
    """All templates, built once per process."""

    def __init__(self):
        base = copy.deepcopy(_hot("1sk894v"))          # a 2026 self post
        ask = _children(load("listing_r_askreddit_new.json"))[0]["data"]
        for k in ("whitelist_status", "parent_whitelist_status"):
            base.setdefault(k, ask.get(k))
        for k in ("link_flair_template_id",):
            base.pop(k, None)
        base["link_flair_richtext"] = []
        base["link_flair_text"] = None
        base["link_flair_css_class"] = None
        base["link_flair_type"] = "text"
        base["link_flair_background_color"] = ""
        base["link_flair_text_color"] = "dark"
        self.t3 = base
        # Media field sets, each from a real post of that kind.
        self.image = copy.deepcopy(_hot("1skii2f"))
        self.gif = copy.deepcopy(_hot("1skbyfv"))
        self.video = copy.deepcopy(_hot("1skl1i1"))
        self.video_noaudio = copy.deepcopy(_hot("1skbs80"))
        self.gallery = copy.deepcopy(_hot("1skh6dk"))
        self.link = copy.deepcopy(_hot("1skbgql"))
        self.gifv = copy.deepcopy(_post("comments_3hahrw_continue_cu5v5h7.json"))
        self.transcoding = copy.deepcopy(
            _post("post_video_transcoding_1khufe0.json"))
        self.crosspost = copy.deepcopy(_post("post_crosspost_hmkfma.json"))

        # Tree comment: union of the recorded tree comments' keys, newest
        # recording winning, moderator-only keys dropped.
        t1 = {}
        for name in ("comments_6otocc_continue_thread.json",
                     "comments_ablzuq_limit1.json",
                     "comments_3hahrw_continue_cu5v5h7.json"):
            c = _children(load(name)[1])[0]["data"]
            for k, v in c.items():
                t1[k] = copy.deepcopy(v)
        for k in MOD_ONLY | {"media_metadata"}:
            t1.pop(k, None)
        t1["replies"] = ""
        self.t1_tree = t1
        # Stream comment (/r/x/comments, /user/x/comments, overview): 2026.
        ov = [c["data"] for c in
              _children(load("listing_user_spez_overview_new_2026.json"))
              if c["kind"] == "t1" and "media_metadata" not in c["data"]][0]
        st = copy.deepcopy(ov)
        st["replies"] = ""
        for k in MOD_ONLY:
            st.pop(k, None)
        self.t1_stream = st
        self.t2 = copy.deepcopy(load("about_user_lil_spazbot.json")["data"])
        self.t5 = copy.deepcopy(load("about_r_redditdev.json")["data"])
        self.continue_stub = copy.deepcopy(self._find_continue())

    @staticmethod
    def _find_continue():
        def walk(things):
            for c in things:
                if c["kind"] == "more":
                    return c["data"]
                r = c["data"].get("replies")
                if r:
                    got = walk(r["data"]["children"])
                    if got:
                        return got
            return None
        return walk(_children(load("comments_6otocc_continue_thread.json")[1]))


_templates = None


def templates():
    global _templates
    if _templates is None:
        _templates = Templates()
    return _templates


def fixture_keys(kind):
    """Key sets the tests compare generated objects against."""
    out = {}
    if kind == "t3":
        for name in ("listing_r_askreddit_new.json",
                     "listing_r_popular_hot_2026.json"):
            ks = [set(c["data"]) for c in _children(load(name))]
            out[name] = set.intersection(*ks)
    return out
