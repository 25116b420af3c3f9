/*
 * proto.h — the one contract between rscrape's processes.
 *
 * Every message between httpd, rscrapectl, fetchd, mediad and jobd is named
 * here, and nowhere else is a wire string written as a literal.
 *
 * TRANSPORT
 *   jobd listens on two nng sockets (addresses: proto_default_urls(), or the
 *   [jobd] listen / events config keys, e.g. tcp://0.0.0.0:7301):
 *     rep  ipc://<runtime_dir>/jobd.ipc     requests from everyone else (req0)
 *     pub  ipc://<runtime_dir>/events.ipc   events to everyone (sub0)
 *
 * ENVELOPES (JSON, UTF-8; bodies are not NUL-terminated on the wire)
 *   request  {"v": 1, "id": "<request id>", "type": "<type>", "body": {...}}
 *   reply    {"v": 1, "id": "<same id>", "ok": true,  "body": {...}}
 *            {"v": 1, "id": "<same id>", "ok": false,
 *             "error": {"code": "<code>", "message": "<text>"}}
 *   Parsing is strict: v must be PROTO_VERSION, id a string of 1..64
 *   printable characters, type a string, body an object; any other top-level
 *   key is an error. A malformed envelope gets a "bad_request" reply (with
 *   id "-" when none could be read); an unknown type gets "unknown_type".
 *   The request id appears in every log line about the request.
 *
 * BATCHES
 *   batch   {calls: [request envelope, ...]}   1..PROTO_BATCH_MAX calls
 *     -> {replies: [reply envelope, ...]}      same order, same ids
 *   A client with several calls ready at once (httpd under load) sends them
 *   as one message: one nng round trip instead of one each. jobd answers
 *   every call exactly as if it had come alone (each has its own reply,
 *   ok or error); a malformed call inside gets its own bad_request reply; a
 *   batch inside a batch is bad_request. The batch itself fails only when
 *   its own envelope or calls array is malformed.
 *   64-bit integers and millisecond times travel as JSON numbers and are read
 *   with valuedouble (exact below 2^53), never valueint.
 *
 * ATTACHMENTS
 *   A request message may be the envelope's JSON text, one NUL byte, then
 *   attachment bytes (any value, not JSON). Only task.report takes one; any
 *   other request with one, a batch among them, is bad_request. See
 *   task.report for what it holds.
 *
 * ERROR CODES (reply error.code)
 *   bad_request   envelope or body malformed (missing/mistyped field)
 *   unknown_type  no handler for the type
 *   invalid       a field breaks a rule; message names the field
 *   unauthorized  key.auth: unknown or revoked key
 *   not_found     no such workspace/job/key/task (or not in that workspace)
 *   conflict      the state forbids it (cancel of an ended job)
 *   lease_lost    a worker's lease expired or was handed to another worker
 *   internal      jobd failed (database error); the request may be retried
 *
 * OBJECTS
 *   job        the public job object, exactly the 16 fields of DESIGN.md §4:
 *              id ("job_<uuid>"), workspace_id ("ws_<uuid>"), target,
 *              target_type, mode, config {limit, download_media,
 *              scrape_comments, plugins}, status, started_at, completed_at,
 *              duration_seconds, posts_scraped, comments_scraped,
 *              media_downloaded, error_message, progress, created_at.
 *   workspace  {id, name, created_at}
 *   key        {id ("key_<uuid>"), workspace_id, name, prefix ("rp_" and
 *              the next 8 characters), scopes [..], created_at, last_used_at,
 *              revoked_at}
 *   Ids in request bodies may carry their prefix or be bare UUIDs.
 *
 * MESSAGES SERVED BY jobd
 *
 *   ping            {}                                    (everyone)
 *     -> {daemon, version, pid, uptime_s, db: "ok"|"error",
 *         jobs: {pending, running, ...}, workers: [{worker, kind, last_seen_at,
 *         tasks}]}
 *
 *   workspace.create  {name}                              (rscrapectl)
 *     -> {workspace}                 errors: invalid (name 1..100 chars)
 *   workspace.list    {}
 *     -> {workspaces: [workspace...]}
 *
 *   key.create  {workspace_id, name?, scopes?: ["read","write","admin"]}
 *     -> {key, secret: "rp_..."}     the secret is returned only here
 *        errors: not_found (workspace), invalid (scope)
 *   key.list    {workspace_id}  -> {keys: [key...]}      errors: not_found
 *   key.revoke  {key_id}        -> {key}                 errors: not_found
 *   key.auth    {key_hash: "<sha256 hex of the key>"}    (httpd)
 *     -> {key_id, workspace_id, scopes: [...]}
 *        errors: unauthorized (unknown or revoked). Updates last_used_at.
 *
 *   job.create  {workspace_id, target, target_type, mode, limit,
 *                download_media, scrape_comments, plugins: [..]}   (httpd)
 *     Fields already normalised and validated by the caller; jobd checks
 *     them again (invalid) and the workspace (not_found).
 *     -> {job}
 *   job.get     {workspace_id?, job_id}       -> {job}   errors: not_found
 *     Without workspace_id (rscrapectl, an operator's tool) the job of any
 *     workspace; httpd always sends the path's workspace.
 *   job.list    {workspace_id, status?, limit, offset}
 *     -> {jobs: [job...], total, has_more}    newest first
 *   job.cancel  {workspace_id, job_id}        -> {job}
 *     errors: not_found, conflict (already completed/failed/cancelled)
 *
 * RESULTS (httpd: the posts, comments, media and export routes)
 *   Every list is a keyset page: items in a fixed total order, limit
 *   1..PROTO_PAGE_MAX, and cursor, an opaque string naming the last item
 *   returned (null on the last page). Items stored after a page was read
 *   appear in later pages or not at all, never twice, and no item is
 *   skipped. count false spares jobd the total (exports page with it).
 *   Errors: not_found (workspace, or job not in that workspace), invalid
 *   (message "<field>: why", field one of q, cursor, limit, sort_by, ...).
 *
 *   post.list   {workspace_id, job_id?, q?, subreddit?, author?,
 *                min_score?, max_score?, post_type?, sentiment_label?,
 *                sort_by?: "created_utc"|"score"|"num_comments",
 *                sort_order?: "asc"|"desc", limit?: 50, cursor?,
 *                count?: true}
 *     -> {posts: [post...], total, cursor: string|null, has_more}
 *     Without job_id: the workspace's posts, each Reddit post once (the
 *     copy stored last, whichever job stored it). q is an SQLite FTS5
 *     query over title and selftext (words, "phrases", OR, NOT, prefix*);
 *     a query FTS5 cannot parse is taken as plain words. subreddit
 *     compares without case. Order: sort_by then id, sort_order (default
 *     created_utc desc). A cursor only fits the sort it came from.
 *   post.get    {workspace_id, post_id}  -> {post}   post also has media:
 *     [media...] (the records of the job whose copy it is). not_found.
 *   comment.list {workspace_id, job_id, post_id?, limit?, cursor?, count?}
 *     -> {comments: [comment...], total, cursor, has_more}   stored order
 *   media.list  {workspace_id, job_id, post_id?, limit?, cursor?, count?}
 *     -> {media: [media...], total, cursor, has_more}        stored order
 *   media.file  {workspace_id, sha256}
 *     -> {sha256, path, content_type, bytes}  a downloaded file that a
 *     media record of the workspace refers to; path as mediad reported it
 *     (relative paths are under state_dir). not_found otherwise.
 *
 *   post    {id: "t3_..", job_id, subreddit, title, author, created_utc
 *            (RFC 3339), score, upvote_ratio, num_comments, selftext, url,
 *            permalink (https://www.reddit.com/...), post_type, domain,
 *            flair, author_flair, over_18, spoiler, stickied, locked,
 *            is_video, edited, distinguished, removed_by, num_crossposts,
 *            thumbnail, scraped_at, sentiment_label, sentiment_score}
 *   comment {id: "t1_..", job_id, post_id, parent_id, depth, author, body,
 *            score, created_utc, is_deleted, is_removed, edited, stickied,
 *            distinguished, is_submitter, controversiality, author_flair,
 *            permalink, scraped_at, sentiment_label, sentiment_score}
 *   media   {id, job_id, post_id, index, type, url, status: "pending"|
 *            "downloaded"|"failed"|"skipped"|"cancelled", bytes, sha256,
 *            content_type, audio_merged, audio_sha256, audio_bytes,
 *            error, created_at, updated_at}
 *            (bytes, sha256, content_type are null unless downloaded;
 *            audio_* name a video's audio track kept as a file of its
 *            own, media.file serves it too)
 *   Absent Reddit fields are null. sentiment_* are null until the
 *   sentiment plugin has run (it writes posts/comments.sentiment_label
 *   and sentiment_score).
 *
 * THE WORKER PROTOCOL (fetchd, mediad)
 *   A task is one unit of leased work: one "fetch" task per job, one "media"
 *   task per media item. Workers pull; jobd never pushes work.
 *
 *   task.lease  {worker: "<host:pid>", kind: "fetch"|"media", max?: n}
 *     -> {tasks: [task...]}   up to max (default 1) tasks, possibly none.
 *     task = {task_id, lease_id, kind, job_id, attempt, lease_expires_at,
 *             checkpoint: {} | object from the last heartbeat/report,
 *             progress: {} | last reported progress,
 *             job: {target, target_type, mode, config},
 *             media?: {media_id, url, kind, post_id, ...} (media tasks)}
 *     Leasing the first task of a pending job makes the job running.
 *     A lease lasts lease_seconds ([jobd] lease_seconds, default 30).
 *     A media task is one distinct URL, whatever the number of posts and
 *     jobs that refer to it: media = {media_id (first record), url_id, url,
 *     audio_url?, kind, post_id, index, extra}.
 *
 *   task.heartbeat {task_id, lease_id, progress?: {...}, checkpoint?: {...}}
 *     -> {lease_expires_at, cancelled: bool}
 *     Extends the lease; stores progress/checkpoint. errors: lease_lost.
 *     cancelled true: the job was cancelled; stop and task.finish.
 *
 *   task.report {task_id, lease_id, batch: "<worker batch id>", seq?: n,
 *                posts?: [post...], comments?: [comment...],
 *                media?: [media...], progress?: {...}, checkpoint?: {...}}
 *     -> {posts_new, comments_new, media_new, posts_scraped,
 *         comments_scraped, media_downloaded}
 *     seq numbers a lease's reports 1, 2, 3, ... so that a worker may have
 *     several in flight (proto_report_seq) and a checkpoint is never
 *     stored before the records of the reports before it: jobd applies
 *     only the report after the last one it applied for the lease; one
 *     already applied is answered as it stands (the *_new counts 0,
 *     nothing changes); one that skips ahead is out_of_order, nothing
 *     stored, and the worker sends again from its oldest report not
 *     answered. A report refused as bad_request still takes its number,
 *     so the ones after it go on. Without seq: applied as it comes.
 *     Idempotent: posts are keyed (job, fullname), comments (job, fullname),
 *     media (job, post fullname, index); a batch delivered twice adds
 *     nothing. Progress/checkpoint are stored in the same transaction, so a
 *     re-leased task resumes from the state that matches what is stored.
 *     post    = {id: "t3_..", subreddit, author, title, created_utc, score,
 *               num_comments, url, permalink, selftext, post_type, raw: {..}}
 *     comment = {id: "t1_..", post_id, parent_id, depth, author, body, score,
 *               created_utc, deleted: bool, removed: bool, raw: {..}}
 *     media   = {post_id, index, kind, url, audio_url?, extra?: {..}}
 *     errors: lease_lost, bad_request, out_of_order.
 *     raw in an attachment (what fetchd sends; proto_report_detach): a
 *     post or comment may carry raw_len: n (a whole number >= 2) instead
 *     of raw; its raw is then the next n bytes of the request's attachment
 *     (records in order: posts, then comments), the JSON text of the
 *     object, stored as is (a comment from a tree: Reddit's own bytes,
 *     "replies" emptied; otherwise compact, as cJSON prints). Strict:
 *     raw_len beside raw, an n beyond what is left, bytes that are not
 *     exactly one JSON object, or
 *     attachment bytes no record takes are bad_request, nothing stored.
 *     A report without attachment keeps raw inline as above.
 *     When the task's job has ended (cancelled, failed): conflict, and
 *     nothing of the batch is stored; the worker stops and finishes.
 *
 *   task.finish {task_id, lease_id, progress?: {...}}
 *     -> {job_status}   the task is done. The job completes when its fetch
 *     task is done and no media task is outstanding.
 *     A media task carries result: {status: "downloaded"|"failed"|
 *     "skipped", bytes, sha256, content_type, path, error, audio_merged?,
 *     audio_path?, audio_sha256?, audio_bytes?} (proto_media_result_new):
 *     path is relative to state_dir ("media/<aa>/<sha256>.<ext>"),
 *     content_type comes from the file's magic bytes; audio_merged is
 *     present for a video with an audio track (true: muxed into path;
 *     false: the track is the separate file audio_path). A cancelled job's
 *     leased media task is finished "failed" ("job cancelled ..."), so a
 *     later job that wants the URL tries it again.
 *     Every media record with that URL, in any job, takes the result; a
 *     new record whose URL is already downloaded (or skipped) takes it at
 *     once, one whose URL failed before is tried again. media_downloaded
 *     counts a job's records that ended downloaded, progress.media_failed
 *     the failed ones; a failed media item never fails its job.
 *   task.fail   {task_id, lease_id, error: "<message>", retry: bool}
 *     retry false: the job fails with error_message = error.
 *     retry true: the task goes back to the queue (attempt + 1); after
 *     PROTO_MAX_ATTEMPTS the job fails.
 *     Attempts are counted since the last heartbeat or report (a sign of
 *     progress), so a long job whose workers restart now and then goes on.
 *     -> {job_status}
 *   A task has no deadline of its own: a monitor job's fetch task stays
 *   leased (heartbeats) and its job running until it is cancelled or its
 *   worker calls task.finish (limit reached). Its checkpoint (the newest
 *   fullname and time seen per stream) travels with the task.report of
 *   each poll, even one with no records, so it is stored in the same
 *   transaction as what it vouches for; heartbeats carry the progress
 *   (polls, last_poll_at, next_poll_at) in between.
 *   task.release {task_id, lease_id}  -> {}
 *     Hands the lease back at once (SIGTERM); the next lease gets the task
 *     with its last checkpoint.
 *
 *   Lease expiry: jobd's cron returns every task whose lease_expires_at has
 *   passed to the queue, keeping checkpoint and progress; the next
 *   task.lease hands it out with attempt + 1 and a new lease_id. Any call
 *   with the old lease_id gets lease_lost.
 *   An expiry counts as a failed attempt (task.fail retry true); the task
 *   of a job that has ended is dropped instead of queued. A cancelled
 *   job's queued tasks are dropped at once; its leased ones see
 *   cancelled: true on heartbeat and conflict on report.
 *
 * OPERATIONS (metrics and health)
 *   stats.report {daemon: "fetchd"|"mediad"|..., instance: "<host:pid>",
 *                 started_at: <ms>, metrics: {"<key>": number, ...}}
 *     -> {}   every worker, every few seconds. A key is a Prometheus
 *     series, name{label="value",...} (lib/stats.h). jobd keeps the last
 *     report of each instance in memory; an instance not heard from for
 *     PROTO_STATS_STALE_MS is down, and one not heard from for 10 minutes
 *     is forgotten. A daemon's first report from a new instance counts as
 *     a start.
 *   metrics {}                                            (httpd, rscrapectl)
 *     -> {jobd: {pid, started_at, db}, jobs: {<status>: n},
 *         tasks: {<kind>: {queued, leased}}, lease_expiries, releases,
 *         media: {<status>: {items, bytes}},
 *         daemons: [{daemon, instance, started_at, last_seen_ms_ago, up,
 *                    metrics: {...}}],
 *         starts: {<daemon>: n}   (instances seen since jobd started)}
 *
 * PLUGINS
 *   jobd runs a job's plugins itself after its scrape completes (no message
 *   carries them; README "Plugins" is the contract, jobd_plugins.c why):
 *   the job stays running meanwhile and job.progress events carry
 *   progress.plugins.
 *
 * EVENTS (jobd pub socket)
 *   Each message is "<topic> <json>", so a subscriber can filter by topic
 *   prefix. json = {"v": 1, "seq": n, "epoch": "<jobd start id>", ...}.
 *   seq grows by one per event within an epoch; a subscriber that sees a
 *   jump (or a new epoch) has lost events and must re-read state over
 *   req/rep. Events are hints: the truth is always a request away.
 *     job.progress   {job_id, workspace_id, progress, posts_scraped,
 *                     comments_scraped, media_downloaded}
 *     job.status     {job_id, workspace_id, status, error_message,
 *                     posts_scraped, comments_scraped, media_downloaded}
 *     job.cancel     {job_id}
 *     work.available {kind}   at most one per kind every 25 ms, and
 *                     one a second while tasks of the kind are queued
 */
