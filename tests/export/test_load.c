// SPDX-License-Identifier: MIT
/* Any saved profile by its content: gzip or not, folded or pprof; clear failures. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "export/load.h"
#include "model/profile.h"

static const char *put(const char *name, const void *data, size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* @text gzipped with zlib, as gzip(1) would, in @members members; a malloc'd path. */
static char *put_gz(const char *name, const char *text, int members)
{
	char *path = malloc(512);
	gzFile z;

	cr_assert_not_null(path);
	snprintf(path, 512, "%s/%s", test_tmpdir(), name);
	for (int i = 0; i < members; i++) {
		size_t half = strlen(text) / members,
		       len = i == members - 1 ? strlen(text) - half * i : half;

		z = gzopen(path, i ? "ab" : "wb");
		cr_assert_not_null(z);
		cr_assert_eq(gzwrite(z, text + half * i, len), (int)len);
		cr_assert_eq(gzclose(z), Z_OK);
	}
	return path;
}

static int try_load(const char *path, const char *type, struct profile_load_info *info,
		    uint64_t *total)
{
	struct profile *p = profile__new();
	int err = profile_load(path, type, p, info);

	*total = profile__total(p);
	profile__free(p);
	return err;
}

Test(load, folded_plain_and_gzipped_whatever_the_name)
{
	static const char text[] = "app;main;work 5\napp;main 1\n";
	struct profile_load_info info;
	uint64_t total;
	char *gz;

	cr_assert_eq(try_load(put("stacks.txt", text, strlen(text)), NULL, &info, &total), 0);
	cr_assert_eq(info.format, PROFILE_FORMAT_FOLDED);
	cr_assert_eq(info.gzipped, 0);
	cr_assert_eq(total, 6);
	cr_assert_str_eq(info.sample_type, "samples");
	/* Two gzip members, as `cat a.gz b.gz` makes. */
	gz = put_gz("stacks.folded.gz", text, 2);
	cr_assert_eq(try_load(gz, NULL, &info, &total), 0);
	cr_assert_eq(info.format, PROFILE_FORMAT_FOLDED);
	cr_assert_eq(info.gzipped, 1);
	cr_assert_eq(total, 6);
	/* Folded stacks have no other sample type. */
	cr_assert_eq(try_load(gz, "cpu", &info, &total), -EINVAL);
	free(gz);
}

Test(load, unreadable_inputs_fail)
{
	static const char text[] = "app;main;work 5\napp;main 1\n";
	struct profile_load_info info;
	uint64_t total;
	char *gz = put_gz("cut.gz", text, 1), *data;
	size_t len;

	cr_assert_eq(try_load("/nonexistent/x.pb.gz", NULL, &info, &total), -ENOENT);
	cr_assert_eq(try_load(put("empty.pb.gz", "", 0), NULL, &info, &total), -EINVAL);
	/* A gzip file cut short. */
	data = read_file(gz, &len);
	cr_assert_eq(try_load(put("cut2.gz", data, len - 9), NULL, &info, &total), -EBADMSG);
	free(data);
	free(gz);
}
