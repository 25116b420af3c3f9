/*
 * mediad_sniff.c — what a body is, from its first bytes; the audio tracks
 * of a DASH manifest; the store path of a content hash. Pure functions
 * (tests/unit/test_mediad_sniff.c).
 *
 * A server's Content-Type is never believed: hosts answer HTML error
 * pages with 200, or images as application/octet-stream. The extension
 * and content type stored come from the magic numbers only (the table
 * follows the WHATWG MIME Sniffing standard's image and audio/video
 * patterns, plus ISO BMFF brands for MP4, MOV, HEIC and AVIF).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mediad/mediad.h"

struct magic {
	size_t		 off;
	const char	*bytes;
	size_t		 len;
	enum sniff_class cls;
	const char	*ext;
	const char	*ctype;
};

#define M(off, b, cls, ext, ct)	{ off, b, sizeof(b) - 1, cls, ext, ct }

static const struct magic magics[] = {
	M(0, "\xff\xd8\xff", SNIFF_IMAGE, "jpg", "image/jpeg"),
	M(0, "\x89PNG\r\n\x1a\n", SNIFF_IMAGE, "png", "image/png"),
	M(0, "GIF87a", SNIFF_IMAGE, "gif", "image/gif"),
	M(0, "GIF89a", SNIFF_IMAGE, "gif", "image/gif"),
	M(0, "BM", SNIFF_IMAGE, "bmp", "image/bmp"),
	M(0, "\x1a\x45\xdf\xa3", SNIFF_VIDEO, "webm", "video/webm"),
	M(0, "OggS", SNIFF_AUDIO, "ogg", "audio/ogg"),
	M(0, "ID3", SNIFF_AUDIO, "mp3", "audio/mpeg"),
	M(0, "fLaC", SNIFF_AUDIO, "flac", "audio/flac"),
};

/* ISO BMFF (MP4 family): "ftyp" at 4, the major brand at 8. */
struct brand {
	const char	*brand;
	enum sniff_class cls;
	const char	*ext;
	const char	*ctype;
};

static const struct brand brands[] = {
	{ "avif", SNIFF_IMAGE, "avif", "image/avif" },
	{ "avis", SNIFF_IMAGE, "avif", "image/avif" },
	{ "heic", SNIFF_IMAGE, "heic", "image/heic" },
	{ "heix", SNIFF_IMAGE, "heic", "image/heic" },
	{ "mif1", SNIFF_IMAGE, "heic", "image/heif" },
	{ "qt  ", SNIFF_VIDEO, "mov", "video/quicktime" },
	{ "M4A ", SNIFF_AUDIO, "m4a", "audio/mp4" },
	{ NULL, SNIFF_VIDEO, "mp4", "video/mp4" }	/* any other brand */
};

static int
starts_ci(const unsigned char *p, size_t len, const char *word)
{
	size_t	 n = strlen(word), i;

	if (len < n)
		return 0;
	for (i = 0; i < n; i++)
		if (tolower(p[i]) != word[i])
			return 0;
	return 1;
}

/* HTML, XML, JSON or text: what a server sends instead of a file. */
static int
looks_text(const unsigned char *p, size_t len)
{
	static const char *const tags[] = { "<!doctype", "<html", "<head",
	    "<body", "<?xml", "<script", "<iframe", "<h1", "<div", "<title",
	    "<!--", "<p", "<br", "<table", "<a ", "<style", "<error", NULL };
	size_t	 i;

	/* a UTF-8 BOM, then white space */
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		p += 3;
		len -= 3;
	}
	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r' || *p == '\f')) {
		p++;
		len--;
	}
	if (len == 0)
		return 1;
	for (i = 0; tags[i] != NULL; i++)
		if (starts_ci(p, len, tags[i]))
			return 1;
	return *p == '{' || *p == '[';
}