#ifndef RSCRAPE_PROTO_H
#define RSCRAPE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define PROTO_VERSION		1
#define PROTO_MAX_ATTEMPTS	5
#define PROTO_REQID_MAX		64

/* message types */
#define PROTO_BATCH		"batch"
#define PROTO_BATCH_MAX		64
#define PROTO_PING		"ping"
#define PROTO_WORKSPACE_CREATE	"workspace.create"
#define PROTO_WORKSPACE_LIST	"workspace.list"
#define PROTO_KEY_CREATE	"key.create"
#define PROTO_KEY_LIST		"key.list"
#define PROTO_KEY_REVOKE	"key.revoke"
#define PROTO_KEY_AUTH		"key.auth"
#define PROTO_JOB_CREATE	"job.create"
#define PROTO_JOB_GET		"job.get"
#define PROTO_JOB_LIST		"job.list"
#define PROTO_JOB_CANCEL	"job.cancel"
#define PROTO_TASK_LEASE	"task.lease"
#define PROTO_TASK_HEARTBEAT	"task.heartbeat"
#define PROTO_TASK_REPORT	"task.report"
#define PROTO_TASK_FINISH	"task.finish"
#define PROTO_TASK_FAIL		"task.fail"
#define PROTO_TASK_RELEASE	"task.release"
#define PROTO_STATS_REPORT	"stats.report"
#define PROTO_METRICS		"metrics"

