/*
 * fetchd_parse.h — Reddit JSON in, rscrape records out. No I/O anywhere:
 * every function takes a response body (bytes + length, not NUL-terminated)
 * or an already parsed cJSON object, and returns cJSON records in the
 * shapes proto/proto.h fixes for task.report, plus a few C fields the
 * orchestrator needs for its decisions. fetchd_parse.c has bodies,
 * listings and posts, fetchd_comment.c comments, fetchd_verdict.c the
 * verdicts on error answers and about pages, fetchd_media.c media.
 *
 * Conventions
 *   - Every function that can fail returns -1 and sets *errp to a static,
 *     human-readable string ("not a Listing", "truncated or invalid JSON");
 *     0 (or a count) on success. errp may be NULL.
 *   - Records are new cJSON objects the caller owns (hand them to
 *     cJSON_AddItemToArray of a task.report body, or cJSON_Delete them).
 *   - Bodies are expected with raw_json=1. For bodies fetched without it,
 *     call rd_json_unescape() on the parsed tree (&amp; &lt; &gt;). Media
 *     URLs are always unescaped, whatever the body.
 *   - Nothing is ever derived from a URL's host name (DESIGN.md §5): post
 *     types and media come from the post's fields.
 *   - Malformed input (truncated JSON, wrong types, absurd nesting) gives an
 *     error or is skipped item by item; it never crashes.
 *
 * RECORDS (proto.h, task.report)
 *   post    {id: "t3_..", subreddit, author, title, created_utc (seconds,
 *            number), score, num_comments, url, permalink, selftext,
 *            post_type: "link"|"self"|"image"|"video"|"gallery",
 *            raw: the whole t3 data object}
 *   comment {id: "t1_..", post_id: "t3_..", parent_id, depth (absolute, top
 *            level = 0), author, body, score, created_utc, deleted: bool
 *            (body "[deleted]"), removed: bool (body "[removed]"),
 *            raw: the t1 data object with "replies" replaced by "" so a
 *            comment never carries its subtree (keeps reports linear)}
 *   media   {post_id: "t3_..", index (0-based, gallery order), kind:
 *            "image"|"gallery_image"|"video"|"animated"|"gifv", url,
 *            audio_url? (video only), extra: {...}} — see rd_media_extract.
 *   Missing string fields are JSON null; missing numbers are 0.
 */
#ifndef RSCRAPE_FETCHD_PARSE_H
#define RSCRAPE_FETCHD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Longest fullname we accept ("t1_" + base-36 id); longer ids are invalid. */
/* sets *errp when the caller asked for it (errp may be NULL, above) */
#define SETERR(e)	do { if (errp != NULL) *errp = (e); } while (0)

#define RD_FULLNAME_MAX		32
/* Ids per /api/morechildren call (Reddit's safe batch). */
#define RD_MORECHILDREN_MAX	100
/* JSON nesting deeper than this is refused (Reddit's trees stop at ~10). */
#define RD_NESTING_MAX		256

/* ------------------------------------------------------------------ */
/* JSON helpers                                                         */

/*
 * Parse a body with cJSON_ParseWithLength and the nesting limit above.
 * NULL with *errp on empty, truncated, non-JSON or too deep input.
 */
cJSON	*rd_json_parse(const char *buf, size_t len, const char **errp);

/* Replace &amp; &lt; &gt; in place (the string only shrinks). */
void	 rd_unescape(char *s);
/* rd_unescape() every string value in a tree (bodies without raw_json). */
void	 rd_json_unescape(cJSON *item);

/*
 * A thing {"kind": K, "data": {...}}: returns K and sets *datap, or NULL
 * when thing is not an object with a string kind and an object data.
 */
const char *rd_thing(const cJSON *thing, const cJSON **datap);

/*
 * Field accessors that never fail: a missing key or a value of the wrong
 * type reads as absent (NULL, dflt, 0).
 */
const char *rd_str(const cJSON *obj, const char *key);
double	 rd_num(const cJSON *obj, const char *key, double dflt);
int	 rd_true(const cJSON *obj, const char *key);
const cJSON *rd_obj(const cJSON *obj, const char *key);
const cJSON *rd_arr(const cJSON *obj, const char *key);
/* A base-36 Reddit id (1..RD_FULLNAME_MAX-3 of [0-9a-z]). */
int	 rd_valid_id(const char *id);
/* key: val, or key: null when val is NULL (records keep every column) */
void	 rd_add_str_or_null(cJSON *o, const char *key, const char *val);

