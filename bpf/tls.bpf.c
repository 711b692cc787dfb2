// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * LLM API traffic, seen where it is plaintext: OpenSSL/BoringSSL's
 * SSL_write/SSL_read (uprobes on the library or on an executable that
 * carries its own copy), Go's crypto/tls and, for plaintext HTTP, the
 * socket syscalls of TCP sockets. Every byte a call moved goes to the
 * collector, in as many ring records as it takes (bpf_loop over chunks);
 * what cannot be sent is counted per connection and direction and
 * reported as a gap.
 *
 * What is not copied, on purpose, per connection: an HTTP/1 exchange
 * whose request is not a POST (every LLM API call is one; a GET download
 * is not), from its request line to the next request, and connections
 * that are not HTTP clients (TLS records on a socket, a server's
 * responses). HTTP/2 connections are copied whole: their streams share
 * frames and header compression state.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sonde/events.h"
#include "pidns.bpf.h"
#include "wakeup.bpf.h"
#include "ustack.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

extern bool bpf_session_is_return(void) __ksym __weak;

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define SOCK_STREAM 1

/* Set by the collector before load. */
const volatile __u32 target_all = 0;	 /* -a */
const volatile __u32 self_tgid = 0;	 /* sonde itself is never a target */
const volatile __u32 capture_stacks = 0; /* a user stack at each request's write */
const volatile __u32 stack_size = 0;	 /* bytes of stack snapshot (DWARF), 0 = FP only */
/* Wake the collector only when this much data waits; it polls on a timer. */
const volatile __u64 wakeup_bytes = 1 << 20;
/* Set when every probe of the run is attached, cleared at the end. */
volatile __u32 armed = 0;

/*
 * The session's target set (its fd reused before load): the procevents
 * probe adds a target's forks and removes it at its exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

/*
 * Processes the collector has heard a connection of: their exit tells it
 * to end those connections, in ring order after their last bytes (the
 * target map may have lost the process already: procevents' exit program
 * can run first).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* set by the collector */
	__type(key, __u32);
	__type(value, __u32);
} talkers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the collector */
} events SEC(".maps");

/* What one connection (SSL * or socket) is, and what it could not send. */
enum conn_mode {
	MODE_NONE = 0,
	MODE_COPY,  /* HTTP/1 at a POST, or not known yet: both directions copied */
	MODE_H2,    /* HTTP/2: both directions copied */
	MODE_SKIP,  /* HTTP/1 at another method: nothing until the next request */
	MODE_OTHER, /* not an HTTP client: nothing */
};

struct conn_key {
	__u64 conn;
	__u32 pid;
	__u32 source;
};

struct conn_state {
	__u64 lost[2]; /* bytes per direction not yet reported as a gap */
	__u32 mode;
	__u32 sent; /* the collector has heard of this connection */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* set by the collector (--max-connections) */
	__type(key, struct conn_key);
	__type(value, struct conn_state);
} conns SEC(".maps");

/* An SSL call between its entry and its return, per thread. */
struct ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 lenp; /* size_t * of the byte count (_ex forms), 0: the return value */
	__u64 ts;
	__u32 req_start; /* the write starts a request: take its stack */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set by the collector (--max-threads) */
	__type(key, __u64);
	__type(value, struct ssl_call);
} ssl_writes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct ssl_call);
} ssl_reads SEC(".maps");

/* A request's stack is built here, one slot per CPU (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_sample);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_TLSSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

static __always_inline bool targeted(__u32 tgid)
{
	/* 0: not in sonde's PID namespace. */
	__u32 *t;

	if (!tgid || tgid == self_tgid)
		return false;
	if (target_all)
		return true;
	t = bpf_map_lookup_elem(&targets, &tgid);
	/* A launched command before its exec is sonde's own forked code. */
	return t && *t != SONDE_TARGET_PRE_EXEC;
}

static __always_inline __u64 wake_flags(void)
{
	return ring_wake_flags(&events, wakeup_bytes);
}

/* ---- classifying a connection by the first bytes of its writes ---- */

#define W4(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)

/*
 * The mode after a write starting with @b (@n bytes of it readable) on a
 * connection in mode @cur. *@req is set for a write that starts an HTTP/1
 * POST (an HTTP/2 request is found by find_h2_headers()).
 */