/* a reporter silent this long is down (3 missed reports) */
#define PROTO_STATS_EVERY_MS	5000
#define PROTO_STATS_STALE_MS	16000

/* error codes */
#define PROTO_E_BAD_REQUEST	"bad_request"
#define PROTO_E_UNKNOWN_TYPE	"unknown_type"
#define PROTO_E_INVALID		"invalid"
#define PROTO_E_UNAUTHORIZED	"unauthorized"
#define PROTO_E_NOT_FOUND	"not_found"
#define PROTO_E_CONFLICT	"conflict"
#define PROTO_E_LEASE_LOST	"lease_lost"
#define PROTO_E_INTERNAL	"internal"
#define PROTO_E_OUT_OF_ORDER	"out_of_order"	/* task.report: send again */

/* event topics */
#define PROTO_EV_JOB_PROGRESS	"job.progress"
#define PROTO_EV_JOB_STATUS	"job.status"
#define PROTO_EV_JOB_CANCEL	"job.cancel"
#define PROTO_EV_WORK		"work.available"

/* task kinds */
#define PROTO_KIND_FETCH	"fetch"
#define PROTO_KIND_MEDIA	"media"

/* fields of the worker protocol's requests, replies and events (above) */
#define PROTO_F_TASKS		"tasks"
#define PROTO_F_TASK_ID		"task_id"
#define PROTO_F_LEASE_ID	"lease_id"
#define PROTO_F_JOB_ID		"job_id"
#define PROTO_F_ATTEMPT		"attempt"
#define PROTO_F_JOB		"job"
#define PROTO_F_CHECKPOINT	"checkpoint"
#define PROTO_F_PROGRESS	"progress"
#define PROTO_F_EXPIRES		"lease_expires_at"
#define PROTO_F_CANCELLED	"cancelled"
#define PROTO_F_SEQ		"seq"
#define PROTO_F_EPOCH		"epoch"
#define PROTO_F_KIND		"kind"

