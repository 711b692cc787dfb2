// SPDX-License-Identifier: MIT
/*
 * The push transport against the loopback receiver (tests/http_rx.c): a
 * Pyroscope-style request (its own URL with a query, multipart Content-
 * Type, an auth header) arrives byte for byte; a source's batches are
 * built on the sender thread; Retry-After pauses a channel across
 * requests and a flush gives up at once when the pause outlasts it; a
 * 100 MB reply is not read; a flush against a hung receiver ends when its
 * cancel callback says so; a full queue displaces its oldest request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "http_rx.h"
#include "export/transport.h"

static struct transport *new_transport(struct transport_opts *o)
{
	struct transport *t = NULL;

	cr_assert_eq(transport__new(o, &t), 0);
	return t;
}

static void send_copy(struct transport *t, unsigned int ch, const char *body, const char *url,
		      const char *ctype)
{
	struct transport_req r = {
		.body = strdup(body),
		.len = strlen(body),
		.items = 1,
		.url = url ? strdup(url) : NULL,
		.content_type = ctype ? strdup(ctype) : NULL,
	};

	cr_assert_eq(transport__send(t, ch, &r), 0);
}

static const char *url_of(struct rx *r, const char *path)
{
	static char url[256];

	snprintf(url, sizeof(url), "%s%s", rx_url(r), path);
	return url;
}

Test(transport, pyroscope_style_request_arrives_as_sent)
{
	static const char *const hdrs[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
	static const char body[] =
		"--b0undary\r\nContent-Disposition: form-data; name=\"profile\"; "
		"filename=\"profile.pprof\"\r\n\r\n\x1f\x8b pprof bytes\r\n"
		"--b0undary--\r\n";
	struct rx r = {0};
	struct transport_channel_opts ch = {.what = "profiles"};
	struct transport_opts o = {
		.name = "pyroscope", .headers = hdrs, .channels = &ch, .nchannels = 1};
	struct transport_stats st;
	struct transport *t;
	char want[512];

	rx_start(&r);
	ch.url = url_of(&r, "/ingest");
	t = new_transport(&o);
	cr_assert_str_eq(transport__url(t, 0), url_of(&r, "/ingest"));
	send_copy(t, 0, body,
		  url_of(&r, "/ingest?name=app%7Benv%3Dprod%7D&from=1700000000&until=1700000010"
			     "&format=pprof"),
		  "multipart/form-data; boundary=b0undary");
	cr_assert_eq(transport__flush(t, 5000), 0);
	transport__stats(t, 0, &st);
	transport__free(t);
	rx_stop(&r);

	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(r.req[0].path,
			 "/ingest?name=app%7Benv%3Dprod%7D&from=1700000000&until=1700000010"
			 "&format=pprof");
	cr_assert_eq(r.req[0].len, sizeof(body) - 1);
	cr_assert_eq(memcmp(r.req[0].body, body, sizeof(body) - 1), 0);
	cr_assert(strstr(r.req[0].head,
			 "\r\nContent-Type: multipart/form-data; boundary=b0undary\r\n"),
		  "%s", r.req[0].head);
	cr_assert(strstr(r.req[0].head, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"), "%s",
		  r.req[0].head);
	snprintf(want, sizeof(want), "\r\nUser-Agent: sonde/%s\r\n", SONDE_VERSION);
	cr_assert(strstr(r.req[0].head, want), "%s", r.req[0].head);
	cr_assert_null(strstr(r.req[0].head, "Expect:"), "%s", r.req[0].head);
	cr_assert_eq(st.items_queued_in, 1);
	cr_assert_eq(st.items_sent, 1);
	cr_assert_eq(st.requests_sent, 1);
	cr_assert_eq(st.requests_failed, 0);
	cr_assert_eq(st.bytes_sent, sizeof(body) - 1);
	cr_assert_eq(st.requests_queued, 0);
	rx_free(&r);
}

/* A source handing out "batch N" bodies of 3 items, up to a total. */
struct toy {
	atomic_int held; /* batches not yet done */
	int taken, done_sent, done_other;
	char body[32];
};

static int toy_take(void *ctx, bool due, struct transport_batch *b)
{
	struct toy *y = ctx;

	if (atomic_load(&y->held) <= y->taken)
		return 0;
	snprintf(y->body, sizeof(y->body), "batch %d", y->taken++);
	*b = (struct transport_batch){.body = y->body, .len = strlen(y->body), .items = 3};
	return 1;
}

