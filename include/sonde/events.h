/* SPDX-License-Identifier: MIT */
/*
 * The only contract between BPF programs and the collector.
 *
 * Rules: fixed-width __u32/__u64 fields only, no pointers or bools,
 * explicit padding, sizes pinned by _Static_assert, and a variable-length
 * array only as the last member, of which only the used part is sent.
 */
#ifndef SONDE_EVENTS_H
#define SONDE_EVENTS_H

#ifdef __bpf__
/* BPF side: types come from vmlinux.h, included before this header. */
#else
#include <linux/types.h>
#endif

#define SONDE_COMM_LEN 16
/* Matches the kernel's default perf_event_max_stack. */
#define SONDE_MAX_STACK 127

enum sonde_event_kind {
	SONDE_EV_SAMPLE = 1,
	SONDE_EV_SPAN = 2,
	SONDE_EV_FREE = 3,
	SONDE_EV_ALLOC_ADDR = 4,
	SONDE_EV_PROC = 5,
	SONDE_EV_TLS_DATA = 6,
	SONDE_EV_TLS_CLOSE = 7,
	SONDE_EV_TLS_PROC = 8,
};

/*
 * Bytes of user stack a sample may carry for DWARF unwinding (--stack-size
 * is at most this; perf's own limit is 65528). A multiple of the page size.
 */
#define SONDE_MAX_STACK_BYTES 65536
#define SONDE_PAGE_SIZE 4096

/*
 * One CPU sample. ips[] holds kstack_nr kernel addresses (innermost first)
 * followed by ustack_nr user addresses (innermost first, frame-pointer
 * walk), followed by stack_len bytes of the user stack copied from
 * user_sp upward (DWARF mode; 0 otherwise). Only the used part is sent:
 * SONDE_SAMPLE_SIZE(kstack_nr + ustack_nr, stack_len) bytes.
 */
struct sonde_sample {
	__u32 kind; /* SONDE_EV_SAMPLE */
	__u32 pid; /* thread-group id (userspace "PID") */
	__u32 tid;
	__u32 cpu;
	__u64 time_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 kstack_nr;
	__u32 ustack_nr;
	__u32 kstack_err; /* errno (positive) from bpf_get_stack, or 0 */
	__u32 ustack_err;
	char comm[SONDE_COMM_LEN];
	/*
	 * User registers where the thread left user mode (the interrupted
	 * state, or the syscall entry when the sample hit in the kernel), as
	 * its code sees them (bpf/sample.bpf.h user_regs()); 0 for a kernel
	 * thread.
	 */
	__u64 user_ip;
	__u64 user_sp;
	__u64 user_bp;
	__u32 stack_len; /* bytes of stack snapshot after the ips */
	__u32 stack_err; /* errno (positive) of the page read that ended the copy early */
	/*
	 * What the sample weighs, per probe: cpu 1 (a tick); offcpu the
	 * nanoseconds it stands for; alloc the bytes requested; faults 1.
	 */
	__u64 value;
	/* alloc: the block's address (0 unknown); faults: the faulting address. */
	__u64 addr;
	/*
	 * The probed call active on the thread when the sample was taken
	 * (sonde trace -f with a stack probe; bpf/callstack.bpf.h), read in
	 * the kernel from the uprobe program's per-thread call stack: the
	 * innermost live one, with the ids its span event carries and its
	 * function (the attach cookie). span_id 0: no probed call was active
	 * (or it is not counted: it entered before the run was armed).
	 */
	__u64 span_id;
	__u64 trace_id_hi;
	__u64 trace_id_lo;
	__u32 func_id;
	__u32 flags; /* SONDE_SAMPLE_* */
	/* The ips, then the stack snapshot; a page of slack keeps BPF's bounds simple. */
	__u64 ips[2 * SONDE_MAX_STACK + (SONDE_MAX_STACK_BYTES + SONDE_PAGE_SIZE) / 8];
};

/*
 * user_ip is one byte past an int3 (and not at one), in a process that has
 * hit uprobes: maybe a thread trapped on a uprobe whose handlers have not
 * run, the probed instruction not run either (its pc is the probe's
 * address), maybe one that has run it, emulated, and goes on from the
 * next byte. The unwinder tells them apart.
 */
#define SONDE_SAMPLE_AT_INT3 1u