static __always_inline __u32 classify(const unsigned char *b, __u32 n, __u32 cur, bool socket,
				      bool *req)
{
	__u32 w0, w1;

	*req = false;
	if (n < 8)
		return cur ? cur : (socket ? MODE_OTHER : MODE_COPY);
	w0 = W4(b[0], b[1], b[2], b[3]);
	w1 = W4(b[4], b[5], b[6], b[7]);
	if (w0 == W4('P', 'O', 'S', 'T') && b[4] == ' ') {
		*req = true;
		return MODE_COPY;
	}
	if (w0 == W4('P', 'R', 'I', ' ') && w1 == W4('*', ' ', 'H', 'T'))
		return MODE_H2;
	if (w0 == W4('H', 'T', 'T', 'P') && b[4] == '/')
		return MODE_OTHER; /* a server's response */
	if (cur == MODE_H2)
		return MODE_H2;
	if ((w0 == W4('G', 'E', 'T', ' ')) || (w0 == W4('P', 'U', 'T', ' ')) ||
	    (w0 == W4('H', 'E', 'A', 'D') && b[4] == ' ') ||
	    (w0 == W4('D', 'E', 'L', 'E') && b[4] == 'T' && b[5] == 'E' && b[6] == ' ') ||
	    (w0 == W4('P', 'A', 'T', 'C') && b[4] == 'H' && b[5] == ' ') ||
	    (w0 == W4('O', 'P', 'T', 'I') && w1 == W4('O', 'N', 'S', ' ')))
		return MODE_SKIP;
	if (cur)
		return cur; /* the rest of a request */
	/* First sight of a connection already in use. */
	if (socket)
		return MODE_OTHER; /* TLS records, or another protocol */
	/* An HTTP/2 frame header: a type up to CONTINUATION, the reserved bit clear. */
	if (b[3] <= 9 && !(b[5] & 0x80))
		return MODE_H2;
	return MODE_COPY;
}

/*
 * Whether a write on an HTTP/2 connection holds a HEADERS frame among its
 * first frames (a request starts): frames are walked from @off.
 */
static __always_inline bool find_h2_headers(__u64 buf, __u64 len, __u64 off)
{
	unsigned char fh[9];

	for (int i = 0; i < 8; i++) {
		if (off + 9 > len)
			return false;
		if (bpf_probe_read_user(fh, sizeof(fh), (void *)(buf + off)))
			return false;
		if (fh[3] == 1)
			return true;
		off += 9 + ((__u64)fh[0] << 16 | (__u64)fh[1] << 8 | fh[2]);
	}
	return false;
}

static __always_inline struct conn_state *conn_get(struct conn_key *k, bool create)
{
	struct conn_state *st = bpf_map_lookup_elem(&conns, k);
	struct conn_state zero = {};

	if (st || !create)
		return st;
	bpf_map_update_elem(&conns, k, &zero, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&conns, k);
	if (!st)
		stat_add(SONDE_TLSSTAT_CONNS_FULL, 1);
	return st;
}

/*
 * A write of @len bytes at @buf starts: update the connection's mode.
 * Returns true when the write is to be copied; *@req says whether it
 * starts a request (its stack is taken).
 */
static __always_inline bool write_starts(struct conn_state *st, __u64 buf, __u64 len, bool socket,
					 bool *req)
{
	unsigned char b[8] = {};
	__u32 n = len < 8 ? (__u32)len : 8, mode;

	/* Bounded where the verifier sees it: clang drops a check it can prove. */
	barrier_var(n);
	if (n > sizeof(b))
		n = sizeof(b);
	if (n && bpf_probe_read_user(b, n, (void *)buf))
		n = 0;
	mode = classify(b, n, st->mode, socket, req);
	if (capture_stacks && mode == MODE_H2)
		*req = find_h2_headers(buf, len, st->mode == MODE_H2 ? 0 : 24);
	st->mode = mode;
	return mode == MODE_COPY || mode == MODE_H2;
}

static __always_inline bool copies(const struct conn_state *st)
{
	return st && (st->mode == MODE_COPY || st->mode == MODE_H2);
}

/* ---- sending payload ---- */

/*
 * What one call sends: its buffer, or its iovec array, walked segment by
 * segment, in one bpf_loop (a program with several bpf_loop call sites
 * failed to load here with EFAULT).
 */
struct copy_ctx {
	__u64 conn;
	__u64 src; /* the current segment */
	__u64 len;
	__u64 off;
	__u64 iov;	/* next struct iovec, 0: none */
	__u64 iov_left; /* iovecs not started */
	__u64 left;	/* bytes the call moved, not yet sent or lost */
	__u64 ts;
	__u64 gap; /* lost bytes to report in the next record */
	__u32 pid, tid, dir, source;
};

struct uiovec {
	__u64 base;
	__u64 len;
};