void
sniff_bytes(const unsigned char *buf, size_t len, struct sniff *out)
{
	size_t	 i;

	out->cls = SNIFF_UNKNOWN;
	out->ext = "";
	out->content_type = "application/octet-stream";
	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		if (len >= magics[i].off + magics[i].len &&
		    memcmp(buf + magics[i].off, magics[i].bytes,
		    magics[i].len) == 0) {
			out->cls = magics[i].cls;
			out->ext = magics[i].ext;
			out->content_type = magics[i].ctype;
			return;
		}
	}
	if (len >= 12 && memcmp(buf, "RIFF", 4) == 0) {
		if (memcmp(buf + 8, "WEBP", 4) == 0) {
			out->cls = SNIFF_IMAGE;
			out->ext = "webp";
			out->content_type = "image/webp";
		} else if (memcmp(buf + 8, "WAVE", 4) == 0) {
			out->cls = SNIFF_AUDIO;
			out->ext = "wav";
			out->content_type = "audio/wav";
		} else if (memcmp(buf + 8, "AVI ", 4) == 0) {
			out->cls = SNIFF_VIDEO;
			out->ext = "avi";
			out->content_type = "video/x-msvideo";
		}
		if (out->cls != SNIFF_UNKNOWN)
			return;
	}
	if (len >= 12 && memcmp(buf + 4, "ftyp", 4) == 0) {
		for (i = 0; brands[i].brand != NULL; i++)
			if (memcmp(buf + 8, brands[i].brand, 4) == 0)
				break;
		out->cls = brands[i].cls;
		out->ext = brands[i].ext;
		out->content_type = brands[i].ctype;
		return;
	}
	/* fragmented or old MP4 without ftyp */
	if (len >= 8 && (memcmp(buf + 4, "moov", 4) == 0 ||
	    memcmp(buf + 4, "mdat", 4) == 0 || memcmp(buf + 4, "styp", 4) ==
	    0)) {
		out->cls = SNIFF_VIDEO;
		out->ext = "mp4";
		out->content_type = "video/mp4";
		return;
	}
	if (looks_text(buf, len)) {
		out->cls = SNIFF_TEXT;
		out->content_type = "text/html";
	}
}

/* ------------------------------------------------------------------ */
/* DASH manifests                                                      */

/* The value of attr="..." inside the tag that starts at p (up to '>'). */
static int
tag_attr(const char *p, const char *end, const char *attr, char *buf,
    size_t len)
{
	const char	*gt, *q, *v, *ve;
	size_t		 n = strlen(attr);

	if ((gt = memchr(p, '>', (size_t)(end - p))) == NULL)
		gt = end;
	for (q = p; q + n + 2 < gt; q++) {
		if ((q == p || isspace((unsigned char)q[-1])) &&
		    strncmp(q, attr, n) == 0 && q[n] == '=' &&
		    (q[n + 1] == '"' || q[n + 1] == '\'')) {
			v = q + n + 2;
			if ((ve = memchr(v, q[n + 1], (size_t)(gt - v))) ==
			    NULL)
				return -1;
			if ((size_t)(ve - v) >= len)
				return -1;
			memcpy(buf, v, (size_t)(ve - v));
			buf[ve - v] = '\0';
			return 0;
		}
	}
	return -1;
}

static const char *
find(const char *p, const char *end, const char *s)
{
	size_t	 n = strlen(s);

	for (; p + n <= end; p++)
		if (*p == *s && memcmp(p, s, n) == 0)
			return p;
	return NULL;
}

/* &amp; &lt; &gt; &quot; &apos; in place */
static void
xml_unescape(char *s)
{
	static const struct { const char *e; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' } };
	char	*w = s;
	size_t	 i, n;

	while (*s) {
		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			n = strlen(ents[i].e);
			if (strncmp(s, ents[i].e, n) == 0)
				break;
		}
		if (i < sizeof(ents) / sizeof(ents[0])) {
			*w++ = ents[i].c;
			s += n;
		} else
			*w++ = *s++;
	}
	*w = '\0';
}