/* id prefixes */
#define PROTO_PFX_WORKSPACE	"ws_"
#define PROTO_PFX_JOB		"job_"
#define PROTO_PFX_KEY		"key_"
#define PROTO_PFX_SECRET	"rp_"

/* job statuses */
#define PROTO_ST_PENDING	"pending"
#define PROTO_ST_RUNNING	"running"
#define PROTO_ST_COMPLETED	"completed"
#define PROTO_ST_FAILED		"failed"
#define PROTO_ST_CANCELLED	"cancelled"

/* key scopes */
#define PROTO_SCOPE_READ	"read"
#define PROTO_SCOPE_WRITE	"write"
#define PROTO_SCOPE_ADMIN	"admin"

/* job target types and modes */
#define PROTO_TARGET_SUBREDDIT	"subreddit"
#define PROTO_TARGET_USER	"user"
#define PROTO_MODE_FULL		"full"
#define PROTO_MODE_HISTORY	"history"
#define PROTO_MODE_MONITOR	"monitor"

/* media item results (task.finish result.status of a media task) */
#define PROTO_MEDIA_DOWNLOADED	"downloaded"
#define PROTO_MEDIA_FAILED	"failed"
#define PROTO_MEDIA_SKIPPED	"skipped"

/* fields of a leased media task's "media" object (mediad reads them) */
#define PROTO_MF_URL		"url"
#define PROTO_MF_AUDIO_URL	"audio_url"
#define PROTO_MF_KIND		"kind"
#define PROTO_MF_EXTRA		"extra"
#define PROTO_MF_POST_ID	"post_id"
#define PROTO_MF_INDEX		"index"
/* ... and of its extra object (written by fetchd) */
#define PROTO_MX_DASH_URL	"dash_url"
#define PROTO_MX_HAS_AUDIO	"has_audio"
#define PROTO_MX_AUDIO_CANDS	"audio_candidates"