/* One record class: a header and up to CAP bytes at c->src + c->off. */
#define DEFINE_SEND(NAME, CAP)                                                      \
	struct rec_##NAME {                                                         \
		struct sonde_tls_hdr h;                                             \
		char data[CAP];                                                     \
	};                                                                          \
	static __noinline int send_##NAME(struct copy_ctx *c, __u32 n)              \
	{                                                                           \
		struct rec_##NAME *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0); \
                                                                                    \
		if (!r) {                                                           \
			stat_add(SONDE_TLSSTAT_LOST_RING, n);                       \
			return -1;                                                  \
		}                                                                   \
		if (n > CAP)                                                        \
			n = CAP;                                                    \
		barrier_var(n);                                                     \
		if (bpf_probe_read_user(r->data, n, (void *)(c->src + c->off))) {   \
			bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);                   \
			stat_add(SONDE_TLSSTAT_LOST_READ, n);                       \
			return -1;                                                  \
		}                                                                   \
		r->h.kind = SONDE_EV_TLS_DATA;                                      \
		r->h.pid = c->pid;                                                  \
		r->h.tid = c->tid;                                                  \
		r->h.dir = c->dir;                                                  \
		r->h.source = c->source;                                            \
		r->h.len = n;                                                       \
		r->h.conn = c->conn;                                                \
		r->h.ts_ns = c->ts;                                                 \
		r->h.gap = c->gap;                                                  \
		c->gap = 0;                                                         \
		bpf_ringbuf_submit(r, wake_flags());                                \
		stat_add(SONDE_TLSSTAT_BYTES, n);                                   \
		stat_add(SONDE_TLSSTAT_RECORDS, 1);                                 \
		return 0;                                                           \
	}

DEFINE_SEND(small, SONDE_TLS_CHUNK_SMALL)
DEFINE_SEND(medium, SONDE_TLS_CHUNK_MEDIUM)
DEFINE_SEND(large, SONDE_TLS_CHUNK_MAX)

static long copy_one(__u64 i, void *vctx)
{
	struct copy_ctx *c = vctx;
	__u64 left;
	__u32 n;
	int err;

	if (!c->left)
		return 1;
	if (c->off >= c->len) {
		struct uiovec v;

		/* The next buffer of an iovec array. */
		if (!c->iov_left || bpf_probe_read_user(&v, sizeof(v), (void *)c->iov))
			return 1;
		c->iov += sizeof(v);
		c->iov_left--;
		c->src = v.base;
		c->len = v.len < c->left ? v.len : c->left;
		c->off = 0;
		return 0;
	}
	left = c->len - c->off;
	if (left <= SONDE_TLS_CHUNK_SMALL) {
		n = (__u32)left;
		err = send_small(c, n);
	} else if (left <= SONDE_TLS_CHUNK_MEDIUM) {
		n = (__u32)left;
		err = send_medium(c, n);
	} else {
		n = left > SONDE_TLS_CHUNK_MAX ? SONDE_TLS_CHUNK_MAX : (__u32)left;
		err = send_large(c, n);
	}
	if (err)
		c->gap += n;
	c->off += n;
	c->left -= n < c->left ? n : c->left;
	return 0;
}

/* Most loop steps one call takes (2 GiB in records, and its buffers): the rest is a gap. */
#define MAX_STEPS_PER_CALL (1u << 16)

/*
 * Send the @len bytes a call moved, from @src or, with @iovcnt, the
 * buffers of the iovec array at @src, on connection @k in direction
 * @dir: the connection's pending gap first; what cannot be sent stays
 * pending.
 */
static __always_inline void send_data(struct conn_key *k, struct conn_state *st, __u32 dir,
				      __u64 src, __u64 len, __u32 iovcnt, __u64 ts, __u32 tid)
{
	struct copy_ctx c = {
		.conn = k->conn,
		.src = iovcnt ? 0 : src,
		.len = iovcnt ? 0 : len,
		.iov = iovcnt ? src : 0,
		.iov_left = iovcnt,
		.left = len,
		.ts = ts,
		.pid = k->pid,
		.tid = tid,
		.dir = dir & 1,
		.source = k->source,
	};
	__u64 steps = len / SONDE_TLS_CHUNK_MAX + 2 * (__u64)iovcnt + 1;

	c.gap = __sync_lock_test_and_set(&st->lost[dir & 1], 0);
	if (steps > MAX_STEPS_PER_CALL)
		steps = MAX_STEPS_PER_CALL;
	bpf_loop((__u32)steps, copy_one, &c, 0);
	c.gap += c.left;
	if (c.gap)
		__sync_fetch_and_add(&st->lost[dir & 1], c.gap);
	if (!st->sent) {
		__u32 one = 1;

		bpf_map_update_elem(&talkers, &k->pid, &one, BPF_ANY);
	}
	st->sent = 1;
}

