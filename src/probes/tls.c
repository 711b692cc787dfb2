// SPDX-License-Identifier: MIT
/*
 * The tls probe's userspace half. The ring callback only queues; tick
 * hands each record to the LLM decoder (payload, gaps, closes), keeps
 * the request stacks until their call completes, and follows processes
 * as they exec (a new program may carry its own TLS library). Completed
 * calls go to the per-model table, the metrics waiting for the next
 * publish, the token profiles and the span sink.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "base/log.h"
#include "base/outfile.h"
#include "base/strbuf.h"
#include "decode/decode.h"
#include "model/genai_names.h"
#include "model/llm_agg.h"
#include "model/metrics.h"
#include "model/profile.h"
#include "model/spans.h"
#include "probes/bpf_stats.h"
#include "probes/rqueue.h"
#include "probes/stacks.h"
#include "probes/tls.h"
#include "probes/tls_attach.h"
#include "probes/uprobe_multi.h"
#include "symbols/symbolize.h"
#include "symbols/unwind.h"
#include "tls.skel.h"

#define NS_PER_S 1000000000ull
/* Bytes of records queued between two ticks; a full queue pauses the ring, it loses nothing. */
#define QUEUE_BYTES (8u << 20)
/* Request stacks waiting for their call to complete (oldest dropped, counted). */
#define STASH_SLOTS 256
/* Calls' metrics waiting for the next publish (1/s); beyond, dropped and counted. */
#define PENDING_METRICS_MAX 65536
/* Rescans of a new program's mappings after its exec: libraries load late. */
static const uint64_t rescan_after_ns[] = {200000000ull, 2 * NS_PER_S};
#define NRESCANS (sizeof(rescan_after_ns) / sizeof(rescan_after_ns[0]))

#define M_CALLS "sonde_llm_calls_total"
#define M_ERRORS "sonde_llm_errors_total"

struct stash {
	uint32_t pid, tid;
	uint64_t ts;
	struct sonde_sample *s; /* NULL: free slot; the unwound frames, no snapshot */
};

/* Processes whose maps the symbolizer read lately (hashed by PID, a collision re-reads). */
#define PREPARED_SLOTS 256
#define PREPARE_EVERY_NS (2 * NS_PER_S)
struct prepared {
	uint32_t pid;
	uint64_t at_ns;
};

/* A target's own labels on its calls' series (the agent's service_name...), at most. */
#define TARGET_LABELS 5
struct tlabel {
	char key[32];
	char value[128];
};

/* One call's contribution to the GenAI metrics, until publish. */
struct pmetric {
	struct tlabel tl[TARGET_LABELS];
	unsigned int ntl;
	const char *provider, *operation;
	char request_model[LLM_NAME_MAX], response_model[LLM_NAME_MAX];
	char server[LLM_ADDR_MAX], error[LLM_TYPE_MAX];
	uint16_t status;
	int64_t in, out;
	uint64_t duration_ns, ttfc_ns;
	uint32_t gaps[GENAI_DURATION_NBUCKETS + 1];
	uint32_t ngaps;
	uint64_t gap_sum_ns;
};

struct rescan {
	pid_t pid;
	pid_t link_pid;
	unsigned int step;
	uint64_t due_ns;
};

/* A target named on the command line or launched (and what it execs). */
struct tproc {
	pid_t pid;
	char comm[SONDE_COMM_LEN + 1];
	uint64_t calls;
	bool tls;      /* uses a probed TLS file */
	char why[384]; /* why no TLS could be seen, from its last scan */
};

struct tls {
	struct probe *p;
	const struct tls_opts *o;
	bool plain; /* plaintext sockets captured (asked, and the kernel can) */
	struct tls_bpf *skel;
	struct tls_attach *att;
	struct bpf_link **tps;
	size_t ntps;
	struct rqueue q;
	struct llm_decoder *dec;
	struct llm_agg *agg;
	bool multi;
	bool session; /* ssl_*_session programs: uprobe sessions (with multi) */
	size_t ring;
	uint64_t now; /* CLOCK_MONOTONIC at this tick */
	uint64_t next_expire_ns;

	/* Tokens by the stack that sent the request (-o). */
	int t_in, t_out; /* the profile's sample types of input and output tokens */
	struct stash stash[STASH_SLOTS];
	unsigned int stash_next;
	struct prepared prepared[PREPARED_SLOTS];
	uint64_t stacks_matched, stacks_missing, stacks_evicted;

	struct pmetric *pm;
	size_t npm, pm_cap;
	uint64_t pm_dropped;

	struct rescan *rescans;
	size_t nrescans;
	struct tproc *procs;
	size_t nprocs;
	/* Dynamic targets that left, their connections ended at @due_ns. */
	struct rescan *closing;
	size_t nclosing;

	uint64_t calls, errors, bad_records;
	uint64_t spans_sent, spans_written;
	uint64_t id_state; /* span and trace ids */
	int span_err;	   /* the span sink failed: the run stops */
	double tok_bounds[GENAI_TOKEN_NBUCKETS], dur_bounds[GENAI_DURATION_NBUCKETS];
};

void tls_opts_default(struct tls_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ring_kib = 16384;
	o->max_connections = 4096;
	o->max_threads = 16384;
	o->plaintext = true;
	o->dwarf = true;
	o->stack_size = 16384;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct tls *t = ctx;

	if (len < sizeof(__u32)) {
		t->bad_records++;
		return 0;
	}
	return rqueue__push(&t->q, data, len);
}

/* ---- targets ---- */

static struct tproc *proc_of(struct tls *t, pid_t pid, bool add)
{
	struct tproc *grown;