/* ping: db health */
#define PROTO_HEALTH_OK		"ok"
#define PROTO_HEALTH_ERROR	"error"

/* default socket file names under runtime_dir */
#define PROTO_REP_SOCK		"jobd.ipc"
#define PROTO_PUB_SOCK		"events.ipc"

/* A parsed request envelope. body is owned by root. */
struct proto_request {
	cJSON		*root;
	char		 id[PROTO_REQID_MAX + 1];
	const char	*type;
	cJSON		*body;
	const char	*att;		/* attachment in the parsed buffer */
	size_t		 attlen;	/* 0: none */
};

/* A parsed reply envelope. */
/*
 * When one reply answers several callers (bridge_call_read), the first may
 * keep its rendering of (part of) body here for the others; the bridge
 * frees json after the last of them. Never on the wire.
 */
struct proto_memo {
	const cJSON	*of;
	char		*json;		/* free()d */
	size_t		 len;
};

struct proto_reply {
	cJSON		*root;
	char		 id[PROTO_REQID_MAX + 1];
	int		 ok;
	const char	*err_code;	/* when !ok */
	const char	*err_message;	/* when !ok */
	cJSON		*body;		/* when ok */
	struct proto_memo *memo;	/* NULL unless shared by callers */
};

/* proto.c: envelopes */
void	 proto_new_reqid(char out[PROTO_REQID_MAX + 1]);
char	*proto_request_encode(const char *reqid, const char *type,
	    const cJSON *body, size_t *lenp);