/* The connection ended: tell the collector (if it ever heard of it), forget it. */
static __always_inline void conn_close(struct conn_key *k, __u32 tid)
{
	struct conn_state *st = bpf_map_lookup_elem(&conns, k);
	struct sonde_tls_close *e;

	if (!st)
		return;
	if (st->sent) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->kind = SONDE_EV_TLS_CLOSE;
			e->pid = k->pid;
			e->tid = tid;
			e->source = k->source;
			e->conn = k->conn;
			e->ts_ns = bpf_ktime_get_ns();
			e->gap[0] = st->lost[0];
			e->gap[1] = st->lost[1];
			bpf_ringbuf_submit(e, wake_flags());
		} else {
			stat_add(SONDE_TLSSTAT_EVENTS_LOST, 1);
		}
	}
	bpf_map_delete_elem(&conns, k);
}

/* ---- the user stack of a request ---- */

/*
 * The stack of the thread that wrote a request, at its write's return: a
 * sample whose time is the write's, so the collector matches it to the
 * call. @regs are the thread's user registers: @ctx's at an SSL call's
 * return (the caller's, right after the call), the syscall's saved ones
 * at a socket write's exit (@ctx is then the tracepoint's).
 */
static __always_inline void send_stack(void *ctx, const struct pt_regs *regs, __u64 id, __u64 ts)
{
	__u32 cpu = bpf_get_smp_processor_id(), unr, slen = 0;
	struct sonde_sample *s = bpf_map_lookup_elem(&scratch, &cpu);
	long ubytes;

	if (!s)
		return;
	s->kind = SONDE_EV_SAMPLE;
	s->pid = id >> 32;
	s->tid = (__u32)id;
	s->cpu = cpu;
	s->time_ns = ts;
	s->kstack_nr = 0;
	s->kstack_err = 0;
	s->ustack_err = 0;
	s->stack_err = 0;
	s->value = 0;
	s->addr = 0;
	s->flags = 0;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	ubytes = bpf_get_stack(ctx, s->ips, SONDE_MAX_STACK * sizeof(__u64), BPF_F_USER_STACK);
	if (ubytes < 0) {
		s->ustack_err = -ubytes;
		ubytes = 0;
	}
	unr = ubytes / sizeof(__u64);
	if (unr > SONDE_MAX_STACK)
		unr = SONDE_MAX_STACK;
	s->ustack_nr = unr;
	s->user_ip = PT_REGS_IP(regs);
	s->user_sp = PT_REGS_SP(regs);
	s->user_bp = PT_REGS_FP(regs);
	if (stack_size)
		slen = copy_stack_pages(s, unr * sizeof(__u64), s->user_sp, stack_size);
	if (slen > SONDE_MAX_STACK_BYTES)
		slen = SONDE_MAX_STACK_BYTES;
	s->stack_len = slen;
	/*
	 * Woken at once: the collector reads the process's maps while it
	 * waits for the answer, so its frames can be named after it exits.
	 */
	if (bpf_ringbuf_output(&events, s, SONDE_SAMPLE_SIZE(unr, slen), BPF_RB_FORCE_WAKEUP))
		stat_add(SONDE_TLSSTAT_STACK_DROPS, 1);
	else
		stat_add(SONDE_TLSSTAT_STACKS, 1);
}

/* ---- SSL_write / SSL_read ---- */

/* The size_t * argument of an _ex form, by the attach cookie (enum sonde_tls_flavor). */
static __always_inline __u64 len_ptr(struct pt_regs *ctx)
{
	__u64 flavor = bpf_get_attach_cookie(ctx);
	/* Both read first: clang would index ctx by the flavor, which the verifier refuses. */
	__u64 p4 = PT_REGS_PARM4(ctx), p5 = PT_REGS_PARM5(ctx);

	barrier_var(p4);
	barrier_var(p5);
	if (flavor == SONDE_TLS_EX4)
		return p4;
	if (flavor == SONDE_TLS_EX5)
		return p5;
	return 0;
}

/* Bytes a returning call moved: its return value, or *lenp when it returned 1. */
static __always_inline __u64 moved(struct pt_regs *ctx, const struct ssl_call *c)
{
	long rc = (int)PT_REGS_RC(ctx);
	__u64 n = 0;

	if (!c->lenp)
		return rc > 0 ? (__u64)rc : 0;
	if (rc != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)c->lenp))
		return 0;
	return n;
}