/* ------------------------------------------------------------------ */
/* Listings                                                             */

struct rd_listing {
	cJSON		*root;		/* owned; rd_listing_free() */
	const cJSON	*children;	/* array of things, in root */
	size_t		 nchildren;
	const char	*after;		/* NULL: the listing ends here */
	const char	*before;	/* NULL when absent */
	int		 dist;		/* -1 when null/absent */
};

/*
 * Parse a Listing body (/r/x/new, /user/x/submitted, /api/info ...).
 * Missing or extra fields are tolerated; a body that is not
 * {"kind": "Listing", "data": {"children": [...]}} is an error
 * ("not a Listing"). Children are not checked: use rd_thing() on each.
 */
int	 rd_listing_parse(const char *buf, size_t len, struct rd_listing *l,
	    const char **errp);
/* The same for an already parsed Listing object (borrowed, root = NULL). */
int	 rd_listing_from_json(const cJSON *obj, struct rd_listing *l,
	    const char **errp);
void	 rd_listing_free(struct rd_listing *l);

/* ------------------------------------------------------------------ */
/* Posts (t3)                                                           */

enum rd_post_type {
	RD_POST_LINK,
	RD_POST_SELF,
	RD_POST_IMAGE,
	RD_POST_VIDEO,
	RD_POST_GALLERY
};

#define RD_PF_DELETED	0x01	/* author "[deleted]" and selftext/removed_by_category "deleted" */
#define RD_PF_REMOVED	0x02	/* removed_by_category set, not "deleted" */
#define RD_PF_STICKIED	0x04
#define RD_PF_OVER18	0x08
#define RD_PF_EDITED	0x10	/* edited is a timestamp, not false */
#define RD_PF_CROSSPOST	0x20	/* crosspost_parent_list[0] present */

struct rd_post {
	cJSON		*record;	/* owned by the caller */
	/* The pointers below point into record and live as long as it. */
	const char	*id;		/* "t3_..." */
	const char	*subreddit;	/* may be NULL */
	const char	*removed_by_category;	/* NULL when visible */
	double		 created_utc;
	int64_t		 num_comments;
	enum rd_post_type type;
	int		 flags;		/* RD_PF_* */
};

const char *rd_post_type_name(enum rd_post_type t);
/*
 * Classify a post from its fields, in this order: is_self → self;
 * is_gallery or gallery_data/media_metadata → gallery; is_video or
 * media.reddit_video → video; post_hint "image" (or domain i.redd.it with
 * a preview) → image; post_hint "hosted:video" → video; a crosspost takes
 * the class of crosspost_parent_list[0]; everything else → link.
 */
enum rd_post_type rd_post_classify(const cJSON *data);
/*
 * t3 data → post record. Error when data is not an object or has no
 * string id/name. The record's raw is a copy of data.
 */
int	 rd_post_extract(const cJSON *data, struct rd_post *p,
	    const char **errp);

/* ------------------------------------------------------------------ */
/* Comments (t1)                                                        */

struct rd_comment {
	cJSON		*record;	/* owned by the caller */
	const char	*id;		/* "t1_...", into record */
	const char	*parent_id;	/* "t1_..." or "t3_...", into record */
	int		 depth;
	int		 deleted;
	int		 removed;
};

/*
 * t1 data → comment record, standalone (user comment listings, the
 * /r/x/comments stream). post_id is data.link_id (or post_id when given
 * and link_id is missing); depth is `depth` when >= 0, else data.depth,
 * else 0. Replies are not walked: use struct rd_thread for trees.
 */
int	 rd_comment_extract(const cJSON *data, const char *post_id, int depth,
	    struct rd_comment *c, const char **errp);

/* ------------------------------------------------------------------ */
/* Comment trees: one struct rd_thread per post (fetchd_tree.c)         */