int	 proto_request_parse(const void *buf, size_t len,
	    struct proto_request *req, const char **errp);
/*
 * The parser proto_request_parse() uses: cJSON_ParseWithLength unless a
 * daemon sets its own (jobd: lib/jarena.c's, whose trees live in arenas).
 */
void	 proto_request_parser(cJSON *(*parse)(const char *, size_t));
void	 proto_request_free(struct proto_request *req);
char	*proto_reply_ok_encode(const char *reqid, const cJSON *body,
	    size_t *lenp);
char	*proto_reply_err_encode(const char *reqid, const char *code,
	    const char *message, size_t *lenp);
int	 proto_reply_parse(const void *buf, size_t len,
	    struct proto_reply *rep, const char **errp);
void	 proto_reply_free(struct proto_reply *rep);
/* the same checks on an envelope inside a batch; obj stays the caller's */
int	 proto_request_parse_json(cJSON *obj, struct proto_request *req,
	    const char **errp);
int	 proto_reply_parse_json(cJSON *obj, struct proto_reply *rep,
	    const char **errp);
/* a batch request (reply 0) or reply (reply 1) from encoded envelopes */
char	*proto_batch_encode(const char *reqid, int reply, char *const *parts,
	    const size_t *lens, int n, size_t *lenp);

/* attachments (proto_frame.c) */
#define PROTO_F_RAW		"raw"
#define PROTO_F_RAW_LEN		"raw_len"
/* envelope, NUL, attachment (att NULL or attlen 0: the envelope alone) */
char	*proto_request_encode_att(const char *reqid, const char *type,
	    const cJSON *body, const void *att, size_t attlen, size_t *lenp);
/*
 * The same into a buffer of the caller's (an nng message): its size for
 * an envelope of envlen bytes, and the writing (env may already be at
 * dst).
 */
size_t	 proto_att_framed_len(size_t envlen, size_t attlen);
void	 proto_att_frame(char *dst, const char *env, size_t envlen,
	    const void *att, size_t attlen);
/* a task.report body's raw objects moved out: raw_len, attachment */
int	 proto_report_detach(cJSON *body, char **attp, size_t *attlenp);
/*
 * jobd: the raw of rec taken off the front of the attachment (*att,
 * *left advance). 0 with *rawp NULL when rec has no raw_len; -1 and
 * *errp when malformed. Does not check the JSON: proto_json_object_valid.
 */
int	 proto_att_take(const cJSON *rec, const char **att, size_t *left,
	    const char **rawp, size_t *rawlenp, const char **errp);
/* the same from the record's raw_len and raw members (either NULL) */
int	 proto_att_take_members(const cJSON *raw_len, const cJSON *raw,
	    const char **att, size_t *left, const char **rawp,
	    size_t *rawlenp, const char **errp);
/* exactly one JSON object (RFC 8259), nested at most 1000 deep */
int	 proto_json_object_valid(const void *buf, size_t len);
/*
 * proto_json.c: RFC 8259 text into the tree cJSON_ParseWithLength()
 * builds of it, allocated with cJSON_malloc(); NULL when it is not JSON
 * (what cJSON lets through and RFC 8259 does not is refused)
 */