/*
 * An SSL write enters: kept for its return when its bytes are copied.
 * True if kept (a uprobe session then runs the return).
 */
static __always_inline bool write_enter(struct pt_regs *ctx)
{
	__u64 id = sonde_pid_tgid(), num = PT_REGS_PARM3(ctx);
	struct conn_key k = {
		.conn = PT_REGS_PARM1(ctx), .pid = id >> 32, .source = SONDE_TLS_SRC_SSL};
	struct ssl_call c = {.ssl = k.conn, .buf = PT_REGS_PARM2(ctx)};
	struct conn_state *st;
	bool req;

	if (!armed || !targeted(k.pid))
		return false;
	/* SSL_write takes an int: a negative one fails without writing. */
	if (bpf_get_attach_cookie(ctx) == SONDE_TLS_RET)
		num = (int)num > 0 ? (__u32)num : 0;
	st = conn_get(&k, true);
	if (!st)
		return false;
	if (!write_starts(st, c.buf, num, false, &req)) {
		stat_add(SONDE_TLSSTAT_SKIPPED, num);
		return false;
	}
	c.lenp = len_ptr(ctx);
	c.ts = bpf_ktime_get_ns();
	c.req_start = req;
	if (bpf_map_update_elem(&ssl_writes, &id, &c, BPF_ANY)) {
		stat_add(SONDE_TLSSTAT_ARGS_FULL, 1);
		return false;
	}
	return true;
}

/* An SSL read enters: kept for its return when the connection is copied. */
static __always_inline bool read_enter(struct pt_regs *ctx)
{
	__u64 id = sonde_pid_tgid();
	struct conn_key k = {
		.conn = PT_REGS_PARM1(ctx), .pid = id >> 32, .source = SONDE_TLS_SRC_SSL};
	struct ssl_call c = {.ssl = k.conn, .buf = PT_REGS_PARM2(ctx)};

	if (!armed || !targeted(k.pid))
		return false;
	/* Reads of a connection that wrote no request yet (a server) are not copied. */
	if (!copies(bpf_map_lookup_elem(&conns, &k)))
		return false;
	c.lenp = len_ptr(ctx);
	if (bpf_map_update_elem(&ssl_reads, &id, &c, BPF_ANY)) {
		stat_add(SONDE_TLSSTAT_ARGS_FULL, 1);
		return false;
	}
	return true;
}

SEC("uprobe")
int ssl_write_entry(struct pt_regs *ctx)
{
	write_enter(ctx);
	return 0;
}

/*
 * A probed SSL call of direction @dir returns: send what it moved. Only a
 * call that moved bytes counts: node calls SSL_write again and again with
 * the same request while the handshake completes (-1, WANT_READ).
 */
static __always_inline int ssl_return(struct pt_regs *ctx, void *calls, __u32 dir)
{
	__u64 id = sonde_pid_tgid(), n;
	struct ssl_call *c = bpf_map_lookup_elem(calls, &id);
	struct conn_key k = {.pid = id >> 32, .source = SONDE_TLS_SRC_SSL};
	struct conn_state *st;

	if (!c)
		return 0;
	n = moved(ctx, c);
	k.conn = c->ssl;
	st = n ? bpf_map_lookup_elem(&conns, &k) : NULL;
	if (st) {
		stat_add(SONDE_TLSSTAT_CALLS, 1);
		if (dir == SONDE_TLS_WRITE && capture_stacks && c->req_start)
			send_stack(ctx, ctx, id, c->ts);
		send_data(&k, st, dir, c->buf, n, 0,
			  dir == SONDE_TLS_WRITE ? c->ts : bpf_ktime_get_ns(), (__u32)id);
	}
	bpf_map_delete_elem(calls, &id);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_return)
{
	return ssl_return(ctx, &ssl_writes, SONDE_TLS_WRITE);
}

SEC("uprobe")
int ssl_read_entry(struct pt_regs *ctx)
{
	read_enter(ctx);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_return)
{
	return ssl_return(ctx, &ssl_reads, SONDE_TLS_READ);
}

/*
 * The same as uprobe sessions (Linux 6.13): a call that is not copied
 * (most reads of a download, every call of a connection that is not
 * HTTP) returns 1 at entry and costs no return probe.
 */
SEC("uprobe")
int ssl_write_session(struct pt_regs *ctx)
{
	if (bpf_session_is_return())
		return ssl_return(ctx, &ssl_writes, SONDE_TLS_WRITE);
	return write_enter(ctx) ? 0 : 1;
}

