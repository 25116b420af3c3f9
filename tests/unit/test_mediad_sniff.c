/*
 * test_mediad_sniff.c — mediad's pure parts: what a body is from its magic
 * bytes, the audio tracks of a DASH manifest, and the store path built
 * from a hash (nothing else may ever reach a path).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mediad/mediad.h"

struct sniff_case {
	const char	*name;
	const char	*bytes;
	size_t		 len;
	enum sniff_class cls;
	const char	*ext;
	const char	*ctype;
};

#define B(s)	s, sizeof(s) - 1

static const struct sniff_case sniff_cases[] = {
	{ "jpeg", B("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), SNIFF_IMAGE, "jpg",
	    "image/jpeg" },
	{ "png", B("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), SNIFF_IMAGE, "png",
	    "image/png" },
	{ "gif89a", B("GIF89a\x01\x00\x01\x00"), SNIFF_IMAGE, "gif",
	    "image/gif" },
	{ "gif87a", B("GIF87a\x01\x00\x01\x00"), SNIFF_IMAGE, "gif",
	    "image/gif" },
	{ "webp", B("RIFF\x24\x00\x00\x00WEBPVP8 "), SNIFF_IMAGE, "webp",
	    "image/webp" },
	{ "mp4 isom", B("\x00\x00\x00\x20" "ftypisom\x00\x00\x02\x00"),
	    SNIFF_VIDEO, "mp4", "video/mp4" },
	{ "mp4 dash", B("\x00\x00\x00\x18" "ftypdash\x00\x00\x00\x00"),
	    SNIFF_VIDEO, "mp4", "video/mp4" },
	{ "mov", B("\x00\x00\x00\x14" "ftypqt  \x00\x00\x00\x00"),
	    SNIFF_VIDEO, "mov", "video/quicktime" },
	{ "m4a", B("\x00\x00\x00\x18" "ftypM4A \x00\x00\x00\x00"),
	    SNIFF_AUDIO, "m4a", "audio/mp4" },
	{ "avif", B("\x00\x00\x00\x1c" "ftypavif\x00\x00\x00\x00"),
	    SNIFF_IMAGE, "avif", "image/avif" },
	{ "mp4 moov first", B("\x00\x00\x01\x00moov"), SNIFF_VIDEO, "mp4",
	    "video/mp4" },
	{ "webm", B("\x1a\x45\xdf\xa3\x9f\x42\x86\x81"), SNIFF_VIDEO, "webm",
	    "video/webm" },
	{ "html", B("<!doctype html>\n<html><head>"), SNIFF_TEXT, "",
	    "text/html" },
	{ "html ws bom", B("\xef\xbb\xbf \r\n\t<HTML lang=en>"), SNIFF_TEXT,
	    "", "text/html" },
	{ "xml error", B("<?xml version=\"1.0\"?><Error>"), SNIFF_TEXT, "",
	    "text/html" },
	{ "json", B("{\"error\": 404}"), SNIFF_TEXT, "", "text/html" },
	{ "empty", B(""), SNIFF_TEXT, "", "text/html" },
	{ "garbage", B("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"),
	    SNIFF_UNKNOWN, "", "application/octet-stream" },
	{ "short jpeg", B("\xff\xd8"), SNIFF_UNKNOWN, "",
	    "application/octet-stream" },
};

static void
test_sniff_table(void **state)
{
	struct sniff	 s;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(sniff_cases) / sizeof(sniff_cases[0]); i++) {
		const struct sniff_case *c = &sniff_cases[i];

		sniff_bytes((const unsigned char *)c->bytes, c->len, &s);
		if (s.cls != c->cls || strcmp(s.ext, c->ext) != 0 ||
		    strcmp(s.content_type, c->ctype) != 0)
			fail_msg("%s: got class %d ext \"%s\" type %s", c->name,
			    s.cls, s.ext, s.content_type);
	}
}

/* the manifest shape v.redd.it serves (and the fake copies) */
static const char mpd[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\">\n"
    " <Period duration=\"PT1.000S\">\n"
    "  <AdaptationSet contentType=\"video\" maxWidth=\"64\">\n"
    "   <Representation id=\"2\" mimeType=\"video/mp4\" bandwidth=\"1200000\">\n"
    "    <BaseURL>DASH_720.mp4</BaseURL>\n"
    "   </Representation>\n"
    "  </AdaptationSet>\n"
    "  <AdaptationSet contentType=\"audio\" lang=\"und\">\n"
    "   <Representation id=\"5\" mimeType=\"audio/mp4\" bandwidth=\"64000\">\n"
    "    <BaseURL>DASH_AUDIO_64.mp4</BaseURL>\n"
    "   </Representation>\n"
    "   <Representation id=\"6\" mimeType=\"audio/mp4\" bandwidth=\"129493\">\n"
    "    <BaseURL>DASH_AUDIO_128.mp4?a=1&amp;b=2</BaseURL>\n"
    "   </Representation>\n"
    "  </AdaptationSet>\n"
    " </Period>\n"
    "</MPD>\n";

static void
test_dash_audio(void **state)
{
	cJSON	*out = cJSON_CreateArray();

	(void)state;
	assert_int_equal(dash_audio_urls(mpd, sizeof(mpd) - 1,
	    "https://v.example/abc/DASHPlaylist.mpd?x=1", out), 2);
	/* best first, resolved against the manifest, &amp; undone */
	assert_string_equal(cJSON_GetArrayItem(out, 0)->valuestring,
	    "https://v.example/abc/DASH_AUDIO_128.mp4?a=1&b=2");
	assert_string_equal(cJSON_GetArrayItem(out, 1)->valuestring,
	    "https://v.example/abc/DASH_AUDIO_64.mp4");
	cJSON_Delete(out);
}

static void
test_dash_edge_cases(void **state)
{
	static const char video_only[] =
	    "<MPD><Period><AdaptationSet contentType=\"video\">"
	    "<Representation bandwidth=\"1\"><BaseURL>v.mp4</BaseURL>"
	    "</Representation></AdaptationSet></Period></MPD>";
	static const char evil[] =
	    "<MPD><AdaptationSet mimeType=\"audio/mp4\"><Representation>"
	    "<BaseURL>file:///etc/passwd</BaseURL></Representation>"
	    "<Representation><BaseURL>ftp://h/a.mp4</BaseURL>"
	    "</Representation><Representation><BaseURL>/abs/a.mp4</BaseURL>"
	    "</Representation></AdaptationSet>";
	static const char truncated[] = "<MPD><AdaptationSet contentType=\"au";
	cJSON	*out = cJSON_CreateArray();

	(void)state;
	assert_int_equal(dash_audio_urls(video_only, sizeof(video_only) - 1,
	    "http://h/x/m.mpd", out), 0);
	/* only http(s) URLs come out of a manifest */
	assert_int_equal(dash_audio_urls(evil, sizeof(evil) - 1,
	    "http://h/x/m.mpd", out), 1);
	assert_string_equal(cJSON_GetArrayItem(out, 0)->valuestring,
	    "http://h/abs/a.mp4");
	assert_int_equal(dash_audio_urls(truncated, sizeof(truncated) - 1,
	    "http://h/x/m.mpd", out), 0);
	assert_int_equal(dash_audio_urls("", 0, "http://h/", out), 0);
	cJSON_Delete(out);
}

static void
test_store_path(void **state)
{
	static const char sha[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char	 buf[256];

	(void)state;
	assert_int_equal(store_rel_path(sha, "jpg", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "media/e3/" "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855.jpg");
	/* anything that is not a lower-case hash or a short extension */
	assert_int_equal(store_rel_path("../../etc/passwd", "jpg", buf,
	    sizeof(buf)), -1);
	assert_int_equal(store_rel_path("E3B0C44298FC1C149AFBF4C8996FB924"
	    "27AE41E4649B934CA495991B7852B855", "jpg", buf, sizeof(buf)), -1);
	assert_int_equal(store_rel_path(sha, "", buf, sizeof(buf)), -1);
	assert_int_equal(store_rel_path(sha, "../x", buf, sizeof(buf)), -1);
	assert_int_equal(store_rel_path(sha, "jpg/x", buf, sizeof(buf)), -1);
	assert_int_equal(store_rel_path(sha, "toolongext", buf, sizeof(buf)),
	    -1);
	assert_int_equal(store_rel_path(sha, "JPG", buf, sizeof(buf)), -1);
	assert_int_equal(store_rel_path(NULL, "jpg", buf, sizeof(buf)), -1);
	assert_int_equal(store_rel_path(sha, "jpg", buf, 20), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff_table),
		cmocka_unit_test(test_dash_audio),
		cmocka_unit_test(test_dash_edge_cases),
		cmocka_unit_test(test_store_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