	for (size_t i = 0; i < t->nprocs; i++)
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	if (!add)
		return NULL;
	grown = realloc(t->procs, (t->nprocs + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	t->procs = grown;
	memset(&grown[t->nprocs], 0, sizeof(*grown));
	grown[t->nprocs].pid = pid;
	return &grown[t->nprocs++];
}

/* Look at @pid's files now, and again later (libraries load after exec). */
static int scan_pid(struct tls *t, pid_t pid, pid_t link_pid, bool schedule)
{
	const struct probe_targets *tg = &t->p->host->targets;
	struct tproc *tp = tg->all ? NULL : proc_of(t, pid, true);
	struct rescan *grown;
	int n;

	if (tg->dynamic)
		n = tls_attach__pid_shared(t->att, pid);
	else
		n = tls_attach__pid(t->att, pid, link_pid,
				    tg->all	   ? TLS_REPORT_NONE
				    : tg->launched ? TLS_REPORT_FOUND
						   : TLS_REPORT_ALL);
	if (n < 0)
		return n;
	if (tp) {
		probe_read_comm(pid, tp->comm, sizeof(tp->comm));
		tls_attach__why_none(t->att, pid, tp->why, sizeof(tp->why));
		tp->tls |= n > 0;
	}
	if (!schedule)
		return 0;
	grown = realloc(t->rescans, (t->nrescans + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	t->rescans = grown;
	grown[t->nrescans++] = (struct rescan){pid, link_pid, 0, t->now + rescan_after_ns[0]};
	return 0;
}

static int run_rescans(struct tls *t)
{
	size_t j = 0;
	int err = 0;

	for (size_t i = 0; i < t->nrescans; i++) {
		struct rescan *r = &t->rescans[i];

		if (!err && r->due_ns <= t->now) {
			err = scan_pid(t, r->pid, r->link_pid, false);
			if (++r->step == NRESCANS || kill(r->pid, 0))
				continue;
			r->due_ns =
				t->now + rescan_after_ns[r->step] - rescan_after_ns[r->step - 1];
		}
		t->rescans[j++] = *r;
	}
	t->nrescans = j;
	return err;
}

/* Drop @pid's entries of @v (rescans, or connections to end). */
static void drop_pid(struct rescan *v, size_t *n, pid_t pid)
{
	size_t j = 0;

	for (size_t i = 0; i < *n; i++)
		if (v[i].pid != pid)
			v[j++] = v[i];
	*n = j;
}

/* A process exec'd: with -a or a followed command, its program may carry TLS. */
static int on_exec(struct tls *t, pid_t pid)
{
	const struct probe_targets *tg = &t->p->host->targets;

	/* -p targets are probed with their own pid; followed ones with every process's. */
	return scan_pid(t, pid, tg->all || tg->launched ? 0 : pid, true);
}

/* ---- request stacks ---- */

/*
 * Whether @pid's maps were read for the symbolizer in the last
 * PREPARE_EVERY_NS (noting it now if not): a library loaded since is
 * seen at the next request.
 */
static bool proc_prepared(struct tls *t, uint32_t pid)
{
	struct prepared *p = &t->prepared[pid % PREPARED_SLOTS];

	if (p->pid == pid && t->now - p->at_ns < PREPARE_EVERY_NS)
		return true;
	p->pid = pid;
	p->at_ns = t->now;
	return false;
}

/*
 * The user stack of @s, unwound now (DWARF mode): the process may be gone
 * when its call completes, and its maps with it. Returns the frame count
 * written to @ips, or 0 to keep the frame-pointer stack.
 */
static unsigned int unwind_now(struct tls *t, const struct sonde_sample *s, uint64_t *ips)
{
	struct unwinder *unw = stacks__unwinder(t->p->host->stacks);
	struct unwind_input in = {
		.ip = s->user_ip,
		.sp = s->user_sp,
		.bp = s->user_bp,
		.stack = s->ips + s->ustack_nr,
		.stack_len = s->stack_len,
		.at_int3 = s->flags & SONDE_SAMPLE_AT_INT3,
	};
	struct unwind_result res;
	int n;

	if (!unw || !s->user_ip || !s->stack_len)
		return 0;
	n = unwinder__unwind(unw, (pid_t)s->pid, &in, ips, SONDE_MAX_STACK, &res);
	return n > 0 ? (unsigned int)n : 0;
}

/*
 * Keep a request's stack until its call completes, as a frame list
 * (unwound now; no snapshot to keep), with the process's maps read now
 * so its frames can still be named after it exits.
 */
static void stash_put(struct tls *t, const struct sonde_sample *s, size_t len)
{
	struct stash *slot = &t->stash[t->stash_next];
	uint64_t ips[SONDE_MAX_STACK];
	struct sonde_sample *copy;
	unsigned int n;

	if (!stacks__valid(t->p->host->stacks, s, len) || s->kstack_nr)
		return;
	n = unwind_now(t, s, ips);
	if (!n) {
		n = s->ustack_nr;
		memcpy(ips, s->ips, n * sizeof(*ips));
	}
	copy = malloc(SONDE_SAMPLE_SIZE(n, 0));
	if (!copy)
		return;
	memcpy(copy, s, SONDE_SAMPLE_HDR_SIZE);
	memcpy(copy->ips, ips, n * sizeof(*ips));
	copy->ustack_nr = n;
	copy->stack_len = 0;
	copy->user_ip = copy->user_sp = copy->user_bp = 0;
	if (!proc_prepared(t, s->pid))
		symbolizer__prepare_pid(t->p->host->sym, (pid_t)s->pid);
	if (slot->s)
		t->stacks_evicted++;
	free(slot->s);
	*slot = (struct stash){s->pid, s->tid, s->time_ns, copy};
	t->stash_next = (t->stash_next + 1) % STASH_SLOTS;
}

static const struct sonde_sample *stash_find(struct tls *t, uint32_t pid, uint32_t tid, uint64_t ts)
{
	for (unsigned int i = 0; i < STASH_SLOTS; i++) {
		const struct stash *s = &t->stash[i];

		if (s->s && s->pid == pid && s->tid == tid && s->ts == ts)
			return s->s;
	}
	return NULL;
}

static void stash_drop_pid(struct tls *t, uint32_t pid)
{
	for (unsigned int i = 0; i < STASH_SLOTS; i++) {
		if (t->stash[i].s && t->stash[i].pid == pid) {
			free(t->stash[i].s);
			t->stash[i].s = NULL;
		}
	}
}

/* The call's tokens on the stack that wrote its request. */
static void add_stack(struct tls *t, const struct llm_call *c)
{
	const struct sonde_sample *s = stash_find(t, c->pid, c->tid, c->start_ns);
	int err = 0;

	if (!s) {
		t->stacks_missing++;
		return;
	}
	t->stacks_matched++;
	if (c->input_tokens <= 0 && c->output_tokens <= 0)
		return;
	/* One stack, both types. */
	{
		uint32_t types[2] = {(uint32_t)t->t_in, (uint32_t)t->t_out};
		uint64_t values[2] = {c->input_tokens > 0 ? (uint64_t)c->input_tokens : 0,
				      c->output_tokens > 0 ? (uint64_t)c->output_tokens : 0};
		int stack;

		err = stacks__add_values(t->p->host->stacks, s, 2, types, values, &stack);
	}
	if (err < 0)
		log_debug("llm: failed to add a request stack: %s", strerror(-err));
}

/* ---- completed calls ---- */

/* The labels of the call's process, copied: it may be gone by the publish. */
static void keep_target_labels(struct tls *t, pid_t pid, struct pmetric *m)
{
	const struct probe_host *h = t->p->host;
	struct metric_label l[TARGET_LABELS];
	unsigned int n =
		h->target_labels ? h->target_labels(h->labels_ctx, pid, l, TARGET_LABELS) : 0;

	for (unsigned int i = 0; i < n; i++) {
		snprintf(m->tl[m->ntl].key, sizeof(m->tl[m->ntl].key), "%s", l[i].key);
		snprintf(m->tl[m->ntl].value, sizeof(m->tl[m->ntl].value), "%s", l[i].value);
		m->ntl++;
	}
}

static void keep_metrics(struct tls *t, const struct llm_call *c)
{
	const char *prov = llm_provider_name(c->provider), *op = llm_operation_name(c->operation);
	struct pmetric *m;
	char ebuf[LLM_TYPE_MAX];
	const char *err = llm_call_error_type(c, ebuf, sizeof(ebuf));

	if (t->npm == PENDING_METRICS_MAX) {
		t->pm_dropped++;
		return;
	}
	if (t->npm == t->pm_cap) {
		size_t ncap = t->pm_cap ? 2 * t->pm_cap : 64;
		struct pmetric *grown = realloc(t->pm, ncap * sizeof(*grown));

		if (!grown) {
			t->pm_dropped++;
			return;
		}
		t->pm = grown;
		t->pm_cap = ncap;
	}
	m = &t->pm[t->npm++];
	memset(m, 0, sizeof(*m));
	keep_target_labels(t, (pid_t)c->pid, m);
	m->provider = prov ? prov : "";
	m->operation = op ? op : "";
	memcpy(m->request_model, c->request_model, sizeof(m->request_model));
	memcpy(m->response_model, c->response_model, sizeof(m->response_model));
	memcpy(m->server, c->server_address, sizeof(m->server));
	if (err)
		snprintf(m->error, sizeof(m->error), "%s", err);
	m->status = c->http_status;
	m->in = c->input_tokens;
	m->out = c->output_tokens;
	m->duration_ns = c->http_status ? llm_call_duration_ns(c) : 0;
	m->ttfc_ns = c->stream ? llm_call_ttfc_ns(c) : 0;
	memcpy(m->gaps, c->chunk_gap_buckets, sizeof(m->gaps));
	m->ngaps = c->chunks > 1 ? c->chunks - 1 : 0;
	m->gap_sum_ns = c->chunk_gap_sum_ns;
}

/* Random ids: a splitmix64 stream seeded from getrandom (never 0: OTLP's "none"). */
static uint64_t next_id(struct tls *t)
{
	uint64_t x;

	do {
		x = (t->id_state += 0x9e3779b97f4a7c15ull);
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
		x ^= x >> 31;
	} while (!x);
	return x;
}

static unsigned int attr_str(struct span_attr *a, unsigned int n, const char *key, const char *v)
{
	if (v && *v)
		a[n++] = (struct span_attr){.key = key, .type = SPAN_ATTR_STRING, .str = v};
	return n;
}

static unsigned int attr_int(struct span_attr *a, unsigned int n, const char *key, int64_t v)
{
	a[n++] = (struct span_attr){.key = key, .type = SPAN_ATTR_INT, .i = v};
	return n;
}

/*
 * The call as an OpenTelemetry GenAI client span: "{operation} {model}",
 * kind CLIENT, its attributes in the conventions' names.
 */
static int send_span(struct tls *t, const struct llm_call *c)
{
	const struct probe_host *h = t->p->host;
	const char *op = llm_operation_name(c->operation);
	const char *model = c->request_model[0] ? c->request_model : c->response_model;
	const char *reasons[LLM_FINISH_MAX];
	struct span_attr a[SPAN_MAX_ATTRS];
	char name[LLM_NAME_MAX + 32], ebuf[LLM_TYPE_MAX];
	const char *err = llm_call_error_type(c, ebuf, sizeof(ebuf));
	unsigned int n = 0;
	struct span_record r = {
		.trace_id_hi = next_id(t),
		.trace_id_lo = next_id(t),
		.span_id = next_id(t),
		.start_unix_ns = c->start_ns + h->mono_to_real,
		.end_unix_ns = (c->end_ns > c->start_ns ? c->end_ns : c->start_ns) + h->mono_to_real,
		.pid = c->pid,
		.tid = c->tid,
		.name = name,
		.kind = SPAN_KIND_CLIENT,
		.attrs = a,
	};
	int ret;

	snprintf(name, sizeof(name), "%s%s%s", op ? op : "llm", model[0] ? " " : "", model);
	n = attr_str(a, n, GENAI_OPERATION_NAME, op);
	n = attr_str(a, n, GENAI_PROVIDER_NAME, llm_provider_name(c->provider));
	n = attr_str(a, n, GENAI_REQUEST_MODEL, c->request_model);
	n = attr_str(a, n, GENAI_RESPONSE_MODEL, c->response_model);
	n = attr_str(a, n, GENAI_RESPONSE_ID, c->response_id);
	if (c->n_finish_reasons) {
		for (uint32_t i = 0; i < c->n_finish_reasons; i++)
			reasons[i] = c->finish_reasons[i];
		a[n++] = (struct span_attr){.key = GENAI_RESPONSE_FINISH_REASONS,
					    .type = SPAN_ATTR_STRINGS,
					    .strs = reasons,
					    .nstrs = c->n_finish_reasons};
	}
	if (c->input_tokens != LLM_TOKENS_UNSET)
		n = attr_int(a, n, GENAI_USAGE_INPUT_TOKENS, c->input_tokens);
	if (c->output_tokens != LLM_TOKENS_UNSET)
		n = attr_int(a, n, GENAI_USAGE_OUTPUT_TOKENS, c->output_tokens);
	if (c->cache_read_tokens != LLM_TOKENS_UNSET)
		n = attr_int(a, n, GENAI_USAGE_CACHE_READ_INPUT_TOKENS, c->cache_read_tokens);
	if (c->cache_creation_tokens != LLM_TOKENS_UNSET)
		n = attr_int(a, n, GENAI_USAGE_CACHE_CREATION_INPUT_TOKENS,
			     c->cache_creation_tokens);
	if (c->reasoning_tokens != LLM_TOKENS_UNSET)
		n = attr_int(a, n, GENAI_USAGE_REASONING_OUTPUT_TOKENS, c->reasoning_tokens);
	if (c->stream && c->first_chunk_ns)
		a[n++] = (struct span_attr){.key = GENAI_RESPONSE_TIME_TO_FIRST_CHUNK,
					    .type = SPAN_ATTR_DOUBLE,
					    .d = (double)llm_call_ttfc_ns(c) / 1e9};
	n = attr_str(a, n, GENAI_OPENAI_API_TYPE, llm_openai_api_type(c->api));
	n = attr_str(a, n, GENAI_SERVER_ADDRESS, c->server_address);
	if (c->server_port)
		n = attr_int(a, n, GENAI_SERVER_PORT, c->server_port);
	if (c->http_status)
		n = attr_int(a, n, GENAI_HTTP_STATUS_CODE, c->http_status);
	n = attr_str(a, n, GENAI_ERROR_TYPE, err);
	n = attr_str(a, n, GENAI_INPUT_MESSAGES, c->input_messages);
	n = attr_str(a, n, GENAI_OUTPUT_MESSAGES, c->output_messages);
	if (c->unparsed)
		n = attr_int(a, n, "sonde.llm.unparsed", c->unparsed);
	if (c->gap_bytes)
		n = attr_int(a, n, "sonde.llm.lost_bytes", (int64_t)c->gap_bytes);
	r.nattrs = n;
	ret = h->span(h->span_ctx, &r);
	if (ret < 0)
		return ret;
	t->spans_sent++;
	t->spans_written += (uint64_t)ret;
	return 0;
}

static void on_call(const struct llm_call *c, void *ctx)
{
	struct tls *t = ctx;
	char ebuf[LLM_TYPE_MAX];
	struct tproc *tp = proc_of(t, (pid_t)c->pid, false);

	t->calls++;
	if (llm_call_error_type(c, ebuf, sizeof(ebuf)))
		t->errors++;
	if (tp)
		tp->calls++;
	if (llm_agg__add(t->agg, c))
		log_debug("llm: failed to count a call: %s", strerror(ENOMEM));
	if (t->p->host->metrics)
		keep_metrics(t, c);
	if (t->o->stacks)
		add_stack(t, c);
	if (t->p->host->span && !t->span_err)
		t->span_err = send_span(t, c);
}

/* ---- records ---- */

static void on_data(struct tls *t, const struct sonde_tls_hdr *h, size_t len)
{
	struct llm_chunk k = {
		.pid = h->pid,
		.tid = h->tid,
		.conn_id = h->conn,
		.ts_ns = h->ts_ns,
		.dir = h->dir ? LLM_DIR_READ : LLM_DIR_WRITE,
	};

	if (len < sizeof(*h) || h->len > len - sizeof(*h)) {
		t->bad_records++;
		return;
	}
	if (h->gap)
		llm_decoder__gap(t->dec, &k, h->gap);
	llm_decoder__data(t->dec, &k, (const char *)(h + 1), h->len);
}

static void on_close(struct tls *t, const struct sonde_tls_close *e)
{
	struct llm_chunk k = {.pid = e->pid, .tid = e->tid, .conn_id = e->conn, .ts_ns = e->ts_ns};

	for (int dir = 0; dir < 2; dir++) {
		if (!e->gap[dir])
			continue;
		k.dir = dir ? LLM_DIR_READ : LLM_DIR_WRITE;
		llm_decoder__gap(t->dec, &k, e->gap[dir]);
	}
	llm_decoder__close(t->dec, &k);
}

static int on_proc(struct tls *t, const struct sonde_tls_proc *e)
{
	if (e->event == SONDE_TLS_EXIT) {
		llm_decoder__close_pid(t->dec, e->pid, e->ts_ns);
		stash_drop_pid(t, e->pid);
		return 0;
	}
	return on_exec(t, (pid_t)e->pid);
}

/* ---- dynamic targets (the agent) ---- */

/*
 * A target that left while still running has its connections ended a
 * little later, after the bytes it sent before were decoded; one that
 * exited has them ended by its exit record, in ring order after its last
 * bytes (the talkers map forgot it then).
 */
#define CLOSE_AFTER_NS NS_PER_S

static bool talking(struct tls *t, pid_t pid)
{
	__u32 key = (__u32)pid, v;

	return !bpf_map__lookup_elem(t->skel->maps.talkers, &key, sizeof(key), &v, sizeof(v), 0);
}

static void run_closing(struct tls *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->nclosing; i++) {
		const struct rescan *c = &t->closing[i];

		if (c->due_ns > t->now) {
			t->closing[j++] = *c;
			continue;
		}
		if (talking(t, c->pid)) {
			llm_decoder__close_pid(t->dec, (uint32_t)c->pid, t->now);
			stash_drop_pid(t, (uint32_t)c->pid);
		}
	}
	t->nclosing = j;
}

/* A new target, or one that exec'd: its TLS files now and after its libraries load. */
static int tls_add_pid(struct probe *p, pid_t pid)
{
	struct tls *t = p->priv;
	int err;

	t->now = mono_ns();
	drop_pid(t->closing, &t->nclosing, pid);
	drop_pid(t->rescans, &t->nrescans, pid);
	err = scan_pid(t, pid, 0, true);
	if (err < 0)
		log_warn("llm: PID %d: failed to attach its TLS uprobes (%s): its plaintext HTTP "
			 "only",
			 pid, strerror(-err));
	return err < 0 ? err : 0;
}

static void tls_remove_pid(struct probe *p, pid_t pid)
{
	struct tls *t = p->priv;
	struct rescan *grown;

	tls_attach__release(t->att, pid);
	drop_pid(t->rescans, &t->nrescans, pid);
	for (size_t i = 0; i < t->nprocs; i++) {
		if (t->procs[i].pid == pid) {
			t->procs[i] = t->procs[--t->nprocs];
			break;
		}
	}
	/* Exited (its exit record ends its connections), or never had one. */
	if (!talking(t, pid))
		return;
	grown = realloc(t->closing, (t->nclosing + 1) * sizeof(*grown));
	if (!grown) {
		llm_decoder__close_pid(t->dec, (uint32_t)pid, mono_ns());
		stash_drop_pid(t, (uint32_t)pid);
		return;
	}
	t->closing = grown;
	t->closing[t->nclosing++] =
		(struct rescan){.pid = pid, .due_ns = mono_ns() + CLOSE_AFTER_NS};
}

static int tls_tick(struct probe *p)
{
	struct tls *t = p->priv;
	const void *rec;
	size_t off, len;
	int err = 0;

	t->now = mono_ns();
	rqueue_for_each(&t->q, off, rec, len)
	{
		__u32 kind = *(const __u32 *)rec;

		switch (kind) {
		case SONDE_EV_TLS_DATA:
			on_data(t, rec, len);
			break;
		case SONDE_EV_TLS_CLOSE:
			if (len >= sizeof(struct sonde_tls_close))
				on_close(t, rec);
			else
				t->bad_records++;
			break;
		case SONDE_EV_TLS_PROC:
			if (len >= sizeof(struct sonde_tls_proc))
				err = on_proc(t, rec);
			else
				t->bad_records++;
			break;
		case SONDE_EV_SAMPLE:
			if (t->o->stacks)
				stash_put(t, rec, len);
			break;
		default:
			t->bad_records++;
		}
		if (err)
			break;
	}
	rqueue__clear(&t->q);
	if (!err)
		err = t->span_err;
	if (!err)
		err = run_rescans(t);
	run_closing(t);
	if (t->now >= t->next_expire_ns) {
		llm_decoder__expire(t->dec, t->now);
		t->next_expire_ns = t->now + NS_PER_S;
	}
	return err == -EINTR ? 0 : err;
}

/* ---- open ---- */

static int decoder_new(struct tls *t)
{
	const struct tls_opts *o = t->o;
	struct llm_decoder_opts d = {
		.capture_content = o->capture_content,
		.redact_patterns = o->redact,
		.n_redact_patterns = o->nredact,
		.max_content_bytes = o->content_max,
		.max_connections = o->max_connections,
	};

	t->dec = llm_decoder__new(&d, on_call, t);
	if (!t->dec) {
		int err = -errno;

		/* The pattern is the user's own text: it may be named. */
		if (err == -EINVAL)
			log_err("llm: failed to compile a --redact pattern: not a valid POSIX "
				"extended regular expression");
		else
			log_err("llm: failed to create the decoder: %s", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * The socket layer's tracepoints of the plaintext capture came with Linux
 * 6.3: on an older kernel plaintext HTTP is left out, and said so.
 */
static bool plaintext_possible(void)
{
	static const char *const tps[] = {"sock_send_length", "sock_recv_length",
					  "inet_sock_set_state"};
	/* One parse of the kernel's BTF for the three (each lookup by libbpf parses it again). */
	struct btf *vm = btf__load_vmlinux_btf();
	bool ok = true;

	for (size_t i = 0; ok && i < sizeof(tps) / sizeof(tps[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "btf_trace_%s", tps[i]);
		if (!vm || btf__find_by_name_kind(vm, name, BTF_KIND_TYPEDEF) < 0) {
			log_warn("llm: this kernel has no %s tracepoint (Linux 6.3 and later "
				 "have it): plaintext HTTP is not seen, TLS is",
				 tps[i]);
			ok = false;
		}
	}
	btf__free(vm);
	return ok;
}

static void set_autoload(struct tls *t)
{
	struct tls_bpf *s = t->skel;
	bool plain = t->plain = t->o->plaintext && plaintext_possible();

	bpf_program__set_autoload(s->progs.tls_sock_send, plain);
	bpf_program__set_autoload(s->progs.tls_sock_recv, plain);
	bpf_program__set_autoload(s->progs.tls_sock_state, plain);
	bpf_program__set_autoload(s->progs.ssl_write_session, t->session);
	bpf_program__set_autoload(s->progs.ssl_read_session, t->session);
	bpf_program__set_autoload(s->progs.ssl_write_entry, !t->session);
	bpf_program__set_autoload(s->progs.ssl_write_return, !t->session);
	bpf_program__set_autoload(s->progs.ssl_read_entry, !t->session);
	bpf_program__set_autoload(s->progs.ssl_read_return, !t->session);
	/* The agent's targets come through add_pid, at their exec too. */
	bpf_program__set_autoload(s->progs.tls_exec, !t->p->host->targets.dynamic);
}

static int load_bpf(struct tls *t)
{
	const struct tls_opts *o = t->o;
	const struct probe_host *h = t->p->host;
	int ncpu = libbpf_num_possible_cpus(), err;

	t->skel = tls_bpf__open();
	if (!t->skel) {
		err = -errno;
		log_err("llm: failed to open BPF object: %s", strerror(errno));
		return err;
	}
	t->skel->rodata->pidns_dev = h->pidns.dev;
	t->skel->rodata->pidns_ino = h->pidns.ino;
	t->skel->rodata->target_all = h->targets.all;
	t->skel->rodata->self_tgid = h->pidns.ino ? 0 : (__u32)getpid();
	t->skel->rodata->capture_stacks = o->stacks;
	t->skel->rodata->stack_size = o->stacks && o->dwarf ? o->stack_size : 0;
	t->ring = (size_t)o->ring_kib * 1024;
	t->skel->rodata->wakeup_bytes = t->ring / 4;
	bpf_map__set_max_entries(t->skel->maps.events, t->ring);
	err = probe_reuse_targets(t->p->host, t->skel->maps.targets, "llm");
	if (err)
		return err;
	bpf_map__set_max_entries(t->skel->maps.talkers, o->max_connections);
	bpf_map__set_max_entries(t->skel->maps.conns, o->max_connections);
	bpf_map__set_max_entries(t->skel->maps.ssl_writes, o->max_threads);
	bpf_map__set_max_entries(t->skel->maps.ssl_reads, o->max_threads);
	bpf_map__set_max_entries(t->skel->maps.go_reads, o->max_threads);
	bpf_map__set_max_entries(t->skel->maps.scratch, o->stacks && ncpu > 0 ? ncpu : 1);
	set_autoload(t);
	if (t->multi) {
		uprobe_multi_prepare(t->skel->progs.ssl_write_entry, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(t->skel->progs.ssl_write_return, UPROBE_MULTI_RETURN);
		uprobe_multi_prepare(t->skel->progs.ssl_read_entry, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(t->skel->progs.ssl_read_return, UPROBE_MULTI_RETURN);
		uprobe_multi_prepare(t->skel->progs.ssl_write_session, UPROBE_MULTI_SESSION);
		uprobe_multi_prepare(t->skel->progs.ssl_read_session, UPROBE_MULTI_SESSION);
		uprobe_multi_prepare(t->skel->progs.ssl_close, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(t->skel->progs.go_tls_write, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(t->skel->progs.go_tls_read_entry, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(t->skel->progs.go_tls_read_return, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(t->skel->progs.go_tls_read_copy, UPROBE_MULTI_ENTRY);
		uprobe_multi_prepare(t->skel->progs.go_tls_close, UPROBE_MULTI_ENTRY);
	}
	err = tls_bpf__load(t->skel);
	if (err && t->multi) {
		/* Sessions are Linux 6.13, uprobe_multi links 6.6: one step down each time. */
		log_info("llm: %s not supported (%s): %s",
			 t->session ? "uprobe sessions" : "uprobe_multi links", strerror(-err),
			 t->session ? "entry and return probes" : "attaching one by one");
		tls_bpf__destroy(t->skel);
		t->skel = NULL;
		if (t->session)
			t->session = false;
		else
			t->multi = false;
		return load_bpf(t);
	}
	if (err) {
		log_err("llm: failed to load BPF programs: %s (is the kernel built with BTF, "
			"uprobes and BTF tracepoints? run with -vv for details)",
			strerror(-err));
		return err;
	}
	return 0;
}

/* The targets named on the command line (the session's target map holds them). */
static int add_targets(struct tls *t)
{
	const struct probe_targets *tg = &t->p->host->targets;

	for (int i = 0; i < tg->npids; i++) {
		if (!proc_of(t, tg->pids[i], true))
			return -ENOMEM;
		if (!tg->launched && t->o->stacks)
			symbolizer__prepare_pid(t->p->host->sym, tg->pids[i]);
	}
	return 0;
}

static int tls_open(struct probe *p)
{
	struct tls *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	p->priv = t;
	t->p = p;
	t->o = p->opts;
	if (getrandom(&t->id_state, sizeof(t->id_state), 0) != sizeof(t->id_state))
		t->id_state = mono_ns() ^ ((uint64_t)getpid() << 32);
	for (int i = 0; i < GENAI_TOKEN_NBUCKETS; i++)
		t->tok_bounds[i] = (double[]){GENAI_TOKEN_BUCKETS}[i];
	for (int i = 0; i < GENAI_DURATION_NBUCKETS; i++)
		t->dur_bounds[i] = (double[]){GENAI_DURATION_BUCKETS}[i];
	err = rqueue__init(&t->q, QUEUE_BYTES, sizeof(struct sonde_sample));
	if (err) {
		log_err("llm: failed to allocate the record queue: %s", strerror(-err));
		return err;
	}
	t->agg = llm_agg__new();
	if (!t->agg)
		return -ENOMEM;
	err = decoder_new(t);
	if (err)
		return err;
	if (t->o->stacks) {
		if (!p->host->stacks)
			return -EINVAL;
		t->t_in = profile__add_type(p->host->prof, "input_tokens", "tokens");
		t->t_out = profile__add_type(p->host->prof, "output_tokens", "tokens");
		if (t->t_in < 0 || t->t_out < 0) {
			log_err("llm: failed to add the token sample types: too many types");
			return -E2BIG;
		}
	}
	t->multi = true;
	t->session = true;
	err = load_bpf(t);
	if (err)
		return err;
	err = add_targets(t);
	if (err)
		return err;
	return probe_add_ring(p->host, t->skel->maps.events, on_record, t, "llm");
}

/* ---- attach ---- */

static int attach_tracepoints(struct tls *t)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, t->skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);
		struct bpf_link **grown, *l;

		if (!bpf_program__autoload(prog) || !strncmp(sec, "uprobe", 6) ||
		    !strncmp(sec, "uretprobe", 9))
			continue;
		l = bpf_program__attach(prog);
		if (!l) {
			int err = -errno;

			log_err("llm: failed to attach %s: %s", sec, strerror(errno));
			return err;
		}
		grown = realloc(t->tps, (t->ntps + 1) * sizeof(*grown));
		if (!grown) {
			bpf_link__destroy(l);
			return -ENOMEM;
		}
		t->tps = grown;
		t->tps[t->ntps++] = l;
	}
	return 0;
}

static int attach_uprobes(struct tls *t)
{
	const struct probe_targets *tg = &t->p->host->targets;
	char desc[4096];
	int err = 0;

	/* The agent's targets come later, one add_pid each. */
	if (tg->dynamic)
		return 0;
	if (tg->all) {
		err = tls_attach__system(t->att, 0);
		if (err >= 0)
			err = tls_attach__all(t->att);
		if (err < 0)
			return err;
		log_summary("llm: -a: uprobes in %zu TLS file%s, for every process that maps them "
			    "(new ones included); each new program is examined as it execs",
			    tls_attach__nfiles(t->att), plural_s(tls_attach__nfiles(t->att)));
		for (size_t i = 0; i < tls_attach__nfiles(t->att); i++)
			log_summary("llm:   %s",
				    tls_attach__describe(t->att, i, desc, sizeof(desc)));
		return 0;
	}
	if (tg->launched) {
		/* Not exec'd yet: its program, and the libssl it or a child may load. */
		if (tg->exe)
			err = tls_attach__path(t->att, tg->exe, 0);
		if (err >= 0)
			err = tls_attach__system(t->att, 0);
		return err < 0 ? err : 0;
	}
	for (int i = 0; i < tg->npids && err >= 0; i++) {
		err = scan_pid(t, tg->pids[i], tg->pids[i], false);
		/* A library it loads later (dlopen) is the system's libssl, most likely. */
		if (err >= 0)
			err = tls_attach__system(t->att, tg->pids[i]);
	}
	return err < 0 ? err : 0;
}

static int tls_attach(struct probe *p)
{
	struct tls *t = p->priv;
	struct tls_progs progs = {
		.entry = {t->session ? t->skel->progs.ssl_write_session
				     : t->skel->progs.ssl_write_entry,
			  t->session ? t->skel->progs.ssl_read_session
				     : t->skel->progs.ssl_read_entry,
			  t->skel->progs.ssl_close, t->skel->progs.go_tls_write,
			  t->skel->progs.go_tls_read_entry, t->skel->progs.go_tls_read_return,
			  t->skel->progs.go_tls_read_copy, t->skel->progs.go_tls_close},
		.ret = {t->skel->progs.ssl_write_return, t->skel->progs.ssl_read_return},
		.multi = t->multi,
		.session = t->session,
		.stopping = p->host->stopping,
	};
	int err;

	t->att = tls_attach__new(&progs);
	if (!t->att)
		return -ENOMEM;
	err = attach_tracepoints(t);
	if (err)
		return err;
	log_status("sonde: attaching TLS uprobes...");
	err = attach_uprobes(t);
	log_status(NULL);
	if (err == -EINTR)
		log_err("llm: stopped while attaching uprobes");
	if (err)
		return err;
	if (tls_attach__refused(t->att))
		log_warn("llm: the kernel refused %zu TLS uprobes; those calls are not seen",
			 tls_attach__refused(t->att));
	if (!tls_attach__nfiles(t->att) && !t->plain && !p->host->targets.dynamic) {
		log_err("llm: no TLS library to attach to, and no plaintext capture: nothing to "
			"see");
		return -ENOENT;
	}
	return 0;
}

static int tls_arm(struct probe *p, bool on)
{
	struct tls *t = p->priv;

	__atomic_store_n(&t->skel->bss->armed, on, __ATOMIC_SEQ_CST);
	return 0;
}

static void tls_stop(struct probe *p)
{
	struct tls *t = p->priv;

	tls_attach__detach(t->att);
	for (size_t i = 0; i < t->ntps; i++)
		bpf_link__destroy(t->tps[i]);
	free(t->tps);
	t->tps = NULL;
	t->ntps = 0;
}

/* The end: calls still in flight are reported as they are (truncated). */
static int tls_finish(struct probe *p)
{
	struct tls *t = p->priv;

	llm_decoder__flush(t->dec, mono_ns());
	return t->span_err;
}

/* ---- metrics ---- */

static unsigned int put_label(struct metric_label *l, unsigned int n, const char *k, const char *v)
{
	if (v && *v)
		l[n++] = (struct metric_label){k, v};
	return n;
}

static unsigned int target_labels(const struct pmetric *m, struct metric_label *l)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < m->ntl; i++)
		n = put_label(l, n, m->tl[i].key, m->tl[i].value);
	return n;
}

/* The target's labels, then the attributes every GenAI metric has; returns the label count. */
static unsigned int genai_labels(const struct pmetric *m, struct metric_label *l)
{
	unsigned int n = target_labels(m, l);

	n = put_label(l, n, GENAI_OPERATION_NAME, m->operation);
	n = put_label(l, n, GENAI_PROVIDER_NAME, m->provider);
	n = put_label(l, n, GENAI_REQUEST_MODEL, m->request_model);
	n = put_label(l, n, GENAI_RESPONSE_MODEL, m->response_model);
	n = put_label(l, n, GENAI_SERVER_ADDRESS, m->server);
	return n;
}

static int declare_families(struct tls *t, struct metrics *m)
{
	int err;

	err = metrics__declare(m, GENAI_METRIC_TOKEN_USAGE, METRIC_HISTOGRAM,
			       "Tokens per LLM call, by gen_ai.token.type (input, output).",
			       t->tok_bounds, GENAI_TOKEN_NBUCKETS);
	err = err ?: metrics__set_unit(m, GENAI_METRIC_TOKEN_USAGE, "{token}");
	err = err
		      ?: metrics__declare(
				 m, GENAI_METRIC_OPERATION_DURATION, METRIC_HISTOGRAM,
				 "Duration of LLM calls, first request byte to last response "
				 "byte, in seconds.",
				 t->dur_bounds, GENAI_DURATION_NBUCKETS);
	err = err ?: metrics__set_unit(m, GENAI_METRIC_OPERATION_DURATION, "s");
	err = err
		      ?: metrics__declare(m, GENAI_METRIC_TIME_TO_FIRST_CHUNK, METRIC_HISTOGRAM,
					  "Time from the request to the first streamed chunk, in "
					  "seconds.",
					  t->dur_bounds, GENAI_DURATION_NBUCKETS);
	err = err ?: metrics__set_unit(m, GENAI_METRIC_TIME_TO_FIRST_CHUNK, "s");
	err = err
		      ?: metrics__declare(m, GENAI_METRIC_TIME_PER_OUTPUT_CHUNK, METRIC_HISTOGRAM,
					  "Time between two streamed chunks, in seconds.",
					  t->dur_bounds, GENAI_DURATION_NBUCKETS);
	err = err ?: metrics__set_unit(m, GENAI_METRIC_TIME_PER_OUTPUT_CHUNK, "s");
	err = err
		      ?: metrics__declare(m, M_CALLS, METRIC_COUNTER,
					  "LLM API calls seen, by provider, model and HTTP status.",
					  NULL, 0);
	err = err
		      ?: metrics__declare(m, M_ERRORS, METRIC_COUNTER,
					  "LLM API calls that failed, by provider, model and "
					  "error.type.",
					  NULL, 0);
	return err;
}

static void publish_call(struct tls *t, struct metrics *m, const struct pmetric *c)
{
	struct metric_label l[METRICS_MAX_LABELS];
	unsigned int n = genai_labels(c, l), k;
	char status[8];

	if (c->in >= 0 || c->out >= 0) {
		k = n;
		l[k].key = GENAI_TOKEN_TYPE;
		if (c->in >= 0) {
			l[k].value = GENAI_TOKEN_TYPE_INPUT;
			metrics__histogram_observe(m, GENAI_METRIC_TOKEN_USAGE, l, k + 1,
						   (double)c->in);
		}
		if (c->out >= 0) {
			l[k].value = GENAI_TOKEN_TYPE_OUTPUT;
			metrics__histogram_observe(m, GENAI_METRIC_TOKEN_USAGE, l, k + 1,
						   (double)c->out);
		}
	}
	if (c->ttfc_ns)
		metrics__histogram_observe(m, GENAI_METRIC_TIME_TO_FIRST_CHUNK, l, n,
					   (double)c->ttfc_ns / 1e9);
	if (c->ngaps) {
		uint64_t counts[GENAI_DURATION_NBUCKETS + 1];
		uint64_t total = 0;

		for (int b = 0; b <= GENAI_DURATION_NBUCKETS; b++)
			total += counts[b] = c->gaps[b];
		metrics__histogram_add(m, GENAI_METRIC_TIME_PER_OUTPUT_CHUNK, l, n, counts, total,
				       (double)c->gap_sum_ns / 1e9);
	}
	k = put_label(l, n, GENAI_ERROR_TYPE, c->error);
	if (c->status)
		metrics__histogram_observe(m, GENAI_METRIC_OPERATION_DURATION, l, k,
					   (double)c->duration_ns / 1e9);
	n = target_labels(c, l);
	n = put_label(l, n, GENAI_PROVIDER_NAME, c->provider);
	n = put_label(l, n, GENAI_REQUEST_MODEL, c->request_model);
	snprintf(status, sizeof(status), "%u", c->status);
	k = put_label(l, n, GENAI_HTTP_STATUS_CODE, c->status ? status : NULL);
	metrics__counter_add(m, M_CALLS, l, k, 1);
	if (c->error[0]) {
		k = put_label(l, n, GENAI_ERROR_TYPE, c->error);
		metrics__counter_add(m, M_ERRORS, l, k, 1);
	}
}

static void tls_publish(struct probe *p, struct metrics *m)
{
	struct tls *t = p->priv;
	const struct bpf_map *st = t->skel->maps.stats;
	struct llm_decoder_stats ds;
	int err = declare_families(t, m);

	if (err) {
		log_err("llm: failed to declare the GenAI metrics: %s", strerror(-err));
		return;
	}
	for (size_t i = 0; i < t->npm; i++)
		publish_call(t, m, &t->pm[i]);
	t->npm = 0;
	llm_decoder__stats(t->dec, &ds);
	probe_count(m, PROBE_M_EVENTS, "tls", "kind", "call", t->calls);
	probe_count(m, PROBE_M_EVENTS, "tls", "kind", "ssl_io",
		    bpf_stats_sum(st, SONDE_TLSSTAT_CALLS));
	probe_count(m, PROBE_M_EVENTS, "tls", "kind", "socket_io",
		    bpf_stats_sum(st, SONDE_TLSSTAT_SOCK_CALLS));
	probe_count(m, PROBE_M_EVENTS, "tls", "kind", "byte",
		    bpf_stats_sum(st, SONDE_TLSSTAT_BYTES));
	probe_count(m, PROBE_M_DROPPED, "tls", "reason", "ring_full_bytes",
		    bpf_stats_sum(st, SONDE_TLSSTAT_LOST_RING));
	probe_count(m, PROBE_M_DROPPED, "tls", "reason", "unreadable_bytes",
		    bpf_stats_sum(st, SONDE_TLSSTAT_LOST_READ));
	probe_count(m, PROBE_M_DROPPED, "tls", "reason", "queue_full", t->q.dropped);
	probe_count(m, PROBE_M_DROPPED, "tls", "reason", "max_threads",
		    bpf_stats_sum(st, SONDE_TLSSTAT_ARGS_FULL));
	probe_count(m, PROBE_M_DROPPED, "tls", "reason", "incomplete_call", ds.calls_incomplete);
	probe_count(m, PROBE_M_DROPPED, "tls", "reason", "metrics_backlog", t->pm_dropped);
}

/* ---- reports ---- */

static int tls_report(struct probe *p, FILE *f)
{
	struct tls *t = p->priv;
	int err = llm_agg__write_table(t->agg, f);

	/*
	 * Targets that made no call, and why: every -p PID; of a launched
	 * command, when nothing was seen at all, the command and the
	 * programs it ran that use TLS (not the agent's many targets).
	 */
	for (size_t i = 0; !err && !p->host->targets.dynamic && i < t->nprocs; i++) {
		const struct tproc *tp = &t->procs[i];
		bool named = !p->host->targets.launched || tp->pid == p->host->targets.pids[0];

		if (tp->calls || (p->host->targets.launched && t->calls) || (!named && !tp->tls))
			continue;
		fprintf(f, "pid %d%s%s%s: no LLM API calls seen%s%s\n", tp->pid,
			tp->comm[0] ? " (" : "", tp->comm, tp->comm[0] ? ")" : "",
			tp->why[0] ? "; " : "", tp->why);
	}
	return err ? err : stream_flush_error(f);
}

static void tls_summary(struct probe *p, struct log_line *l)
{
	struct tls *t = p->priv;
	const struct bpf_map *st = t->skel->maps.stats;
	struct llm_decoder_stats ds;
	uint64_t lost = bpf_stats_sum(st, SONDE_TLSSTAT_LOST_RING) +
			bpf_stats_sum(st, SONDE_TLSSTAT_LOST_READ);

	llm_decoder__stats(t->dec, &ds);
	log_line_add(l,
		     "llm: %llu call%s (%llu error%s), %llu connection%s (%llu HTTP/1.1, %llu "
		     "HTTP/2, %llu not HTTP), %.1f MB captured, %llu bytes lost",
		     (unsigned long long)t->calls, plural_s(t->calls),
		     (unsigned long long)t->errors, plural_s(t->errors),
		     (unsigned long long)ds.conns_opened, plural_s(ds.conns_opened),
		     (unsigned long long)ds.conns_http1, (unsigned long long)ds.conns_http2,
		     (unsigned long long)ds.conns_other, (double)ds.bytes / 1e6,
		     (unsigned long long)lost);
	log_line_int(l, "sonde.llm.calls", (long long)t->calls);
	log_line_int(l, "sonde.llm.errors", (long long)t->errors);
	log_line_int(l, "sonde.llm.connections", (long long)ds.conns_opened);
	log_line_int(l, "sonde.llm.bytes", (long long)ds.bytes);
	log_line_int(l, "sonde.llm.bytes.lost", (long long)lost);
	if (p->host->span) {
		log_line_add(l, ", %llu span%s", (unsigned long long)t->spans_sent,
			     plural_s(t->spans_sent));
		if (p->host->spans_lost_downstream)
			log_line_add(l, " (%llu lost by the exporters)",
				     (unsigned long long)p->host->spans_lost_downstream);
		log_line_int(l, "sonde.spans", (long long)t->spans_sent);
	}
}

static size_t tls_status(struct probe *p, char *buf, size_t len)
{
	struct tls *t = p->priv;

	return str_append(buf, len, 0, "%llu LLM calls, %llu errors", (unsigned long long)t->calls,
			  (unsigned long long)t->errors);
}

static uint64_t tls_lost(struct probe *p)
{
	struct tls *t = p->priv;

	return bpf_stats_sum(t->skel->maps.stats, SONDE_TLSSTAT_STACK_DROPS);
}

static void tls_details(struct probe *p)
{
	struct tls *t = p->priv;
	const struct bpf_map *st = t->skel->maps.stats;
	struct llm_decoder_stats ds;
	uint64_t ring = bpf_stats_sum(st, SONDE_TLSSTAT_LOST_RING);
	uint64_t unread = bpf_stats_sum(st, SONDE_TLSSTAT_LOST_READ);
	uint64_t full = bpf_stats_sum(st, SONDE_TLSSTAT_ARGS_FULL);
	uint64_t evlost = bpf_stats_sum(st, SONDE_TLSSTAT_EVENTS_LOST);
	uint64_t sdrops = bpf_stats_sum(st, SONDE_TLSSTAT_STACK_DROPS);

	llm_decoder__stats(t->dec, &ds);
	log_info("llm: %llu SSL and %llu socket reads/writes copied, %llu records, %llu bytes; "
		 "%llu request bytes skipped (not POST, or not an HTTP client)",
		 (unsigned long long)bpf_stats_sum(st, SONDE_TLSSTAT_CALLS),
		 (unsigned long long)bpf_stats_sum(st, SONDE_TLSSTAT_SOCK_CALLS),
		 (unsigned long long)bpf_stats_sum(st, SONDE_TLSSTAT_RECORDS),
		 (unsigned long long)bpf_stats_sum(st, SONDE_TLSSTAT_BYTES),
		 (unsigned long long)bpf_stats_sum(st, SONDE_TLSSTAT_SKIPPED));
	log_info("llm: decoder: %llu exchanges were not LLM calls, %llu calls incomplete, %llu "
		 "protocol errors, %llu bytes ignored, memory peak %zu bytes (%zu in one "
		 "connection), %llu redactions",
		 (unsigned long long)ds.http_other, (unsigned long long)ds.calls_incomplete,
		 (unsigned long long)ds.protocol_errors, (unsigned long long)ds.ignored_bytes,
		 ds.mem_peak, ds.conn_mem_peak, (unsigned long long)ds.redactions);
	if (ring || unread)
		log_warn("llm: %llu bytes lost to a full ring buffer and %llu unreadable; the "
			 "calls they belonged to are reported as incomplete (raise --ring-size "
			 "above %zu KiB)",
			 (unsigned long long)ring, (unsigned long long)unread, t->ring / 1024);
	if (full)
		log_warn("llm: %llu reads/writes not seen: more threads mid-call than the table "
			 "holds",
			 (unsigned long long)full);
	if (evlost || t->q.dropped || t->bad_records)
		log_warn("llm: %llu connection events lost (ring full), %llu records dropped by "
			 "the collector, %llu malformed",
			 (unsigned long long)evlost, (unsigned long long)t->q.dropped,
			 (unsigned long long)t->bad_records);
	if (ds.conns_rejected || ds.conn_memory_limit || ds.exchanges_dropped)
		log_warn("llm: decoder limits: %llu connections over --max-connections, %llu "
			 "over the per-connection memory limit, %llu exchanges dropped",
			 (unsigned long long)ds.conns_rejected,
			 (unsigned long long)ds.conn_memory_limit,
			 (unsigned long long)ds.exchanges_dropped);
	if (t->o->stacks && t->stacks_missing)
		log_warn("llm: %llu of %llu calls have no request stack (%llu stacks lost with the "
			 "ring full): their tokens are not in the flame graphs",
			 (unsigned long long)t->stacks_missing,
			 (unsigned long long)(t->stacks_missing + t->stacks_matched),
			 (unsigned long long)sdrops);
	if (t->o->stacks)
		log_info("llm: request stacks: %llu sent, %llu lost, %llu matched to calls, %llu "
			 "calls without one, %llu evicted unmatched",
			 (unsigned long long)bpf_stats_sum(st, SONDE_TLSSTAT_STACKS),
			 (unsigned long long)sdrops, (unsigned long long)t->stacks_matched,
			 (unsigned long long)t->stacks_missing,
			 (unsigned long long)t->stacks_evicted);
	if (t->pm_dropped)
		log_warn("llm: %llu calls left out of the metrics (backlog full)",
			 (unsigned long long)t->pm_dropped);
}

static void tls_free(struct probe *p)
{
	struct tls *t = p->priv;

	if (!t)
		return;
	tls_stop(p);
	tls_attach__free(t->att);
	tls_bpf__destroy(t->skel);
	llm_decoder__free(t->dec);
	llm_agg__free(t->agg);
	for (unsigned int i = 0; i < STASH_SLOTS; i++)
		free(t->stash[i].s);
	free(t->pm);
	free(t->rescans);
	free(t->closing);
	free(t->procs);
	rqueue__free(&t->q);
	free(t);
	p->priv = NULL;
}

const struct probe_ops tls_probe_ops = {
	.name = "tls",
	.open = tls_open,
	.attach = tls_attach,
	.arm = tls_arm,
	.tick = tls_tick,
	.publish = tls_publish,
	.stop = tls_stop,
	.finish = tls_finish,
	.report = tls_report,
	.summary = tls_summary,
	.details = tls_details,
	.lost = tls_lost,
	.status = tls_status,
	.add_pid = tls_add_pid,
	.remove_pid = tls_remove_pid,
	.free = tls_free,
	.feeds_profile = true,
};