SEC("uprobe")
int ssl_read_session(struct pt_regs *ctx)
{
	if (bpf_session_is_return())
		return ssl_return(ctx, &ssl_reads, SONDE_TLS_READ);
	return read_enter(ctx) ? 0 : 1;
}

/* SSL_free, SSL_shutdown: the connection is over. */
SEC("uprobe")
int BPF_KPROBE(ssl_close, void *ssl)
{
	__u64 id = sonde_pid_tgid();
	struct conn_key k = {.conn = (__u64)ssl, .pid = id >> 32, .source = SONDE_TLS_SRC_SSL};

	if (k.pid)
		conn_close(&k, (__u32)id);
	return 0;
}

/* ---- Go's crypto/tls ---- */

/*
 * Go programs carry their own TLS (crypto/tls, no OpenSSL). In Go's
 * register ABI (Go 1.17 and later) (*Conn).Write(b []byte) and
 * (*Conn).Read(b []byte) take the receiver in RAX and b's pointer and
 * length in RBX and RCX, and return n in RAX. A write is copied at its
 * entry: Write returns once all of b is written, or with the connection
 * broken. Reads are seen where Read copies the plaintext out
 * (go_tls_read_copy) or, in a Read compiled otherwise, at its entry and
 * its RET instructions (a uretprobe crashes Go: see
 * src/probes/uprobe_go.h), matched by goroutine (the g pointer in R14,
 * with the process: heap addresses repeat across Go processes), since a
 * goroutine blocked in Read may resume on another thread. An entry's
 * attach cookie is what the prologue subtracts from SP before its stack
 * check (-1: no check recognised): an entry whose check will fail runs
 * morestack, which runs the function again from the top, and only that
 * second entry is a call.
 */
struct go_key {
	__u64 g;
	__u32 pid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1); /* set by the collector (--max-threads) */
	__type(key, struct go_key);
	__type(value, struct ssl_call);
} go_reads SEC(".maps");

static __always_inline bool go_restarts(struct pt_regs *ctx)
{
	__s64 adj = (__s64)bpf_get_attach_cookie(ctx);
	__u64 guard;

	if (adj < 0)
		return false;
	/* g->stackguard0 */
	if (bpf_probe_read_user(&guard, sizeof(guard), (void *)(ctx->r14 + 16)))
		return false;
	return PT_REGS_SP(ctx) - (__u64)adj <= guard;
}

SEC("uprobe")
int go_tls_write(struct pt_regs *ctx)
{
	__u64 id = sonde_pid_tgid(), buf = ctx->bx, len = ctx->cx, ts;
	struct conn_key k = {.conn = ctx->ax, .pid = id >> 32, .source = SONDE_TLS_SRC_SSL};
	struct conn_state *st;
	bool req;

	if (!armed || !len || !targeted(k.pid) || go_restarts(ctx))
		return 0;
	st = conn_get(&k, true);
	if (!st)
		return 0;
	if (!write_starts(st, buf, len, false, &req)) {
		stat_add(SONDE_TLSSTAT_SKIPPED, len);
		return 0;
	}
	stat_add(SONDE_TLSSTAT_CALLS, 1);
	ts = bpf_ktime_get_ns();
	if (capture_stacks && req)
		send_stack(ctx, ctx, id, ts);
	send_data(&k, st, SONDE_TLS_WRITE, buf, len, 0, ts, (__u32)id);
	return 0;
}

SEC("uprobe")
int go_tls_read_entry(struct pt_regs *ctx)
{
	__u64 id = sonde_pid_tgid();
	struct conn_key k = {.conn = ctx->ax, .pid = id >> 32, .source = SONDE_TLS_SRC_SSL};
	struct go_key gk = {.g = ctx->r14, .pid = k.pid};
	struct ssl_call c = {.ssl = k.conn, .buf = ctx->bx};

	/*
	 * Kept whatever the connection is: net/http's reader goroutine
	 * blocks in its first Read before the request is written, and that
	 * Read returns the answer's first bytes. The return decides. A
	 * restarted entry writes the same again.
	 */
	if (!armed || !targeted(k.pid))
		return 0;
	if (bpf_map_update_elem(&go_reads, &gk, &c, BPF_ANY))
		stat_add(SONDE_TLSSTAT_ARGS_FULL, 1);
	return 0;
}