#define SONDE_SAMPLE_HDR_SIZE 136
#define SONDE_SAMPLE_SIZE(nr, stack_len) \
	(SONDE_SAMPLE_HDR_SIZE + (nr) * sizeof(__u64) + (stack_len))

_Static_assert(sizeof(struct sonde_sample) ==
		       SONDE_SAMPLE_HDR_SIZE + 2 * SONDE_MAX_STACK * 8 +
			       SONDE_MAX_STACK_BYTES + SONDE_PAGE_SIZE,
	       "struct sonde_sample layout changed");
_Static_assert(__builtin_offsetof(struct sonde_sample, ips) == SONDE_SAMPLE_HDR_SIZE,
	       "struct sonde_sample header size changed");

/* Per-CPU failure counters, indexed by enum sonde_stat. */
enum sonde_stat {
	SONDE_STAT_SAMPLES = 0, /* samples seen for targeted tasks */
	SONDE_STAT_RB_DROPS, /* ring buffer full: sample lost */
	SONDE_STAT_KSTACK_ERR, /* bpf_get_stack(kernel) failed */
	SONDE_STAT_USTACK_ERR, /* bpf_get_stack(user) failed */
	SONDE_STAT_STACK_COPY_ERR, /* no byte of the user stack could be copied */
	SONDE_STAT_PRE_EXEC, /* events of a launched command before its exec (left out) */
	SONDE_STAT_MAX,
};

/* offcpu's counters, after the common ones (same map). */
enum sonde_offcpu_stat {
	SONDE_OSTAT_WAITS = SONDE_STAT_MAX, /* waits of at least min_ns */
	SONDE_OSTAT_WAIT_NS,		    /* their exact total, ns */
	SONDE_OSTAT_SHORT,		    /* waits under min_ns: counted, not stacked */
	SONDE_OSTAT_SHORT_NS,
	SONDE_OSTAT_KEPT,	  /* waits chosen for a stack (all with prob = 1) */
	SONDE_OSTAT_MERGED,	  /* kept while an earlier wait of the thread awaited its stack */
	SONDE_OSTAT_PENDING_FULL, /* pending map full: the wait is lost */
	SONDE_OSTAT_SCHED_ERR,	  /* task work refused: sent with the kernel stack only */
	SONDE_OSTAT_SCRATCH_BUSY, /* every sample slot in use: the wait is lost */
	SONDE_OSTAT_PC_ONLY,	  /* without task works, not in a syscall: user pc only */
	SONDE_OSTAT_STALE, /* without task works: ran user code before its syscall exit, lost */
	SONDE_OSTAT_MAX,
};

/* alloc's counters, after the common ones. */
enum sonde_alloc_stat {
	SONDE_ASTAT_CALLS = SONDE_STAT_MAX, /* allocation calls seen (every one) */
	SONDE_ASTAT_BYTES, /* bytes they requested (exact, sampled or not) */
	SONDE_ASTAT_FREES, /* free() calls of a non-NULL pointer seen (--inuse) */
	SONDE_ASTAT_FREES_TRACKED, /* of those, blocks that were sampled */
	SONDE_ASTAT_LIVE_FULL, /* live-block map full: block not tracked */
	SONDE_ASTAT_FAILED, /* allocations that returned NULL (not counted) */
	SONDE_ASTAT_MAX,
};

/*
 * alloc with --inuse: the address a sampled allocation returned
 * (SONDE_EV_ALLOC_ADDR, right after its sample on the same thread; 0 if
 * it failed), or a sampled block freed or moved by realloc
 * (SONDE_EV_FREE; sent only for blocks the kernel tracks as live).
 */
struct sonde_block {
	__u32 kind; /* SONDE_EV_ALLOC_ADDR or SONDE_EV_FREE */
	__u32 pid;
	__u32 tid;
	__u32 pad;
	__u64 addr;
	__u64 time_ns;
};

_Static_assert(sizeof(struct sonde_block) == 32, "struct sonde_block layout changed");

