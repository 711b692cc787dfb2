// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "cmd/files.h"
#include "export/window.h"
#include "model/profile.h"

int files_load(const char *cmd, const char *path, const char *sample_type, struct profile **out,
	       struct profile_load_info *info, char *resolved, size_t len)
{
	struct profile *p;
	struct stat st;
	int err;

	*out = NULL;
	if (strcmp(path, "-") && !stat(path, &st) && S_ISDIR(st.st_mode)) {
		err = window_find_last(path, resolved, len);
		if (err)
			return err;
	} else {
		snprintf(resolved, len, "%s", path);
	}
	p = profile__new();
	if (!p) {
		log_err("%s: failed to allocate a profile: %s", cmd, strerror(ENOMEM));
		return -ENOMEM;
	}
	err = profile_load(resolved, sample_type, p, info);
	if (!err && !profile__total(p)) {
		log_err("%s: '%s' has no %s to show%s", cmd, resolved, info->sample_type,
			info->skipped ? " (only negative values)" : "");
		err = -ENODATA;
	}
	if (err) {
		profile__free(p);
		return err;
	}
	*out = p;
	return 0;
}

void files_meta(const struct profile_load_info *info, const struct profile *p, const char *graph,
		struct output_meta *m, char *title, size_t len)
{
	const char *type = info->sample_type, *unit = info->sample_unit;
	bool cpu_samples = !strcmp(type, "samples") && !strcmp(unit, "count");

	if (cpu_samples) {
		snprintf(title, len, "CPU %s", graph);
		m->unit = "sample";
		m->units = "samples";
		/* No sampling period (folded stacks): no CPU time to write either. */
		if (!profile__period_ns(p)) {
			m->sample_type = type;
			m->sample_unit = unit;
		}
	} else {
		snprintf(title, len, "%s %s", type, graph);
		/* "3 bytes", "3 nanoseconds"; a bare count is of the type itself. */
		m->unit = m->units = strcmp(unit, "count") ? unit : type;
		/* pprof keeps what the counts are; our default pair is CPU samples. */
		m->sample_type = type;
		m->sample_unit = unit;
	}
	m->title = title;
}
