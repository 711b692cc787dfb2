// SPDX-License-Identifier: MIT
/* sonde report: a saved profile rendered again, in any format. */
#include <stdio.h>

#include "base/log.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/files.h"
#include "model/profile.h"

static void report_usage(FILE *f)
{
	fputs("usage: sonde report FILE [-o OUT]... [options]\n"
	      "\n"
	      "Render a saved profile again, in any format. FILE is pprof (gzipped or not:\n"
	      "sonde's .pb.gz or any other go tool pprof reads) or folded stacks (sonde's,\n"
	      "or perf script report stackcollapse / stackcollapse-perf.pl output); the\n"
	      "format is told from the content. - reads stdin.\n"
	      "\n"
	      "options:\n",
	      f);
	cli_usage_files(f, true);
	fputs("\n"
	      "examples:\n"
	      "  sonde report cpu.pb.gz -o cpu.svg\n"
	      "  sonde report cpu.pb.gz --top 10\n"
	      "  sonde report heap.pb.gz --sample-type inuse_space -o heap.svg\n"
	      "  perf script report stackcollapse > perf.folded; sonde report perf.folded "
	      "-o perf.svg\n"
	      "  sonde report cpu.folded -o - --format svg > cpu.svg\n",
	      f);
}

static const struct files_command report_cmd = {
	.name = "report",
	.ninputs = 1,
	.inputs_usage = "one profile FILE",
	.usage = report_usage,
};

int cli_parse_report(int argc, char **argv, struct files_opts *o)
{
	return cli_parse_files(&report_cmd, argc, argv, o);
}

int cmd_report(int argc, char **argv)
{
	struct profile_load_info info;
	struct output_meta m = {0};
	struct outputs *outs = NULL;
	struct profile *p = NULL;
	char path[4096], title[160];
	struct files_opts o;
	int err;

	err = cli_parse_report(argc, argv, &o);
	if (err)
		return err == CLI_EXIT_HELP ? 0 : err;
	log_set_level(o.verbose ? LOG_INFO : LOG_WARN);
	err = files_load("report", o.inputs[0], o.sample_type, &p, &info, path, sizeof(path));
	if (!err)
		err = outputs__open(&o.out, "report", &outs);
	if (err)
		goto out_free;
	files_meta(&info, p, o.out.inverted ? "icicle graph" : "flame graph", &m, title,
		   sizeof(title));
	m.subtitle = o.out.cmdline;
	err = outputs__write_profile(outs, p, &m);
	if (!err)
		log_summary("report: %llu %s in %s (%s, %s/%s)%s",
			    (unsigned long long)profile__total(p), m.units, path,
			    info.format == PROFILE_FORMAT_PPROF ? "pprof" : "folded",
			    info.sample_type, info.sample_unit, outputs__wrote(outs));
out_free:
	outputs__free(outs);
	profile__free(p);
	files_opts_free(&o);
	return err;
}