static int
resolve(const char *base, const char *rel, char *buf, size_t len)
{
	CURLU	*u;
	char	*s = NULL;
	int	 rc = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK &&
	    strlen(s) < len && (strncmp(s, "http://", 7) == 0 ||
	    strncmp(s, "https://", 8) == 0)) {
		snprintf(buf, len, "%s", s);
		rc = 0;
	}
	curl_free(s);
	curl_url_cleanup(u);
	return rc;
}

struct track {
	double		 bandwidth;
	char		 url[2048];
};

static int
track_cmp(const void *a, const void *b)
{
	const struct track *x = a, *y = b;

	return x->bandwidth < y->bandwidth ? 1 : x->bandwidth > y->bandwidth ?
	    -1 : 0;
}

int
dash_audio_urls(const char *mpd, size_t len, const char *mpd_url, cJSON *out)
{
	const char	*end = mpd + len, *set, *set_end, *rep, *rep_end, *b,
			*be;
	char		 v[256], rel[2048];
	struct track	 tracks[16];
	int		 n = 0, i, audio;
	size_t		 bl;

	for (set = find(mpd, end, "<AdaptationSet"); set != NULL && n < 16;
	    set = find(set_end, end, "<AdaptationSet")) {
		if ((set_end = find(set, end, "</AdaptationSet>")) == NULL)
			set_end = end;
		audio = (tag_attr(set, set_end, "contentType", v,
		    sizeof(v)) == 0 && strcmp(v, "audio") == 0) ||
		    (tag_attr(set, set_end, "mimeType", v, sizeof(v)) == 0 &&
		    strncmp(v, "audio/", 6) == 0);
		for (rep = find(set, set_end, "<Representation");
		    rep != NULL && n < 16;
		    rep = find(rep_end, set_end, "<Representation")) {
			if ((rep_end = find(rep + 1, set_end,
			    "<Representation")) == NULL)
				rep_end = set_end;
			if (!audio && !(tag_attr(rep, rep_end, "mimeType", v,
			    sizeof(v)) == 0 && strncmp(v, "audio/", 6) == 0))
				continue;
			if ((b = find(rep, rep_end, "<BaseURL>")) == NULL ||
			    (be = find(b, rep_end, "</BaseURL>")) == NULL)
				continue;
			b += strlen("<BaseURL>");
			if ((bl = (size_t)(be - b)) == 0 || bl >= sizeof(rel))
				continue;
			memcpy(rel, b, bl);
			rel[bl] = '\0';
			xml_unescape(rel);
			tracks[n].bandwidth = tag_attr(rep, rep_end,
			    "bandwidth", v, sizeof(v)) == 0 ?
			    strtod(v, NULL) : 0;
			if (resolve(mpd_url, rel, tracks[n].url,
			    sizeof(tracks[n].url)) == 0)
				n++;
		}
	}
	qsort(tracks, (size_t)n, sizeof(tracks[0]), track_cmp);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(out, cJSON_CreateString(tracks[i].url));
	return n;
}

/* ------------------------------------------------------------------ */

int
store_rel_path(const char *sha, const char *ext, char *buf, size_t len)
{
	size_t	 i, n;
	int	 w;

	if (sha == NULL || ext == NULL || strlen(sha) != 64)
		return -1;
	for (i = 0; i < 64; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') ||
		    (sha[i] >= 'a' && sha[i] <= 'f')))
			return -1;
	if ((n = strlen(ext)) == 0 || n > 8)
		return -1;
	for (i = 0; i < n; i++)
		if (!((ext[i] >= 'a' && ext[i] <= 'z') ||
		    (ext[i] >= '0' && ext[i] <= '9')))
			return -1;
	w = snprintf(buf, len, "media/%.2s/%s.%s", sha, sha, ext);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}