static void toy_done(void *ctx, const struct transport_batch *b, enum transport_outcome out)
{
	struct toy *y = ctx;

	if (out == TRANSPORT_SENT)
		y->done_sent++;
	else
		y->done_other++;
	atomic_fetch_sub(&y->held, 1);
	y->taken--;
}

static bool toy_pending(void *ctx)
{
	struct toy *y = ctx;

	return atomic_load(&y->held) > 0;
}

Test(transport, source_batches_go_out_in_order)
{
	struct toy y = {0};
	struct transport_source src = {toy_take, toy_done, toy_pending, NULL, &y};
	struct rx r = {0};
	struct transport_channel_opts ch = {.what = "spans", .source = &src};
	struct transport_opts o = {
		.name = "test", .channels = &ch, .nchannels = 1, .tick_ms = 60000};
	struct transport_stats st;
	struct transport *t;

	rx_start(&r);
	ch.url = url_of(&r, "/v1/traces");
	t = new_transport(&o);
	atomic_store(&y.held, 3);
	transport__kick(t);
	cr_assert_eq(transport__flush(t, 5000), 0);
	transport__stats(t, 0, &st);
	transport__free(t);
	rx_stop(&r);

	cr_assert_eq(r.n, 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_str_eq(r.req[i].path, "/v1/traces");
		cr_assert(strstr(r.req[i].head, "\r\nContent-Type: application/x-protobuf\r\n"));
	}
	cr_assert_eq(y.done_sent, 3);
	cr_assert_eq(y.done_other, 0);
	cr_assert_eq(st.items_sent, 9);
	cr_assert_eq(st.requests_sent, 3);
	rx_free(&r);
}

Test(transport, retry_after_pauses_the_channel_and_flush_gives_up_at_once)
{
	struct rx r = {.script = {429}, .nscript = 1, .retry_after = "3600"};
	struct transport_channel_opts ch = {.what = "profiles"};
	struct transport_opts o = {.name = "test",
				   .channels = &ch,
				   .nchannels = 1,
				   .backoff_ms = 10,
				   .retry_max_ms = 1000};
	struct transport_stats st;
	struct transport *t;
	uint64_t t0, dt;
	int rc;

	rx_start(&r);
	ch.url = url_of(&r, "/ingest");
	t = new_transport(&o);
	send_copy(t, 0, "first", NULL, NULL);
	while (rx_count(&r) < 1)
		usleep(5000);
	/* Retry-After 3600 s is past retry_max_ms: "first" is given up, and
	 * the channel stays quiet for the hour the receiver asked for. */
	send_copy(t, 0, "second", NULL, NULL);
	send_copy(t, 0, "third", NULL, NULL);
	usleep(1500000);
	cr_assert_eq(rx_count(&r), 1, "sent while the receiver said to wait");
	t0 = now_ns();
	rc = transport__flush(t, 5000);
	dt = now_ns() - t0;
	transport__stats(t, 0, &st);
	transport__free(t);
	rx_stop(&r);

	cr_assert_eq(rc, 0);
	cr_assert_lt(dt, 200000000ull, "the flush waited %" PRIu64 " ns for nothing", dt);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(st.items_given_up, 3);
	cr_assert_eq(st.items_sent, 0);
	cr_assert_eq(st.requests_failed, 1);
	cr_assert_eq(st.requests_queued, 0);
	rx_free(&r);
}

Test(transport, retry_after_within_the_flush_deadline_is_waited_for)
{
	struct rx r = {.script = {503}, .nscript = 1, .retry_after = "1"};
	struct transport_channel_opts ch = {.what = "profiles"};
	struct transport_opts o = {
		.name = "test", .channels = &ch, .nchannels = 1, .backoff_ms = 10};
	struct transport_stats st;
	struct transport *t;

	rx_start(&r);
	ch.url = url_of(&r, "/ingest");
	t = new_transport(&o);
	send_copy(t, 0, "one", NULL, NULL);
	/* The flush must not cut a Retry-After wait short. */
	cr_assert_eq(transport__flush(t, 3000), 0);
	transport__stats(t, 0, &st);
	transport__free(t);
	rx_stop(&r);

	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.req[1].status, 200);
	cr_assert_geq(r.req[1].t_ns - r.req[0].t_ns, 1000000000ull);
	cr_assert_eq(st.items_sent, 1);
	rx_free(&r);
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

