// SPDX-License-Identifier: MIT
/*
 * The Pyroscope pusher against the loopback receiver (tests/http_rx.c).
 * What arrives is read by real parsers: Python's urllib for the query and
 * its email package's MIME parser for the multipart body
 * (tests/pyroscope_form.py), json for sample_type_config, and go tool
 * pprof for the profile part. Then the transport's behaviour as a
 * Pyroscope user sees it: a 503 retried, a full queue dropping its oldest
 * window, a dead server costing counters and never a wait in push.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "export/encode.h"
#include "export/pyroscope.h"
#include "model/profile.h"

#define PERIOD_NS 10000000ull /* 100 Hz */
#define SEC 1000000000ull
#define FORM_SCRIPT "tests/pyroscope_form.py"
/* The sample_type_config of window_profile(), as sent. */
#define CONFIG_JSON                                                                          \
	"{\"samples\":{\"units\":\"samples\",\"aggregation\":\"sum\",\"cumulative\":false," \
	"\"sampled\":true},\"cpu\":{\"units\":\"nanoseconds\",\"aggregation\":\"sum\","        \
	"\"cumulative\":false,\"sampled\":false},\"off_cpu\":{\"units\":\"nanoseconds\","        \
	"\"aggregation\":\"sum\",\"cumulative\":false,\"sampled\":false}}"

static const struct profile_location loc_main = {
	.module = "/opt/app", .address = 0x1100, .nlines = 1, .lines = {{"main", "app.c", 5, 0}}};
static const struct profile_location loc_heavy = {
	.module = "/opt/app", .address = 0x1200, .nlines = 1, .lines = {{"heavy", "app.c", 9, 0}}};
static const struct profile_location loc_light = {
	.module = "/opt/app", .address = 0x1300, .nlines = 1, .lines = {{"light", "app.c", 14, 0}}};

/*
 * CPU samples main;heavy 30 and main;light 10 (10 ms each), off-CPU
 * main;light 2 s and main;heavy 0.5 s.
 */
static struct profile *window_profile(void)
{
	struct profile *p = profile__new();
	uint32_t st[2];
	int off;

	cr_assert_not_null(p);
	cr_assert_eq(profile__add_type(p, "samples", "count"), 0);
	off = profile__add_type(p, "off_cpu", "nanoseconds");
	cr_assert_eq(off, 1);
	profile__set_period_ns(p, PERIOD_NS);
	profile__set_time(p, 1700000000 * SEC, 10 * SEC);
	st[0] = profile__intern_location(p, &loc_main);
	st[1] = profile__intern_location(p, &loc_heavy);
	cr_assert_eq(profile__add(p, 7, "app", st, 2, 30), 0);
	cr_assert_geq(profile__add_value(p, off, 7, "app", st, 2, 500000000), 0);
	st[1] = profile__intern_location(p, &loc_light);
	cr_assert_eq(profile__add(p, 7, "app", st, 2, 10), 0);
	cr_assert_geq(profile__add_value(p, off, 7, "app", st, 2, 2000000000), 0);
	return p;
}

static struct pyroscope *new_pusher(struct pyroscope_opts *o)
{
	struct pyroscope *p = NULL;

	cr_assert_eq(pyroscope__new(o, &p), 0);
	return p;
}

/* ---- the series name ---------------------------------------------------- */

static void expect_name(const char *app, const struct pyroscope_label *l, size_t n,
			const char *want)
{
	char buf[512], why[256] = "";
	int len = pyroscope_series_name(buf, sizeof(buf), app, l, n, why, sizeof(why));

	cr_assert_eq(len, (int)strlen(want), "%s: %d (%s)", want, len, why);
	cr_expect_str_eq(buf, want);
}

static void expect_bad(const char *app, const struct pyroscope_label *l, size_t n,
		       const char *want_why)
{
	char buf[512], why[256] = "";

	cr_assert_eq(pyroscope_series_name(buf, sizeof(buf), app, l, n, why, sizeof(why)), -EINVAL,
		     "%s accepted", want_why);
	cr_expect_str_eq(why, want_why);
}