SEC("uprobe")
int go_tls_read_return(struct pt_regs *ctx)
{
	__u64 id = sonde_pid_tgid();
	struct go_key gk = {.g = ctx->r14, .pid = id >> 32};
	struct ssl_call *c = bpf_map_lookup_elem(&go_reads, &gk);
	struct conn_key k = {.pid = id >> 32, .source = SONDE_TLS_SRC_SSL};
	long n = (long)ctx->ax;
	struct conn_state *st;

	if (!c)
		return 0;
	k.conn = c->ssl;
	st = n > 0 ? bpf_map_lookup_elem(&conns, &k) : NULL;
	/* Reads of a connection that wrote no request yet (a server) are not copied. */
	if (copies(st)) {
		stat_add(SONDE_TLSSTAT_CALLS, 1);
		send_data(&k, st, SONDE_TLS_READ, c->buf, (__u64)n, 0, bpf_ktime_get_ns(),
			  (__u32)id);
	}
	bpf_map_delete_elem(&go_reads, &gk);
	return 0;
}

/*
 * Where (*Conn).Read copies the plaintext out to b (its inlined
 * bytes.Reader.Read: runtime.memmove(dst RAX, src RBX, n RCX)): the bytes
 * the Read returns, seen at a call the kernel emulates, with no return
 * probe (src/probes/tls_lib.h). The receiver is in the slot the prologue
 * spilled it to, the cookie's bytes above SP.
 */
SEC("uprobe")
int go_tls_read_copy(struct pt_regs *ctx)
{
	__u64 id = sonde_pid_tgid(), src = ctx->bx, n = ctx->cx, conn = 0;
	struct conn_key k = {.pid = id >> 32, .source = SONDE_TLS_SRC_SSL};
	struct conn_state *st;

	if (!armed || !n || !targeted(k.pid))
		return 0;
	if (bpf_probe_read_user(&conn, sizeof(conn),
				(void *)(PT_REGS_SP(ctx) + bpf_get_attach_cookie(ctx))))
		return 0;
	k.conn = conn;
	st = bpf_map_lookup_elem(&conns, &k);
	/* Reads of a connection that wrote no request yet (a server) are not copied. */
	if (!copies(st))
		return 0;
	stat_add(SONDE_TLSSTAT_CALLS, 1);
	send_data(&k, st, SONDE_TLS_READ, src, n, 0, bpf_ktime_get_ns(), (__u32)id);
	return 0;
}

/* (*Conn).Close: the connection is over. */
SEC("uprobe")
int go_tls_close(struct pt_regs *ctx)
{
	__u64 id = sonde_pid_tgid();
	struct conn_key k = {.conn = ctx->ax, .pid = id >> 32, .source = SONDE_TLS_SRC_SSL};

	if (k.pid)
		conn_close(&k, (__u32)id);
	return 0;
}

/* ---- plaintext: sends and receives on TCP sockets ---- */

/*
 * The socket layer's tracepoints, at the return of sock_sendmsg() and
 * sock_recvmsg(), which every syscall that moves bytes on a socket goes
 * through: only socket calls run a program, a few instructions for those
 * of processes not targeted. The raw sys_enter/sys_exit tracepoints used
 * before put every syscall of the host on the slow path (about 40 ns
 * each, targets or not). The buffer comes from the syscall's saved user
 * registers, by the syscall's number (x86-64 numbers; a 32-bit task's
 * are another table and are not read); bytes moved from elsewhere
 * (sendfile, splice, io_uring, the kernel's own sockets) are not copied.
 */
#define NR_READ 0
#define NR_WRITE 1
#define NR_READV 19
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
#define TS_COMPAT 0x0002 /* x86 thread_info.status: a 32-bit syscall */
#define MSG_PEEK 2

static __always_inline bool tcp_sock(const struct sock *sk)
{
	return sk && sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM &&
	       (sk->__sk_common.skc_family == AF_INET || sk->__sk_common.skc_family == AF_INET6);
}

/*
 * The user buffer of the syscall the current thread is in, if it moves
 * bytes in direction @dir: *@buf a buffer or, with *@iovcnt, an iovec
 * array. False for any other syscall.
 */
static __always_inline bool syscall_buffer(struct pt_regs *regs, __u32 dir, __u64 *buf,
					   __u32 *iovcnt)
{
	long nr = regs->orig_ax;
	struct user_msghdr m;

	*buf = regs->si;
	*iovcnt = 0;
	switch (nr) {
	case NR_WRITE:
	case NR_SENDTO:
		return dir == SONDE_TLS_WRITE;
	case NR_READ:
	case NR_RECVFROM:
		return dir == SONDE_TLS_READ;
	case NR_WRITEV:
	case NR_READV:
		*iovcnt = (__u32)regs->dx;
		return *iovcnt && dir == (nr == NR_WRITEV ? SONDE_TLS_WRITE : SONDE_TLS_READ);
	case NR_SENDMSG:
	case NR_RECVMSG:
		if (dir != (nr == NR_SENDMSG ? SONDE_TLS_WRITE : SONDE_TLS_READ) ||
		    bpf_probe_read_user(&m, sizeof(m), (void *)*buf) || !m.msg_iovlen)
			return false;
		*buf = (__u64)m.msg_iov;
		*iovcnt = (__u32)m.msg_iovlen;
		return true;
	default:
		return false;
	}
}

