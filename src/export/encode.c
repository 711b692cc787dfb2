// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "export/encode.h"
#include "export/folded.h"
#include "export/pprof.h"
#include "model/profile.h"

int profile_encode(const struct profile *p, enum window_format fmt, const struct svg_opts *so,
		   char **buf, size_t *len)
{
	FILE *f;
	int err;

	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (!f)
		return -ENOMEM;
	switch (fmt) {
	case WINDOW_PPROF:
		err = pprof__write(p, f);
		break;
	case WINDOW_FOLDED:
		err = folded__write(p, f);
		break;
	case WINDOW_SVG:
		err = flamegraph_svg__write(p, f, so);
		break;
	default:
		err = -EINVAL;
	}
	/* A memory stream fails only for want of memory. */
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return err;
}

bool profile_has_samples(const struct profile *p)
{
	for (size_t t = 0; t < profile__type_count(p); t++)
		if (profile__type_total(p, (uint32_t)t))
			return true;
	return false;
}