/*
 * A thread accumulates everything fetchd learns about one post's comment
 * tree across requests and tells it what to ask next:
 *
 *   th = rd_thread_new("t3_abc");
 *   rd_thread_add_tree(th, body, len, &post, comments, &err);  // /comments/abc
 *   while there is work, one request at a time or overlapping:
 *     n = rd_thread_next_batch(th, ids, sizeof ids);   // "id1,id2,..." ≤ 100
 *       → POST /api/morechildren link_id=t3_abc children=ids
 *       → rd_thread_add_morechildren(th, body, len, comments, &err)
 *     rd_thread_next_continue(th, parent)               // "t1_P"
 *       → GET /comments/abc/_/P   (parent without its "t1_")
 *       → rd_thread_add_continue(th, parent, body, len, comments, &err)
 *   rd_thread_free(th);
 *
 * Deduplication is the thread's job: a comment fullname is appended to
 * `comments` once per thread, whatever the order or repetition of the
 * responses; a continue response's root comment P is not emitted again
 * (only when the thread never saw it, e.g. after rd_thread_restore), its
 * replies are grafted under it.
 *
 * More stubs:
 *   load-more (count > 0): their ids join one pool per post; batches of up
 *     to RD_MORECHILDREN_MAX ids are drawn from it in discovery order, so
 *     the ids of many small stubs share one call. Ids already known as
 *     comments are never requested; an id that Reddit hands back unexpanded
 *     (inside a new `more`) is re-queued. Reddit answers ~100 comments a
 *     call and bounces the rest, so a bounce in an answer that brought new
 *     comments is progress; only answers that bring nothing count against
 *     an id, at most RD_THREAD_ATTEMPTS of them, so a misbehaving server
 *     cannot loop us forever.
 *   continue-this-thread (count 0, id "_"): queued by parent fullname, at
 *     most once per parent.
 *   A `more` with count > 0 but no children is ignored (nothing to ask).
 *
 * Depth: comment records carry the absolute depth (top level 0). Inside a
 * /comments/{post} response Reddit's `depth` is absolute, but a continue
 * response restarts at 0 with P as root, and morechildren replies may be
 * relative to the request. So depth is always computed as
 * depth(parent) + 1 from the thread's own map of known comments (a
 * parent_id of the post means 0); only when the parent is unknown (the
 * response skipped it) is Reddit's depth, shifted by the response's offset
 * (P's absolute depth for a continue response), used instead.
 */
#define RD_THREAD_ATTEMPTS	3

struct rd_thread;

struct rd_thread_stats {
	size_t		comments;	/* distinct comments emitted */
	size_t		duplicates;	/* comments seen again and dropped */
	size_t		more_objects;	/* `more` things seen (both kinds) */
	size_t		pending_ids;	/* ids waiting for morechildren */
	size_t		pending_continues;
	size_t		dropped_ids;	/* given up after RD_THREAD_ATTEMPTS */
	int64_t		hidden_count;	/* sum of load-more counts seen */
};

/* post_id: "t3_abc" or "abc". NULL when it is not a valid id. */
struct rd_thread *rd_thread_new(const char *post_id);
void	 rd_thread_free(struct rd_thread *th);
/* "t3_abc" */
const char *rd_thread_post_id(const struct rd_thread *th);

/*
 * A /comments/{post} response: [Listing{t3}, Listing{t1..., more}].
 * Fills *post (record owned by the caller; post may be NULL to skip it)
 * and appends comment records to the cJSON array `comments`, depth-first.
 * Returns the number of comments appended, or -1.
 */
int	 rd_thread_add_tree(struct rd_thread *th, const char *buf, size_t len,
	    struct rd_post *post, cJSON *comments, const char **errp);
/*
 * A /api/morechildren reply {"json": {"errors": [], "data": {"things":
 * [...]}}}: flat t1 things (replies "") and new more objects. A non-empty
 * json.errors is an error whose text names the first error (*errp then
 * points into th, valid until the next call on th).
 */
int	 rd_thread_add_morechildren(struct rd_thread *th, const char *buf,
	    size_t len, cJSON *comments, const char **errp);
/*
 * A /comments/{post}/_/{P} response for the continue stub under parent
 * ("t1_P" or "P"): P is the root of the second listing; its replies are
 * grafted under P with absolute depths (P's depth + their depth in the
 * response).
 */
int	 rd_thread_add_continue(struct rd_thread *th, const char *parent,
	    const char *buf, size_t len, cJSON *comments, const char **errp);
/* Same three, for already parsed bodies (borrowed). */
int	 rd_thread_add_tree_json(struct rd_thread *th, const cJSON *root,
	    struct rd_post *post, cJSON *comments, const char **errp);
int	 rd_thread_add_morechildren_json(struct rd_thread *th,
	    const cJSON *root, cJSON *comments, const char **errp);
int	 rd_thread_add_continue_json(struct rd_thread *th, const char *parent,
	    const cJSON *root, cJSON *comments, const char **errp);

