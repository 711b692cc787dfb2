/* SPDX-License-Identifier: MIT */
/*
 * Whole-buffer xz decompression with a bound on the output, for
 * MiniDebugInfo (.gnu_debugdata): the input is untrusted, so neither a
 * corrupt stream nor a decompression bomb may crash or exhaust memory.
 */
#ifndef SONDE_XZ_H
#define SONDE_XZ_H

#include <stddef.h>

/*
 * Decompress the .xz stream(s) in @in[0..@len). On success returns 0 and
 * sets *@out (malloc'd, caller frees) and *@out_len. Returns -EINVAL for
 * corrupt or truncated input, -EFBIG when the output would exceed
 * @max_out bytes, -ENOMEM.
 */
int xz_decompress(const void *in, size_t len, size_t max_out, void **out, size_t *out_len);

#endif /* SONDE_XZ_H */