/* alloc functions, the attach cookie of each probe. */
enum sonde_alloc_fn {
	SONDE_AFN_MALLOC = 0, /* malloc(size), operator new(size) */
	SONDE_AFN_CALLOC, /* calloc(n, size) */
	SONDE_AFN_REALLOC, /* realloc(ptr, size) */
	SONDE_AFN_MEMALIGN, /* memalign/aligned_alloc(align, size) */
	SONDE_AFN_POSIX_MEMALIGN, /* posix_memalign(&ptr, align, size) */
	SONDE_AFN_VALLOC, /* valloc(size), pvalloc(size) */
	SONDE_AFN_MAX,
};

/*
 * One completed call of a probed function (sonde trace), sent only when
 * spans were requested; histograms are aggregated in the kernel.
 * Times are CLOCK_MONOTONIC (bpf_ktime_get_ns). Ids are random and never
 * 0; parent_span_id is 0 for a root call (no probed caller on the thread).
 */
struct sonde_span {
	__u32 kind; /* SONDE_EV_SPAN */
	__u32 func_id; /* index of the probed function (the attach cookie) */
	__u32 pid;
	__u32 tid;
	__u64 start_ns;
	__u64 end_ns;
	__u64 trace_id_hi;
	__u64 trace_id_lo;
	__u64 span_id;
	__u64 parent_span_id;
	__u32 depth; /* 0 for a root call */
	__u32 pad;
};

_Static_assert(sizeof(struct sonde_span) == 72, "struct sonde_span layout changed");

/*
 * Latency histogram of one probed function, per CPU: log2 buckets split
 * into SONDE_HIST_SUB linear sub-buckets, so a bucket is at most 1/16 of
 * its value wide and a percentile read at the bucket middle is within
 * ~3 %. Values below 2 * SONDE_HIST_SUB ns are exact. The call count is
 * the sum of the buckets (exact: every timed call lands in one).
 */
#define SONDE_HIST_SUB_BITS 4
#define SONDE_HIST_SUB (1u << SONDE_HIST_SUB_BITS)
#define SONDE_HIST_BUCKETS ((64 - SONDE_HIST_SUB_BITS + 1) * SONDE_HIST_SUB)

struct sonde_hist {
	__u64 buckets[SONDE_HIST_BUCKETS];
	__u64 sum_ns;
	__u64 max_ns;
};

_Static_assert(sizeof(struct sonde_hist) == (SONDE_HIST_BUCKETS + 2) * 8,
	       "struct sonde_hist layout changed");

/* Index of the highest set bit of @v (v != 0); branchy so BPF can use it. */
static inline __u32 sonde_hist_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/* The bucket of a latency of @ns nanoseconds; shared by BPF and userspace. */
static inline __u32 sonde_hist_bucket(__u64 ns)
{
	__u32 msb;

	if (ns < 2 * SONDE_HIST_SUB)
		return (__u32)ns;
	msb = sonde_hist_log2(ns);
	return (msb - SONDE_HIST_SUB_BITS + 1) * SONDE_HIST_SUB +
	       (__u32)((ns >> (msb - SONDE_HIST_SUB_BITS)) & (SONDE_HIST_SUB - 1));
}

/*
 * sonde trace's per-thread call stacks live in an array of slots; each
 * starts with this header, which the collector reads to count the
 * threads still tracked and those mid-call.
 */
struct sonde_thread_hdr {
	__u32 owner_tid; /* 0: free slot */
	__u32 depth; /* active probed calls */
};

/* Per-CPU counters of sonde trace, indexed by enum sonde_trace_stat. */
enum sonde_trace_stat {
	SONDE_TSTAT_CALLS = 0, /* entries seen */
	SONDE_TSTAT_TIMED, /* returns matched to their entry (histogram adds) */
	SONDE_TSTAT_SPANS, /* span events sent */
	SONDE_TSTAT_RB_DROPS, /* ring buffer full: span lost (still in the histogram) */
	SONDE_TSTAT_DEPTH_OVERFLOW, /* entry deeper than max_depth: call not timed */
	SONDE_TSTAT_UNMATCHED, /* return with no matching entry (e.g. deeper than max_depth) */
	SONDE_TSTAT_ABANDONED, /* frames left without a return (longjmp, exceptions) */
	SONDE_TSTAT_EXIT_FRAMES, /* frames still active when their thread exited */
	SONDE_TSTAT_THREADS_FULL, /* per-thread map full: call not timed */
	SONDE_TSTAT_THREAD_EXITS, /* per-thread stacks reclaimed at thread exit */
	/*
	 * Counted frames pushed, and roots announced but not counted (entered
	 * while disarmed): PUSHED - NOT_COUNTED - TIMED - ABANDONED -
	 * EXIT_FRAMES is the number of counted calls in flight (the collector
	 * waits for them at the end).
	 */
	SONDE_TSTAT_PUSHED,
	SONDE_TSTAT_NOT_COUNTED,
	SONDE_TSTAT_MAX,
};