Test(transport, huge_replies_are_not_read)
{
	struct rx r = {.reply_bytes = 100u << 20};
	struct transport_channel_opts ch = {.what = "spans"};
	struct transport_opts o = {.name = "test", .channels = &ch, .nchannels = 1};
	struct transport_stats st;
	struct transport *t;
	double c0, c1;

	rx_start(&r);
	ch.url = url_of(&r, "/v1/traces");
	t = new_transport(&o);
	c0 = cpu_s();
	for (int i = 0; i < 5; i++) {
		send_copy(t, 0, "x", NULL, NULL);
		cr_assert_eq(transport__flush(t, 10000), 0);
	}
	c1 = cpu_s();
	transport__stats(t, 0, &st);
	transport__free(t);
	rx_stop(&r);

	cr_log_info("5 requests against 100 MB replies: %.3f s CPU (both sides), %zu reply "
		    "bytes taken",
		    c1 - c0, r.reply_written);
	/* Answered 200: delivered, although the reply was cut. */
	cr_assert_eq(st.items_sent, 5);
	cr_assert_eq(st.requests_sent, 5);
	cr_assert_eq(st.requests_failed, 0);
	/* Socket buffers take a few MiB each time; reading all would be 500 MiB. */
	cr_assert_lt(r.reply_written, (size_t)5 * (16u << 20), "%zu bytes", r.reply_written);
	rx_free(&r);
}

static atomic_bool cancel_now;

static bool cancel_cb(void *ctx)
{
	return atomic_load(&cancel_now);
}

Test(transport, cancel_ends_a_flush_against_a_hung_receiver)
{
	struct rx r = {.delay_ms = 600000};
	struct transport_channel_opts ch = {.what = "spans"};
	struct transport_opts o = {.name = "test",
				   .channels = &ch,
				   .nchannels = 1,
				   .timeout_ms = 600000,
				   .cancel = cancel_cb};
	struct transport_stats st;
	struct transport *t;
	uint64_t t0, dt;
	int rc;

	rx_start(&r);
	ch.url = url_of(&r, "/v1/traces");
	t = new_transport(&o);
	send_copy(t, 0, "stuck", NULL, NULL);
	t0 = now_ns();
	rc = transport__flush(t, 200);
	dt = now_ns() - t0;
	cr_assert_eq(rc, -ETIMEDOUT);
	cr_assert_geq(dt, 200000000ull);
	atomic_store(&cancel_now, true);
	t0 = now_ns();
	rc = transport__flush(t, 600000);
	dt = now_ns() - t0;
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_lt(dt, 100000000ull, "cancel took %" PRIu64 " ns", dt);
	t0 = now_ns();
	transport__stop(t);
	dt = now_ns() - t0;
	cr_assert_lt(dt, 200000000ull, "stop took %" PRIu64 " ns", dt);
	transport__stats(t, 0, &st);
	/* Aborted in flight: taken from the queue, so lost, and counted. */
	cr_assert_eq(st.items_given_up, 1);
	transport__free(t);
	rx_stop(&r);
	rx_free(&r);
}

Test(transport, full_queue_displaces_the_oldest)
{
	struct transport_channel_opts ch = {.what = "metric snapshots", .max_requests = 2};
	struct transport_opts o = {
		.name = "test", .channels = &ch, .nchannels = 1, .backoff_ms = 60000};
	struct transport_stats st;
	struct transport *t;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/metrics", closed_port(SOCK_STREAM));
	ch.url = url;
	t = new_transport(&o);
	for (int i = 0; i < 5; i++)
		send_copy(t, 0, "snapshot", NULL, NULL);
	transport__stats(t, 0, &st);
	cr_assert_eq(st.items_queued_in, 5);
	/* 2 held, at most 1 in flight; the rest displaced, none sent. */
	cr_assert(st.items_displaced == 2 || st.items_displaced == 3, "%" PRIu64,
		  st.items_displaced);
	cr_assert_eq(st.items_sent, 0);
	transport__free(t);
}

Test(transport, bad_options_are_refused)
{
	static const char *const split[] = {"X-A: 1\r\nX-B: 2", NULL};
	static const char *const noname[] = {": v", NULL};
	struct transport_channel_opts ch = {.url = "http://127.0.0.1:1/"};
	struct transport_channel_opts nourl = {.what = "x"};
	struct transport_opts o = {.name = "test", .channels = &ch, .nchannels = 1};
	struct transport *t = NULL;

	o.headers = split;
	cr_assert_eq(transport__new(&o, &t), -EINVAL);
	cr_assert_null(t);
	o.headers = noname;
	cr_assert_eq(transport__new(&o, &t), -EINVAL);
	o.headers = NULL;
	o.channels = &nourl;
	cr_assert_eq(transport__new(&o, &t), -EINVAL);
	cr_assert_null(t);
	transport__free(NULL);
}