cJSON	*proto_json_parse(const char *buf, size_t len);
/*
 * Its lexer, for readers of their own (fetchd's comment trees): p at a
 * string's opening quote or a number's first byte, e the end of the
 * text; just past the token, or NULL when it is not one (RFC 8259: a
 * string's escapes well formed and no control byte unescaped; UTF-8 is
 * not checked). *escp: the string holds an escape.
 */
const unsigned char *proto_json_string_end(const unsigned char *p,
	    const unsigned char *e, int *escp);
const unsigned char *proto_json_number_end(const unsigned char *p,
	    const unsigned char *e);
/*
 * Any value at p, checked as proto_json_object_valid() checks: just past
 * it, or NULL (*deepp set, when not NULL, if it nests deeper than
 * maxdepth, at most 1000).
 */
const unsigned char *proto_json_value_end(const unsigned char *p,
	    const unsigned char *e, int maxdepth, int *deepp);
/*
 * A string's text between its quotes (escapes well formed: the lexer
 * checked them) decoded into out (room for e - s bytes: never longer),
 * as cJSON decodes it; *lenp its length. -1 for a lone surrogate, which
 * cJSON refuses.
 */
int	 proto_json_unescape(const unsigned char *s, const unsigned char *e,
	    char *out, size_t *lenp);

/* events */
char	*proto_event_encode(const char *topic, const cJSON *body,
	    size_t *lenp);
int	 proto_event_parse(const void *buf, size_t len, char *topic,
	    size_t topiclen, cJSON **bodyp);

/* ids: accept "ws_<uuid>" or "<uuid>"; write the bare lower-case uuid */
int	 proto_id_parse(const char *in, const char *prefix, char out[37]);
void	 proto_id_format(const char *prefix, const char *uuid, char *out,
	    size_t outlen);
void	 proto_uuid_new(char out[37]);
/* the same, time-ordered (version 7): for ids that rows are indexed by */
void	 proto_uuid_new_ordered(char out[37]);
/* 1 when s is a valid plugin name (the file's name in plugin_dir) */
int	 proto_plugin_name_ok(const char *s);

/* urls */
void	 proto_default_urls(const char *runtime_dir, char *rep, size_t replen,
	    char *pub, size_t publen);

/* body helpers: strict field access. Return 0 on success, -1 with *errp. */
int	 proto_get_str(const cJSON *obj, const char *key, int required,
	    const char **out, const char **errp);
int	 proto_get_int(const cJSON *obj, const char *key, int required,
	    int64_t *out, const char **errp);
int	 proto_get_bool(const cJSON *obj, const char *key, int required,
	    int *out, const char **errp);
int	 proto_get_obj(const cJSON *obj, const char *key, int required,
	    cJSON **out, const char **errp);
int	 proto_get_arr(const cJSON *obj, const char *key, int required,
	    cJSON **out, const char **errp);

/* client stubs: build request bodies (callers never write field names) */
cJSON	*proto_ping_req(void);
cJSON	*proto_workspace_create_req(const char *name);
cJSON	*proto_workspace_list_req(void);
cJSON	*proto_key_create_req(const char *workspace_id, const char *name,
	    const char *scopes_csv);
cJSON	*proto_key_list_req(const char *workspace_id);
cJSON	*proto_key_revoke_req(const char *key_id);
cJSON	*proto_key_auth_req(const char *key_hash_hex);
struct proto_job_spec {
	const char	*workspace_id;
	const char	*target;
	const char	*target_type;
	const char	*mode;
	int64_t		 limit;
	int		 download_media;
	int		 scrape_comments;
	const char	*const *plugins;
	size_t		 nplugins;
};
cJSON	*proto_job_create_req(const struct proto_job_spec *spec);
cJSON	*proto_job_get_req(const char *workspace_id, const char *job_id);
cJSON	*proto_job_list_req(const char *workspace_id, const char *status,
	    int64_t limit, int64_t offset);
cJSON	*proto_job_cancel_req(const char *workspace_id, const char *job_id);
cJSON	*proto_task_lease_req(const char *worker, const char *kind, int max);
cJSON	*proto_task_heartbeat_req(int64_t task_id, const char *lease_id,
	    const cJSON *progress, const cJSON *checkpoint);
cJSON	*proto_task_report_req(int64_t task_id, const char *lease_id,
	    const char *batch, int64_t seq);	/* seq 0: none */