/*
 * Values of the session's target map (TGID keys): a target, or a launched
 * command that has not exec'd yet. Between its fork and its exec it runs
 * sonde's code: the stack probes leave its samples out (bpf/sample.bpf.h)
 * and its exec makes it SONDE_TARGET_ON (bpf/procevents.bpf.c).
 */
enum sonde_target_state {
	SONDE_TARGET_ON = 1,
	SONDE_TARGET_PRE_EXEC = 2,
};

/*
 * The tls probe (sonde llm): payload bytes of TLS connections (SSL_write/
 * SSL_read through uprobes) and of plaintext TCP sockets (write/read
 * syscalls), in stream order per connection and direction. A call's
 * buffer goes out as as many records as it takes: nothing is cut to a
 * fixed size. Records come in three capacities so short reads (SSE events)
 * do not take a large record's room in the ring; len says what is used.
 * Bytes that could not be sent (ring full, unreadable memory) are counted
 * per connection and direction and reported in the next record's gap (or
 * the close record's), so the decoder knows exactly what it missed.
 */
#define SONDE_TLS_CHUNK_SMALL 464
#define SONDE_TLS_CHUNK_MEDIUM 4048
#define SONDE_TLS_CHUNK_MAX 32720

enum sonde_tls_dir {
	SONDE_TLS_WRITE = 0, /* sent by the process: requests */
	SONDE_TLS_READ = 1,  /* received: responses */
};

enum sonde_tls_source {
	SONDE_TLS_SRC_SSL = 0,	  /* conn is the SSL * (per process) */
	SONDE_TLS_SRC_SOCKET = 1, /* conn is the kernel's struct sock * */
};

struct sonde_tls_hdr {
	__u32 kind; /* SONDE_EV_TLS_DATA */
	__u32 pid;
	__u32 tid;
	__u32 dir;    /* enum sonde_tls_dir */
	__u32 source; /* enum sonde_tls_source */
	__u32 len;    /* bytes used in data[] */
	__u64 conn;
	/*
	 * CLOCK_MONOTONIC: the write's entry (every record of one write
	 * carries it), or the read's return.
	 */
	__u64 ts_ns;
	__u64 gap; /* bytes of this direction lost just before data[] */
};

_Static_assert(sizeof(struct sonde_tls_hdr) == 48, "struct sonde_tls_hdr layout changed");

/* The largest record; smaller ones have the same header and less data. */
struct sonde_tls_data {
	struct sonde_tls_hdr h;
	char data[SONDE_TLS_CHUNK_MAX];
};

_Static_assert((sizeof(struct sonde_tls_hdr) + SONDE_TLS_CHUNK_SMALL) % 8 == 0 &&
		       (sizeof(struct sonde_tls_hdr) + SONDE_TLS_CHUNK_MEDIUM) % 8 == 0 &&
		       sizeof(struct sonde_tls_data) % 8 == 0,
	       "tls record capacities keep 8-byte alignment");

/* A connection ended (SSL_free/SSL_shutdown, close(2)). */
struct sonde_tls_close {
	__u32 kind; /* SONDE_EV_TLS_CLOSE */
	__u32 pid;
	__u32 tid;
	__u32 source;
	__u64 conn;
	__u64 ts_ns;
	__u64 gap[2]; /* bytes lost per direction since the last data record */
};

_Static_assert(sizeof(struct sonde_tls_close) == 48, "struct sonde_tls_close layout changed");

enum sonde_tls_proc_event {
	SONDE_TLS_EXEC = 1, /* a process (a target, or any with -a) exec'd */
	SONDE_TLS_EXIT = 2, /* a target process exited */
};

struct sonde_tls_proc {
	__u32 kind; /* SONDE_EV_TLS_PROC */
	__u32 pid;
	__u32 event; /* enum sonde_tls_proc_event */
	__u32 pad;
	__u64 ts_ns;
};