Test(pyroscope, series_names_read_back_as_given)
{
	const struct pyroscope_label l1[] = {{"env", "prod"}, {"region", " eu west,1} "}};
	const struct pyroscope_label l2[] = {
		{"k8s.pod", "web-0"}, {"1st", "a=b{c}"}, {"h\xc3\xa9", "\xc3\xbc" "n\xc3\xaf" "code"}};
	const struct pyroscope_label l3[] = {
		{"bad", "a\tb\xff\xc3(\x7f"}, {"empty", ""}, {"blank", "   "}, {"last", "x"}};
	const struct pyroscope_label dup[] = {{"a.b", "1"}, {"a_b", "2"}};
	const struct pyroscope_label rsv[] = {{"__name__", "x"}};
	const struct pyroscope_label svc[] = {{"service_name", "x"}};
	const struct pyroscope_label nokey[] = {{"", "x"}};
	char small[8];

	expect_name("checkout", NULL, 0, "checkout{}");
	/* Inner spaces stay; the separators Pyroscope's parser stops at do not. */
	expect_name("checkout", l1, 2, "checkout{env=prod,region=eu west_1_}");
	expect_name(" my app! ", l1, 1, "my_app_{env=prod}");
	expect_name("a.b-c/d_e", NULL, 0, "a.b-c/d_e{}");
	/* Keys: [A-Za-z_][A-Za-z0-9_]*, a byte at a time; values keep UTF-8. */
	expect_name("x", l2, 3, "x{k8s_pod=web-0,_1st=a_b_c_,h__=\xc3\xbc" "n\xc3\xaf" "code}");
	/* Control bytes and broken UTF-8 become '_'; empty labels are left out. */
	expect_name("x", l3, 4, "x{bad=a_b__(_,last=x}");

	expect_bad("", NULL, 0, "the application name '' is empty");
	expect_bad("  ", NULL, 0, "the application name '  ' is empty");
	expect_bad("x", nokey, 1, "label 1 has an empty name");
	expect_bad("x", dup, 2, "label 'a_b' is given twice (as 'a_b')");
	expect_bad("x", rsv, 1,
		   "label '__name__' is Pyroscope's own (reserved: __*, service_name, "
		   "pyroscope_spy)");
	expect_bad("x", svc, 1,
		   "label 'service_name' is Pyroscope's own (reserved: __*, service_name, "
		   "pyroscope_spy)");
	cr_expect_eq(pyroscope_series_name(small, sizeof(small), "checkout", NULL, 0, NULL, 0),
		     -ENOSPC);
}

static int new_with_url(void *arg)
{
	struct pyroscope_opts o = {.url = arg};
	struct pyroscope *p = NULL;
	int err = pyroscope__new(&o, &p);

	pyroscope__free(p);
	return err;
}