/*
 * The same three read as a stream of JSON events (fetchd_stream.c), in two
 * steps, so that a body that is not JSON changes nothing and can be
 * fetched again: rd_stage_*() reads a body to its end (NULL with *errp
 * when it is empty, not JSON, truncated or nested deeper than
 * RD_NESTING_MAX), rd_thread_apply_*() then does exactly what the
 * rd_thread_add_*() above do with the parsed tree, with the same records,
 * errors and thread state. The records' raws are the same JSON, but as
 * Reddit wrote it: a stage points into buf for them, so buf must outlive
 * it (through rd_thread_apply_*()).
 */
struct rd_stage;
struct rd_stage *rd_stage_tree(const char *buf, size_t len, const char **errp);
struct rd_stage *rd_stage_morechildren(const char *buf, size_t len,
	    const char **errp);
void	 rd_stage_free(struct rd_stage *s);
int	 rd_thread_apply_tree(struct rd_thread *th, const struct rd_stage *s,
	    cJSON *comments, const char **errp);
int	 rd_thread_apply_morechildren(struct rd_thread *th,
	    const struct rd_stage *s, cJSON *comments, const char **errp);
int	 rd_thread_apply_continue(struct rd_thread *th, const char *parent,
	    const struct rd_stage *s, cJSON *comments, const char **errp);

/*
 * Next morechildren batch: writes up to max (≤ RD_MORECHILDREN_MAX, 0 =
 * the maximum) comma-separated bare ids into buf and removes them from the
 * pool. Returns the number of ids (0: pool empty), or -1 when buf is too
 * small for even one id. A buffer of RD_MORECHILDREN_MAX * RD_FULLNAME_MAX
 * bytes always suffices.
 */
int	 rd_thread_next_batch(struct rd_thread *th, char *buf, size_t bufsize,
	    int max);
/*
 * Give a drawn batch back (the request failed and will be retried later):
 * the ids go to the front of the pool; attempts are not counted.
 */
void	 rd_thread_unget_batch(struct rd_thread *th, const char *csv);
/* Next continue stub: copies "t1_P" into parent; 1, or 0 when none. */
int	 rd_thread_next_continue(struct rd_thread *th,
	    char parent[RD_FULLNAME_MAX + 1]);
/* Give a drawn continue stub back (its request failed; retry later). */
void	 rd_thread_unget_continue(struct rd_thread *th, const char *parent);
/* 1 when neither ids nor continue stubs are pending. */
int	 rd_thread_done(const struct rd_thread *th);
void	 rd_thread_stats(const struct rd_thread *th, struct rd_thread_stats *s);

/*
 * Checkpoint of the pending work only (not of the comments, which jobd
 * holds): {"ids": ["abc", ...], "continues": [{"parent": "t1_P",
 * "depth": <the stub's absolute depth>}, ...]}. Restoring it
 * into a fresh thread for the same post lets a re-leased task go on where
 * the last one stopped; comments it re-fetches are deduped by jobd.
 */
cJSON	*rd_thread_checkpoint(const struct rd_thread *th);
int	 rd_thread_restore(struct rd_thread *th, const cJSON *ckpt,
	    const char **errp);

/* ------------------------------------------------------------------ */
/* Errors and about pages                                               */

enum rd_status {
	RD_S_OK = 0,
	RD_S_PRIVATE,		/* 403 reason private */
	RD_S_QUARANTINED,	/* 403 reason quarantined */
	RD_S_GATED,		/* 403 reason gated */
	RD_S_BANNED,		/* 404 reason banned */
	RD_S_NOT_FOUND,		/* 404, or a 30x to /subreddits/search */
	RD_S_SUSPENDED,		/* user about 200 with is_suspended */
	RD_S_FORBIDDEN,		/* other 403 (incl. the HTML "blocked" page) */
	RD_S_UNAUTHORIZED,	/* 401: renew the token once, retry once */
	RD_S_RATE_LIMITED,	/* 429: wait for Retry-After / the reset */
	RD_S_SERVER,		/* 5xx, 408, 52x: retry with back-off */
	RD_S_REDIRECT,		/* other 30x */
	RD_S_BAD_BODY,		/* 200 but not the JSON expected */
	RD_S_HTTP		/* any other status */
};

enum rd_target {
	RD_TARGET_NONE,		/* a comment tree, morechildren, ... */
	RD_TARGET_SUBREDDIT,
	RD_TARGET_USER
};

struct rd_verdict {
	enum rd_status	status;
	int		retry;		/* transient: retrying may succeed */
	int		http_status;
	char		message[256];	/* for the job's error_message */
};

