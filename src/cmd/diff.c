// SPDX-License-Identifier: MIT
/* sonde diff: what changed between two profiles. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/files.h"
#include "model/profile.h"

static void diff_usage(FILE *f)
{
	fputs("usage: sonde diff BEFORE AFTER [-o OUT]... [options]\n"
	      "\n"
	      "Compare two profiles: print the functions whose share of the samples moved\n"
	      "most, and write AFTER's flame graph coloured by the change of each frame's\n"
	      "share of all samples (red grew, blue shrank; both sides normalised by their\n"
	      "totals). BEFORE and AFTER are files as sonde report reads, or directories\n"
	      "of profile windows, of which the last is taken: windows are named\n"
	      "[NAME-]YYYYMMDDTHHMMSSZ.pb.gz, their start time in UTC (e.g.\n"
	      "checkout-20250314T093000Z.pb.gz).\n"
	      "\n"
	      "options:\n"
	      "  -o, --output FILE.svg   the differential flame graph\n"
	      "  -o, --output FILE.folded  \"stack BEFORE AFTER\" per line, as difffolded.pl\n"
	      "                          writes; -o - writes to stdout (--format); the table\n"
	      "                          of the top movers is always printed\n"
	      "  -n, --normalize         in .folded, scale BEFORE to AFTER's total (-n of\n"
	      "                          difffolded.pl)\n",
	      f);
	cli_usage_files(f, false);
	fputs("\n"
	      "examples:\n"
	      "  sonde diff before.pb.gz after.pb.gz -o diff.svg\n"
	      "  sonde diff before.folded after.folded -o diff.folded -n\n"
	      "  sonde diff windows/v1 windows/v2 -o diff.svg --top 10\n",
	      f);
}

static const struct files_command diff_cmd = {
	.name = "diff",
	.ninputs = 2,
	.inputs_usage = "two profiles, BEFORE AFTER",
	.diff = true,
	.usage = diff_usage,
};

int cli_parse_diff(int argc, char **argv, struct files_opts *o)
{
	return cli_parse_files(&diff_cmd, argc, argv, o);
}

/* Both sides must count the same thing. 0 or -EINVAL after one line. */
static int check_same_type(const struct profile_load_info *info, char path[2][4096])
{
	if (!strcmp(info[0].sample_type, info[1].sample_type) &&
	    !strcmp(info[0].sample_unit, info[1].sample_unit))
		return 0;
	log_err("diff: cannot compare %s/%s of '%s' with %s/%s of '%s': give --sample-type",
		info[0].sample_type, info[0].sample_unit, path[0], info[1].sample_type,
		info[1].sample_unit, path[1]);
	return -EINVAL;
}

int cmd_diff(int argc, char **argv)
{
	struct profile_load_info info[2];
	struct output_meta m = {0};
	struct outputs *outs = NULL;
	struct profile *p[2] = {NULL, NULL};
	char path[2][4096], title[160];
	struct files_opts o;
	int err;

	err = cli_parse_diff(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	log_set_level(o.verbose ? LOG_INFO : LOG_WARN);
	for (int i = 0; i < 2 && !err; i++)
		err = files_load("diff", o.inputs[i], o.sample_type, &p[i], &info[i], path[i],
				 sizeof(path[i]));
	if (!err)
		err = check_same_type(info, path);
	if (!err)
		err = outputs__open(&o.out, "diff", &outs);
	if (err)
		goto out_free;
	files_meta(&info[1], p[1], "differential flame graph", &m, title, sizeof(title));
	m.subtitle = o.out.cmdline;
	m.before = p[0];
	m.normalize = o.normalize;
	err = outputs__write_profile(outs, p[1], &m);
	if (!err)
		log_summary("diff: before %s (%llu %s), after %s (%llu)%s", path[0],
			    (unsigned long long)profile__total(p[0]), m.units, path[1],
			    (unsigned long long)profile__total(p[1]), outputs__wrote(outs));
out_free:
	outputs__free(outs);
	profile__free(p[0]);
	profile__free(p[1]);
	files_opts_free(&o);
	return err;
}