Test(pyroscope, base_urls)
{
	static const char *const ok[][2] = {
		{"http://pyro:4040", "http://pyro:4040/ingest"},
		{"http://pyro:4040/", "http://pyro:4040/ingest"},
		{"https://pyro.example/prefix//", "https://pyro.example/prefix/ingest"},
		{"http://pyro:4040/ingest", "http://pyro:4040/ingest"},
		{"http://ingest", "http://ingest/ingest"},
	};
	static const char *const bad[][2] = {
		{"ftp://pyro", "sonde: pyroscope: failed to use URL 'ftp://pyro': expected "
			       "http://HOST:PORT or https://...\n"},
		{"http://", "sonde: pyroscope: failed to use URL 'http://': expected "
			    "http://HOST:PORT or https://...\n"},
		{"http://u:secret@pyro:4040",
		 "sonde: pyroscope: failed to use URL 'http://u:secret@pyro:4040': credentials in "
		 "a URL end up in logs; give them as a header (Authorization: Basic ...)\n"},
		{"http://pyro:4040/?x=1",
		 "sonde: pyroscope: failed to use URL 'http://pyro:4040/?x=1': the base URL takes "
		 "no query, fragment or spaces (the request's query is sonde's)\n"},
		{"", "sonde: pyroscope: failed to start: no server URL (http://HOST:4040)\n"},
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct pyroscope_opts o = {.url = ok[i][0]};
		struct pyroscope *p = new_pusher(&o);

		cr_expect_str_eq(pyroscope__url(p), ok[i][1]);
		pyroscope__free(p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = 0;
		char *err = capture_stderr(new_with_url, (void *)bad[i][0], &ret);

		cr_expect_eq(ret, -EINVAL, "%s", bad[i][0]);
		cr_expect_str_eq(err, bad[i][1]);
		free(err);
	}
}

/* ---- one request, read by the real parsers ------------------------------ */

/* The Content-Type header of captured request @q. */
static char *content_type_of(const struct rx_req *q)
{
	const char *h = strstr(q->head, "\r\nContent-Type: ");
	size_t n;

	cr_assert_not_null(h, "%s", q->head);
	h += strlen("\r\nContent-Type: ");
	n = strcspn(h, "\r");
	return strndup(h, n);
}

/* tests/pyroscope_form.py on @q; the parts land in @outdir. */
static char *decode_form(const struct rx_req *q, const char *outdir)
{
	char body[1024], *ctype = content_type_of(q), *out = NULL, *err = NULL;
	FILE *f;
	int rc;

	snprintf(body, sizeof(body), "%s/body", outdir);
	f = fopen(body, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(q->body, 1, q->len, f), q->len);
	fclose(f);
	rc = run_cmd((char *const[]){"/usr/bin/env", "python3",
				     (char *)source_path(FORM_SCRIPT), (char *)q->path, ctype, body,
				     (char *)outdir, NULL},
		     &out, &err);
	cr_assert_eq(rc, 0, "pyroscope_form.py failed (%d): %s", rc, err);
	free(err);
	free(ctype);
	return out;
}

/* The flat and cum columns of @fn's row in go tool pprof -top output. */
static void expect_top(const char *top, const char *fn, const char *flat, const char *cum)
{
	for (const char *line = top; line && *line;) {
		const char *nl = strchr(line, '\n');
		char f[64], fp[64], sp[64], c[64], cp[64], name[256];

		if (sscanf(line, "%63s %63s %63s %63s %63s %255[^\n]", f, fp, sp, c, cp, name) == 6 &&
		    !strcmp(name, fn)) {
			cr_expect_str_eq(f, flat, "%s flat", fn);
			cr_expect_str_eq(c, cum, "%s cum", fn);
			return;
		}
		line = nl ? nl + 1 : NULL;
	}
	cr_assert_fail("no row for %s in:\n%s", fn, top);
}

Test(pyroscope, request_read_by_real_parsers)
{
	static const char *const hdrs[] = {"X-Extra: one", NULL};
	const struct pyroscope_label labels[] = {
		{"env", "prod"}, {"host", "node-1"}, {"k8s.pod", "web {0}"}};
	struct rx r = {0};
	struct pyroscope_opts o = {.tenant = "team-a", .headers = hdrs};
	struct pyroscope_stats st;
	struct pyroscope *p;
	struct profile *w = window_profile();
	char url[128], dir[512], want[4096], file[600], *ctype, *out, *pprof, *part;
	size_t plen, partlen;

	rx_start(&r);
	snprintf(url, sizeof(url), "%s/", rx_url(&r));
	o.url = url;
	p = new_pusher(&o);
	/* 10.2 s of window from 1700000000.7: whole seconds 1700000000 to ...011. */
	cr_assert_eq(pyroscope__push(p, w, "checkout", labels, 3, 1700000000700000000ull,
				     1700000010900000000ull, 99),
		     0);
	cr_assert_eq(pyroscope__flush(p, 5000), 0);
	pyroscope__stats(p, &st);
	pyroscope__free(p);
	rx_stop(&r);
	cr_assert_eq(r.n, 1);

	/* The headers the server and its proxy read. */
	cr_expect(strstr(r.req[0].head, "\r\nX-Scope-OrgID: team-a\r\n"), "%s", r.req[0].head);
	cr_expect(strstr(r.req[0].head, "\r\nX-Extra: one\r\n"), "%s", r.req[0].head);
	ctype = content_type_of(&r.req[0]);
	cr_expect_eq(strlen(ctype), strlen("multipart/form-data; boundary=sonde-") + 32, "%s",
		     ctype);
	cr_expect_eq(strncmp(ctype, "multipart/form-data; boundary=sonde-", 36), 0, "%s", ctype);
	cr_expect_eq(strspn(ctype + 36, "0123456789abcdef"), 32, "%s", ctype);
	free(ctype);
	cr_expect_eq(strncmp(r.req[0].path, "/ingest?name=checkout%7Benv%3Dprod%2Chost%3D", 44), 0,
		     "%s", r.req[0].path);

	/* What Python's parsers read. */
	cr_assert_eq(profile_encode(w, WINDOW_PPROF, NULL, &pprof, &plen), 0);
	snprintf(dir, sizeof(dir), "%s/form", test_tmpdir());
	mkdir(dir, 0700);
	out = decode_form(&r.req[0], dir);
	snprintf(want, sizeof(want),
		 "query name=checkout{env=prod,host=node-1,k8s_pod=web _0_}\n"
		 "query from=1700000000\n"
		 "query until=1700000011\n"
		 "query format=pprof\n"
		 "query sampleRate=99\n"
		 "query spyName=sonde\n"
		 "part 1 name=profile filename=profile.pb.gz type=application/octet-stream "
		 "bytes=%zu\n"
		 "part 2 name=sample_type_config filename=sample_type_config.json "
		 "type=application/json bytes=%zu\n"
		 "config samples {\"aggregation\": \"sum\", \"cumulative\": false, \"sampled\": "
		 "true, \"units\": \"samples\"}\n"
		 "config cpu {\"aggregation\": \"sum\", \"cumulative\": false, \"sampled\": false, "
		 "\"units\": \"nanoseconds\"}\n"
		 "config off_cpu {\"aggregation\": \"sum\", \"cumulative\": false, \"sampled\": "
		 "false, \"units\": \"nanoseconds\"}\n",
		 plen, strlen(CONFIG_JSON));
	cr_expect_str_eq(out, want);
	free(out);

	/* The profile part is byte for byte the pprof writer's output. */
	snprintf(file, sizeof(file), "%s/profile", dir);
	part = read_file(file, &partlen);
	cr_assert_not_null(part);
	cr_assert_eq(partlen, plen);
	cr_expect_eq(memcmp(part, pprof, plen), 0);
	free(part);
	free(pprof);
	snprintf(file, sizeof(file), "%s/sample_type_config", dir);
	part = read_file(file, NULL);
	cr_assert_not_null(part);
	cr_expect_str_eq(part, CONFIG_JSON);
	free(part);
	snprintf(file, sizeof(file), "%s/profile", dir);

	/* go tool pprof reads its types, functions and totals. */
	out = pprof_run(file, "-raw", NULL, NULL);
	cr_expect(strstr(out, "PeriodType: cpu nanoseconds\nPeriod: 10000000\n"), "%s", out);
	/* Every type sample_type_config names, and the values of both stacks. */
	cr_expect(strstr(out, "Samples:\nsamples/count cpu/nanoseconds[dflt] off_cpu/nanoseconds\n"
			      "         30  300000000  500000000: 1 2 \n"),
		  "%s", out);
	cr_expect(strstr(out, "         10  100000000 2000000000: 3 2 \n"), "%s", out);
	cr_expect(strstr(out, "     1: 0x1200 M=1 heavy app.c:9 s=0\n"
			      "     2: 0x1100 M=1 main app.c:5 s=0\n"
			      "     3: 0x1300 M=1 light app.c:14 s=0\n"),
		  "%s", out);
	free(out);
	out = pprof_run(file, "-top", "-sample_index=samples", NULL);
	cr_expect(strstr(out, "of 40 total"), "%s", out);
	expect_top(out, "heavy", "30", "30");
	expect_top(out, "light", "10", "10");
	expect_top(out, "main", "0", "40");
	free(out);
	out = pprof_run(file, "-top", "-sample_index=off_cpu", NULL);
	cr_expect(strstr(out, "of 2500ms total"), "%s", out);
	expect_top(out, "light", "2000ms", "2000ms");
	expect_top(out, "heavy", "500ms", "500ms");
	free(out);

	cr_expect_eq(st.windows_pushed, 1);
	cr_expect_eq(st.windows_sent, 1);
	cr_expect_eq(st.windows_failed, 0);
	cr_expect_eq(st.windows_dropped, 0);
	cr_expect_eq(st.requests_failed, 0);
	cr_expect_eq(st.bytes_sent, r.req[0].len);
	profile__free(w);
	rx_free(&r);
}

/* ---- the transport as a Pyroscope user sees it --------------------------- */

/* The from= of captured request @q. */
static unsigned long long from_of(const struct rx_req *q)
{
	const char *f = strstr(q->path, "&from=");

	cr_assert_not_null(f, "%s", q->path);
	return strtoull(f + 6, NULL, 10);
}

Test(pyroscope, unavailable_then_accepted_is_retried)
{
	struct rx r = {.script = {503}, .nscript = 1};
	struct pyroscope_opts o = {.backoff_ms = 50};
	struct pyroscope_stats st;
	struct pyroscope *p;
	struct profile *w = window_profile();

	rx_start(&r);
	o.url = rx_url(&r);
	p = new_pusher(&o);
	cr_assert_eq(pyroscope__push(p, w, "app", NULL, 0, 100 * SEC, 110 * SEC, 100), 0);
	cr_assert_eq(pyroscope__flush(p, 5000), 0);
	pyroscope__stats(p, &st);
	pyroscope__free(p);
	rx_stop(&r);

	cr_assert_eq(r.n, 2);
	cr_expect_eq(r.req[0].status, 503);
	cr_expect_eq(r.req[1].status, 200);
	cr_expect_str_eq(r.req[0].path, r.req[1].path);
	cr_assert_eq(r.req[0].len, r.req[1].len);
	cr_expect_eq(memcmp(r.req[0].body, r.req[1].body, r.req[0].len), 0);
	cr_expect_eq(st.windows_pushed, 1);
	cr_expect_eq(st.windows_sent, 1);
	cr_expect_eq(st.requests_failed, 1);
	cr_expect_eq(st.windows_failed, 0);
	cr_expect_eq(st.windows_dropped, 0);
	cr_expect_eq(st.bytes_sent, r.req[1].len);
	profile__free(w);
	rx_free(&r);
}

/*
 * Two windows queued at most. The first is answered 503 with Retry-After
 * 1 s and waits outside the queue; of the three pushed meanwhile the
 * oldest (from=101) is displaced; the rest arrive in order.
 */
Test(pyroscope, full_queue_displaces_the_oldest_window)
{
	struct rx r = {.script = {503}, .nscript = 1, .retry_after = "1"};
	struct pyroscope_opts o = {.max_windows = 2};
	struct pyroscope_stats st;
	struct pyroscope *p;
	struct profile *w = window_profile();
	uint64_t t0;

	rx_start(&r);
	o.url = rx_url(&r);
	p = new_pusher(&o);
	cr_assert_eq(pyroscope__push(p, w, "app", NULL, 0, 100 * SEC, 101 * SEC, 100), 0);
	for (t0 = now_ns(); rx_count(&r) < 1 && now_ns() - t0 < 5 * SEC;)
		usleep(1000);
	cr_assert_eq(rx_count(&r), 1);
	for (unsigned int s = 101; s <= 103; s++)
		cr_assert_eq(pyroscope__push(p, w, "app", NULL, 0, s * SEC, (s + 1) * SEC, 100), 0);
	pyroscope__stats(p, &st);
	cr_expect_eq(st.windows_dropped, 1);
	cr_expect_eq(st.windows_queued, 2);
	cr_assert_eq(pyroscope__flush(p, 5000), 0);
	pyroscope__stats(p, &st);
	pyroscope__free(p);
	rx_stop(&r);

	cr_assert_eq(r.n, 4);
	cr_expect_eq(from_of(&r.req[0]), 100);
	cr_expect_eq(from_of(&r.req[1]), 100);
	cr_expect_eq(from_of(&r.req[2]), 102);
	cr_expect_eq(from_of(&r.req[3]), 103);
	cr_expect_eq(st.windows_pushed, 4);
	cr_expect_eq(st.windows_sent, 3);
	cr_expect_eq(st.windows_dropped, 1);
	cr_expect_eq(st.windows_failed, 0);
	cr_expect_eq(st.requests_failed, 1);
	profile__free(w);
	rx_free(&r);
}

/*
 * A server that answers after 1.5 s: a push that waited on the network
 * would take that long; encoding a window takes about a millisecond (the
 * bound leaves room for a loaded, sanitized run, not for a request).
 */
Test(pyroscope, slow_server_costs_no_push_time)
{
	struct rx r = {.delay_ms = 1500};
	struct pyroscope_opts o = {0};
	struct pyroscope_stats st;
	struct pyroscope *p;
	struct profile *w = window_profile();
	uint64_t worst = 0;

	rx_start(&r);
	o.url = rx_url(&r);
	p = new_pusher(&o);
	for (unsigned int s = 0; s < 3; s++) {
		uint64_t t = now_ns();

		cr_assert_eq(pyroscope__push(p, w, "app", NULL, 0, s * SEC, (s + 1) * SEC, 100), 0);
		t = now_ns() - t;
		worst = t > worst ? t : worst;
	}
	cr_log_info("slowest push against a server answering after 1.5 s: %.3f ms", worst / 1e6);
	cr_expect_lt(worst, 300 * 1000000ull, "a push took %.3f ms", worst / 1e6);
	cr_assert_eq(pyroscope__flush(p, 15000), 0);
	pyroscope__stats(p, &st);
	pyroscope__free(p);
	rx_stop(&r);

	cr_assert_eq(r.n, 3);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(from_of(&r.req[i]), (unsigned long long)i);
	cr_expect_eq(st.windows_pushed, 3);
	cr_expect_eq(st.windows_sent, 3);
	cr_expect_eq(st.windows_failed, 0);
	profile__free(w);
	rx_free(&r);
}

/* The server went away: every window is counted as failed, none as sent. */
Test(pyroscope, dead_server_costs_counters)
{
	struct rx r = {0};
	struct pyroscope_opts o = {.backoff_ms = 20, .retry_max_ms = 200};
	struct pyroscope_stats st;
	struct pyroscope *p;
	struct profile *w = window_profile();
	char url[64];

	rx_start(&r);
	snprintf(url, sizeof(url), "%s", rx_url(&r));
	rx_stop(&r);
	o.url = url;
	p = new_pusher(&o);
	for (unsigned int s = 0; s < 3; s++)
		cr_assert_eq(pyroscope__push(p, w, "app", NULL, 0, s * SEC, (s + 1) * SEC, 100), 0);
	cr_assert_eq(pyroscope__flush(p, 5000), 0);
	pyroscope__stats(p, &st);
	pyroscope__free(p);

	cr_expect_eq(st.windows_pushed, 3);
	cr_expect_eq(st.windows_sent, 0);
	cr_expect_eq(st.windows_failed, 3);
	cr_expect_geq(st.requests_failed, 3);
	cr_expect_eq(st.windows_dropped, 0);
	cr_expect_eq(st.bytes_sent, 0);
	profile__free(w);
	rx_free(&r);
}

Test(pyroscope, window_without_samples_is_not_sent)
{
	struct rx r = {0};
	struct pyroscope_opts o = {0};
	struct pyroscope_stats st;
	struct pyroscope *p;
	struct profile *w = profile__new();
	const struct pyroscope_label bad[] = {{"__x", "1"}};

	rx_start(&r);
	o.url = rx_url(&r);
	p = new_pusher(&o);
	cr_assert_eq(pyroscope__push(p, w, "app", NULL, 0, 0, SEC, 100), 0);
	cr_assert_eq(pyroscope__push(p, w, "app", bad, 1, 0, SEC, 100), -EINVAL);
	cr_assert_eq(pyroscope__flush(p, 1000), 0);
	pyroscope__stats(p, &st);
	pyroscope__free(p);
	rx_stop(&r);
	cr_expect_eq(r.n, 0);
	cr_expect_eq(st.windows_empty, 1);
	cr_expect_eq(st.windows_pushed, 0);
	profile__free(w);
	rx_free(&r);
}