const char *rd_status_name(enum rd_status s);	/* "private", ... */
/*
 * Classify an HTTP answer. location: the Location header of a 30x, or
 * NULL. target/name describe what was asked for, so that message reads
 * e.g. "subreddit r/foo is private", "user u/bar does not exist".
 * A 2xx gives RD_S_OK (the body is not looked at). Returns v->status.
 */
enum rd_status rd_classify(long http_status, const char *body, size_t len,
	    const char *location, enum rd_target target, const char *name,
	    struct rd_verdict *v);
/*
 * A 200 /r/{sub}/about body (kind t5): RD_S_OK, RD_S_PRIVATE for
 * subreddit_type "private", RD_S_QUARANTINED for quarantine true,
 * RD_S_NOT_FOUND for a Listing (search results served in its place),
 * RD_S_BAD_BODY for anything else. over18 subreddits are fine. On
 * RD_S_OK the canonical display_name is copied into canon (may be NULL).
 */
enum rd_status rd_about_subreddit(const char *buf, size_t len,
	    const char *name, struct rd_verdict *v, char *canon,
	    size_t canonsize);
/*
 * A 200 /user/{name}/about body (kind t2): RD_S_OK (canonical name copied
 * into canon), RD_S_SUSPENDED for is_suspended true, RD_S_BAD_BODY.
 */
enum rd_status rd_about_user(const char *buf, size_t len, const char *name,
	    struct rd_verdict *v, char *canon, size_t canonsize);

/* ------------------------------------------------------------------ */
/* Media (fetchd_media.c)                                               */

/*
 * Append the media records of one post (t3 data) to the array out and
 * return how many (0 for self posts, external links, rich:video embeds),
 * or -1 when data is not an object with an id. Media of a crosspost come
 * from crosspost_parent_list[0]; post_id is always the crosspost's own.
 * One record = one thing a user would call one picture or one video:
 *
 *   image          post_hint image, domain i.redd.it, or (no post_hint) a
 *                  url whose path ends .jpg/.jpeg/.png/.gif/.webp: url =
 *                  url_overridden_by_dest or url (the original; the
 *                  preview source when the url is relative), extra
 *                  {preview_url?}. A .gif, or a preview with gif and mp4
 *                  variants, makes it kind "animated" with extra.mp4_url.
 *   gallery_image  one per gallery_data.items[] in order, url = s.u (or
 *                  s.gif, else s.mp4, for an AnimatedImage: then
 *                  extra.animated true and extra.mp4_url), extra
 *                  {media_id, gallery_status, caption?, outbound_url?,
 *                  mime?}.
 *   video          is_video / media.reddit_video: url = fallback_url,
 *                  audio_url = a guess next to it (DASH_AUDIO_128.mp4 for
 *                  DASH_<n>.mp4 since 2023, DASH_audio.mp4 before, the
 *                  CMAF_AUDIO_128.mp4 sibling for CMAF_<n>.mp4); none when
 *                  has_audio is false. extra {dash_url, hls_url, has_audio,
 *                  audio_candidates: [..], duration?, is_gif?}. mediad
 *                  should prefer the audio BaseURL from dash_url's
 *                  manifest and try audio_candidates in order.
 *   animated       a link (not rich:video) whose preview is animated:
 *                  preview.images[0].variants.mp4 (else .gif) source url;
 *                  extra {mime, original_url}.
 *   gifv           a url whose path ends .gifv (imgur): the same url
 *                  ending .mp4; extra {original_url, mime,
 *                  preview_mp4_url?}.
 *
 * Items that cannot be downloaded are still recorded, so the job counts
 * them as failed rather than silently dropping them: extra.status
 * "failed" and extra.error say why (gallery item status "failed" or
 * "unprocessed", a video whose media is still null while transcoding);
 * their url is null. Healthy items carry no extra.status.
 * Every url is &amp;-unescaped.
 */
int	 rd_media_extract(const cJSON *post_data, cJSON *out, const char **errp);

/* Shared by the classifier and the media finder (fetchd_parse.c). */
extern const char *const rd_image_exts[];	/* jpg jpeg png gif webp */
/* The URL's path (query and fragment ignored) ends in ".<one of exts>". */
int	 rd_url_ext_is(const char *url, const char *const *exts);
/* secure_media.reddit_video or media.reddit_video, or NULL. */
const cJSON *rd_reddit_video(const cJSON *data);
/* crosspost_parent_list[0] when it is an object, or NULL. */
const cJSON *rd_crosspost_parent(const cJSON *data);

#endif
