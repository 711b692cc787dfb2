/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A snapshot of a user stack for the collector's DWARF unwinding, shared
 * by the stack-sampling probes (sample.bpf.h) and the tls probe's request
 * stacks. Include after vmlinux.h, the libbpf headers and sonde/events.h.
 */
#ifndef SONDE_BPF_USTACK_H
#define SONDE_BPF_USTACK_H

/* Offset in ips[] (bytes) past which a snapshot chunk may not start. */
#define STACK_OFF_MAX (2 * SONDE_MAX_STACK * 8 + SONDE_MAX_STACK_BYTES)

/*
 * Up to @size bytes of user stack from @sp upward, to byte offset @off of
 * @s->ips. Page by page: a read that would cross the top of the stack
 * mapping fails as a whole, so the pages below it are kept; the failure
 * goes to @s->stack_err. Returns the bytes copied.
 */
static __always_inline __u32 copy_stack_pages(struct sonde_sample *s, __u32 off, __u64 sp,
					      __u32 size)
{
	__u64 copied = 0;

	for (int i = 0; i < SONDE_MAX_STACK_BYTES / SONDE_PAGE_SIZE + 1; i++) {
		__u64 chunk, at;
		long err;

		if (copied >= size)
			break;
		chunk = SONDE_PAGE_SIZE - ((sp + copied) & (SONDE_PAGE_SIZE - 1));
		if (chunk > size - copied)
			chunk = size - copied;
		at = off + copied;
		/*
		 * Bounds the verifier can follow: at + chunk stays inside
		 * ips[]. The barriers keep clang from checking one copy of a
		 * value and passing another.
		 */
		barrier_var(chunk);
		barrier_var(at);
		if (at > STACK_OFF_MAX || chunk > SONDE_PAGE_SIZE)
			break;
		err = bpf_probe_read_user((char *)s->ips + at, chunk, (void *)(sp + copied));
		if (err) {
			s->stack_err = -err;
			break;
		}
		copied += chunk;
	}
	return copied;
}

#endif /* SONDE_BPF_USTACK_H */