cJSON	*proto_task_finish_req(int64_t task_id, const char *lease_id,
	    const cJSON *progress, const cJSON *result);
cJSON	*proto_task_fail_req(int64_t task_id, const char *lease_id,
	    const char *error, int retry);
cJSON	*proto_task_release_req(int64_t task_id, const char *lease_id);
/* takes metrics over */
cJSON	*proto_stats_report_req(const char *daemon, const char *instance,
	    int64_t started_ms, cJSON *metrics);
cJSON	*proto_metrics_req(void);

/* The result of a media task (task.finish result). */
struct proto_media_result {
	const char	*status;	/* PROTO_MEDIA_* */
	int64_t		 bytes;		/* < 0: absent */
	const char	*sha256;	/* NULL: absent, for every string */
	const char	*content_type;
	const char	*path;		/* relative to state_dir */
	const char	*error;
	int		 audio_merged;	/* -1: absent (no audio track) */
	const char	*audio_path;	/* audio kept beside the video */
	const char	*audio_sha256;
	int64_t		 audio_bytes;	/* < 0: absent */
};
cJSON	*proto_media_result_new(const struct proto_media_result *r);

/* results (proto_results.c) */
#define PROTO_POST_LIST		"post.list"
#define PROTO_POST_GET		"post.get"
#define PROTO_COMMENT_LIST	"comment.list"
#define PROTO_MEDIA_LIST	"media.list"
#define PROTO_MEDIA_FILE	"media.file"
#define PROTO_PAGE_MAX		1000
#define PROTO_PFX_POST		"t3_"
#define PROTO_PFX_COMMENT	"t1_"
#define PROTO_POST_LINK		"link"
#define PROTO_POST_SELF		"self"
#define PROTO_POST_IMAGE	"image"
#define PROTO_POST_VIDEO	"video"
#define PROTO_POST_GALLERY	"gallery"
#define PROTO_SORT_CREATED	"created_utc"
#define PROTO_SORT_SCORE	"score"
#define PROTO_SORT_COMMENTS	"num_comments"
#define PROTO_ORDER_ASC		"asc"
#define PROTO_ORDER_DESC	"desc"
#define PROTO_SENT_POSITIVE	"positive"
#define PROTO_SENT_NEUTRAL	"neutral"
#define PROTO_SENT_NEGATIVE	"negative"
#define PROTO_MEDIA_PENDING	"pending"
#define PROTO_MEDIA_CANCELLED	"cancelled"
/* reply members httpd reads */
#define PROTO_F_POSTS		"posts"
#define PROTO_F_POST		"post"
#define PROTO_F_COMMENTS	"comments"
#define PROTO_F_MEDIA		"media"
#define PROTO_F_CURSOR		"cursor"
#define PROTO_F_HAS_MORE	"has_more"
#define PROTO_F_TOTAL		"total"
#define PROTO_F_PATH		"path"
#define PROTO_F_CONTENT_TYPE	"content_type"
#define PROTO_F_SHA256		"sha256"
#define PROTO_F_STATUS		"status"
#define PROTO_F_AUDIO_SHA256	"audio_sha256"

struct proto_post_query {
	const char	*workspace_id;
	const char	*job_id;		/* NULL: the whole workspace */
	const char	*q;
	const char	*subreddit;
	const char	*author;
	const char	*post_type;
	const char	*sentiment_label;
	const char	*sort_by;		/* NULL: created_utc */
	const char	*sort_order;		/* NULL: desc */
	const char	*cursor;
	int		 has_min_score, has_max_score;
	int64_t		 min_score, max_score;
	int64_t		 limit;
	int		 no_count;
};
cJSON	*proto_post_list_req(const struct proto_post_query *q);
cJSON	*proto_post_get_req(const char *workspace_id, const char *post_id);
/* comment.list and media.list */
cJSON	*proto_item_list_req(const char *workspace_id, const char *job_id,
	    const char *post_id, int64_t limit, const char *cursor,
	    int count);
cJSON	*proto_media_file_req(const char *workspace_id, const char *sha256);

/*
 * A synchronous client for tools and tests (rscrapectl): one req socket,
 * each call waits at most timeout_ms. Never use it on an event loop.
 */
struct proto_client;
struct proto_client *proto_client_open(const char *url, const char **errp);
void	 proto_client_close(struct proto_client *c);
/* Takes ownership of body. 0 and *rep filled, or -1 with *errp. */
int	 proto_client_call(struct proto_client *c, const char *type,
	    cJSON *body, int timeout_ms, struct proto_reply *rep,
	    const char **errp);

#endif