_Static_assert(sizeof(struct sonde_tls_proc) == 24, "struct sonde_tls_proc layout changed");

/*
 * How a probed function passes the byte count (the attach cookie): the
 * return value (SSL_write, SSL_read), or a size_t * argument, the 4th
 * (SSL_write_ex, SSL_read_ex, OpenSSL's ssl_*_internal) or the 5th
 * (OpenSSL 3.2+'s ssl_write_internal, which takes flags first).
 */
enum sonde_tls_flavor {
	SONDE_TLS_RET = 0,
	SONDE_TLS_EX4 = 4,
	SONDE_TLS_EX5 = 5,
};

/* Per-CPU counters of the tls probe, indexed by enum sonde_tls_stat. */
enum sonde_tls_stat {
	SONDE_TLSSTAT_CALLS = 0,     /* SSL reads and writes that moved bytes */
	SONDE_TLSSTAT_SOCK_CALLS,    /* socket reads and writes that moved bytes */
	SONDE_TLSSTAT_BYTES,	     /* payload bytes sent to the collector */
	SONDE_TLSSTAT_RECORDS,	     /* data records sent */
	SONDE_TLSSTAT_LOST_RING,     /* bytes lost: ring buffer full */
	SONDE_TLSSTAT_LOST_READ,     /* bytes lost: user memory unreadable */
	SONDE_TLSSTAT_SKIPPED,	     /* bytes not sent on purpose (not POST, not HTTP) */
	SONDE_TLSSTAT_STACKS,	     /* request stacks sent */
	SONDE_TLSSTAT_STACK_DROPS,   /* request stacks lost (ring full) */
	SONDE_TLSSTAT_ARGS_FULL,     /* calls untracked: per-thread table full */
	SONDE_TLSSTAT_CONNS_FULL,    /* connection state evicted early (LRU full) */
	SONDE_TLSSTAT_EVENTS_LOST,   /* close/exec/exit records lost (ring full) */
	SONDE_TLSSTAT_MAX,
};

/*
 * Process events of the session's target set (bpf/procevents.bpf.c):
 * every exec on the host when discovery asks for them, the forks and
 * exits of targets and, while stack probes run, the execs and mappings of
 * code of targets (perf's COMM/MMAP/EXIT records: the collector reads a
 * process's maps then, before a short-lived process is gone, and forgets
 * them once the samples taken before its exit are done). PIDs are in
 * sonde's PID namespace (bpf/pidns.bpf.h).
 */
enum sonde_proc_op {
	SONDE_PROC_EXEC = 1, /* pid exec'd (any process, with discovery): a new image */
	SONDE_PROC_FORK = 2, /* target ppid forked pid (now a target too, with follow) */
	SONDE_PROC_EXIT = 3, /* target pid exited (left the target set) */
	SONDE_PROC_MMAP = 4, /* target pid mapped a file with PROT_EXEC at [addr, addr + len) */
};

/* struct sonde_proc_event flags: what concerns the stack probes' symbolization. */
enum sonde_proc_flag {
	SONDE_PROC_F_TARGET = 1, /* pid is a target (-a, or in the target map) */
};

struct sonde_proc_event {
	__u32 kind; /* SONDE_EV_PROC */
	__u32 op;   /* enum sonde_proc_op */
	__u32 pid;
	__u32 ppid; /* FORK: the parent; otherwise 0 */
	__u64 time_ns; /* CLOCK_MONOTONIC */
	__u64 addr; /* MMAP: the mapping; otherwise 0 */
	__u64 len;
	__u32 flags; /* SONDE_PROC_F_* */
	__u32 pad;
	char comm[SONDE_COMM_LEN];
};

_Static_assert(sizeof(struct sonde_proc_event) == 64, "struct sonde_proc_event layout changed");

/* Per-CPU counters of the procevents program, indexed by enum sonde_proc_stat. */
enum sonde_proc_stat {
	SONDE_PSTAT_EVENTS = 0, /* events sent */
	SONDE_PSTAT_RB_DROPS,	/* ring full: event lost */
	SONDE_PSTAT_TARGETS_FULL, /* a forked child could not join the target map */
	SONDE_PSTAT_MAX,
};

#endif /* SONDE_EVENTS_H */