/* @ret bytes moved on @sk in direction @dir by the current thread: copy them if wanted. */
static __always_inline int sock_moved(void *ctx, struct sock *sk, int ret, __u32 dir)
{
	__u64 id = sonde_pid_tgid(), buf, first, flen = (__u64)ret, ts;
	struct conn_key k = {.conn = (__u64)sk, .pid = id >> 32, .source = SONDE_TLS_SRC_SOCKET};
	struct task_struct *task;
	struct conn_state *st;
	struct pt_regs *regs;
	__u32 iovcnt;
	bool req = false;

	if (ret <= 0 || !armed || !targeted(k.pid) || !tcp_sock(sk))
		return 0;
	task = bpf_get_current_task_btf();
	if (task->thread_info.status & TS_COMPAT)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!syscall_buffer(regs, dir, &buf, &iovcnt))
		return 0;
	if (dir == SONDE_TLS_WRITE) {
		first = buf;
		if (iovcnt) {
			struct uiovec v = {};

			if (bpf_probe_read_user(&v, sizeof(v), (void *)buf))
				return 0;
			first = v.base;
			flen = v.len;
		}
		st = conn_get(&k, true);
		if (!st)
			return 0;
		if (!write_starts(st, first, flen, true, &req)) {
			stat_add(SONDE_TLSSTAT_SKIPPED, (__u64)ret);
			return 0;
		}
	} else {
		st = bpf_map_lookup_elem(&conns, &k);
		/* Reads of a connection that wrote no request yet (a server) are not copied. */
		if (!copies(st))
			return 0;
	}
	stat_add(SONDE_TLSSTAT_SOCK_CALLS, 1);
	ts = bpf_ktime_get_ns();
	if (req && capture_stacks)
		send_stack(ctx, regs, id, ts);
	send_data(&k, st, dir, buf, (__u64)ret, iovcnt, ts, (__u32)id);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tls_sock_send, struct sock *sk, int ret, int flags)
{
	return sock_moved(ctx, sk, ret, SONDE_TLS_WRITE);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tls_sock_recv, struct sock *sk, int ret, int flags)
{
	/* A peek leaves the bytes to the next read, which copies them. */
	if (flags & MSG_PEEK)
		return 0;
	return sock_moved(ctx, sk, ret, SONDE_TLS_READ);
}

/*
 * A TCP connection of a target ends: closed by it (FIN_WAIT1, or LAST_ACK
 * after the peer's close), aborted (CLOSE), or its socket connected anew
 * (SYN_SENT). Transitions the peer causes run in softirq, where the
 * current process is whoever was interrupted: its key finds no
 * connection unless it is the owner's.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tls_sock_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 id = sonde_pid_tgid();
	struct conn_key k = {.conn = (__u64)sk, .pid = id >> 32, .source = SONDE_TLS_SRC_SOCKET};

	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK && newstate != TCP_CLOSE &&
	    newstate != TCP_SYN_SENT)
		return 0;
	if (!k.pid || !targeted(k.pid))
		return 0;
	conn_close(&k, (__u32)id);
	return 0;
}

/* ---- processes ---- */

static __always_inline void send_proc(__u32 pid, __u32 event, __u64 flags)
{
	struct sonde_tls_proc *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		stat_add(SONDE_TLSSTAT_EVENTS_LOST, 1);
		return;
	}
	e->kind = SONDE_EV_TLS_PROC;
	e->pid = pid;
	e->event = event;
	e->pad = 0;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, flags);
}

/* A new program: the collector looks for a TLS library in it. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tls_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = sonde_pid_tgid() >> 32;

	/* Woken at once: the collector attaches before the program speaks TLS. */
	if (tgid && tgid != self_tgid && (target_all || bpf_map_lookup_elem(&targets, &tgid)))
		send_proc(tgid, SONDE_TLS_EXEC, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* The exit of a process the collector heard of: its connections are over. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tls_exit, struct task_struct *task)
{
	__u32 tgid;

	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0;
	tgid = sonde_task_pid(task);
	if (!tgid || bpf_map_delete_elem(&talkers, &tgid))
		return 0;
	send_proc(tgid, SONDE_TLS_EXIT, wake_flags());
	return 0;
}
