// SPDX-License-Identifier: MIT
/*
 * The documentation a user gets with the binary: man pages that lint clean
 * (mandoc -T lint, man --warnings) and name every option --help prints,
 * bash completion that completes commands, options and their values, and
 * `meson install` putting all of it under the prefix.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"

static const char *const commands[] = {"record", "trace", "llm", "report", "diff"};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *page(const char *name)
{
	static char path[4][512];
	static int slot;
	char *b = path[slot++ % 4];

	snprintf(b, sizeof(path[0]), "%s/%s.1", source_path("man"), name);
	return b;
}

Test(docs, man_pages_lint_clean)
{
	static const char *const pages[] = {"sonde",	    "sonde-record", "sonde-trace",
					    "sonde-llm",    "sonde-report", "sonde-diff"};

	require_path("/usr/bin/mandoc", X_OK, "mandoc");
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		char *out = NULL, *err = NULL;
		char *lint[] = {"/usr/bin/mandoc",	"-T", "lint", "-W", "warning",
				(char *)page(pages[i]), NULL};
		char *man[] = {"/usr/bin/man", "--warnings", "-l", (char *)page(pages[i]), NULL};
		int rc = run_cmd(lint, &out, &err);

		cr_expect_eq(rc, 0, "mandoc -T lint %s: %s%s", pages[i], out, err);
		cr_expect_str_eq(out, "", "mandoc -T lint %s", pages[i]);
		free(out);
		free(err);
		setenv("MANWIDTH", "80", 1);
		rc = run_cmd(man, &out, &err);
		cr_expect_eq(rc, 0, "man -l %s: %s", pages[i], err);
		cr_expect_str_eq(err, "", "man --warnings %s", pages[i]);
		/* The NAME line as whatis(1) shows it. */
		cr_expect(strstr(out, "NAME\n       sonde"), "%s renders no NAME:\n%.300s",
			  pages[i], out);
		free(out);
		free(err);
	}
}

/* Is option @opt ("--title", "-o") written in roff page @text ("\-\-title")? */
static bool in_page(const char *text, const char *opt)
{
	char roff[128], *d = roff;

	for (const char *s = opt; *s && d < roff + sizeof(roff) - 3; s++) {
		if (*s == '-')
			*d++ = '\\';
		*d++ = *s;
	}
	*d = '\0';
	for (const char *p = text; (p = strstr(p, roff)); p++) {
		char next = p[strlen(roff)];

		/* Whole option: "\-\-top" is not "\-\-top\-level". */
		if (!(next >= 'a' && next <= 'z') && next != '\\')
			return true;
	}
	return false;
}

/* Every option of `sonde CMD --help` is in sonde-CMD(1), or sonde(1)'s COMMON OPTIONS. */
Test(docs, every_help_option_is_in_the_man_pages)
{
	char *common = read_file(page("sonde"), NULL), *top = NULL;
	char *argv[] = {(char *)sonde_bin(), "--help", NULL};

	cr_assert(common);
	cr_assert_eq(run_cmd(argv, &top, NULL), 0);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char name[64], *help = NULL, *own;
		char *cargv[] = {(char *)sonde_bin(), (char *)commands[i], "--help", NULL};
		unsigned int n = 0;

		/* Every command is listed by sonde --help and in sonde(1), with a page. */
		snprintf(name, sizeof(name), "  %s ", commands[i]);
		cr_expect(strstr(top, name), "sonde --help lacks %s", commands[i]);
		snprintf(name, sizeof(name), ".B %s\n", commands[i]);
		cr_expect(strstr(common, name), "sonde(1) lacks the command %s", commands[i]);
		snprintf(name, sizeof(name), "sonde-%s", commands[i]);
		own = read_file(page(name), NULL);
		cr_assert(own, "no man page %s", page(name));
		cr_assert_eq(run_cmd(cargv, &help, NULL), 0);
		for (const char *p = help; (p = strstr(p, "-")); p++) {
			char opt[64];
			size_t len;

			/* Options start a word: "  -o, --output", ", --pid". */
			if (p > help && p[-1] != ' ' && p[-1] != '[')
				continue;
			len = strspn(p, "-") +
			      strspn(p + strspn(p, "-"),
				     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");
			if (len < 2 || len >= sizeof(opt) || p[1] == ' ' ||
			    !((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') ||
			      p[1] == '-'))
				continue;
			memcpy(opt, p, len);
			opt[len] = '\0';
			/* "--" alone (the command separator) is an option too. */
			if (!strcmp(opt, "--") || opt[len - 1] == '-')
				continue;
			n++;
			cr_expect(in_page(own, opt) || in_page(common, opt),
				  "sonde %s --help has %s, which neither sonde-%s(1) nor sonde(1) "
				  "documents",
				  commands[i], opt, commands[i]);
		}
		cr_expect_gt(n, 10, "only %u options found in sonde %s --help", n, commands[i]);
		free(help);
		free(own);
	}
	free(top);
	free(common);
}

/* COMPREPLY of the completion for the words @line (the last one being completed). */
static char *complete(const char *line)
{
	char script[2048], *out = NULL, *err = NULL;
	char *argv[] = {"/bin/bash", "--norc", "-c", script, "_", (char *)line, NULL};
	int rc;

	snprintf(script, sizeof(script),
		 "source '%s' || exit 9; read -ra COMP_WORDS <<< \"$1\"; "
		 "[[ $1 == *' ' ]] && COMP_WORDS+=(''); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
		 "COMP_WORDS[0]='%s'; _sonde; printf '%%s\\n' \"${COMPREPLY[@]}\" | sort -u",
		 source_path("completions/sonde.bash"), sonde_bin());
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "bash completion failed (%d): %s", rc, err);
	free(err);
	return out;
}

static void expect_completion(const char *line, const char *want)
{
	char *got = complete(line);

	cr_expect_str_eq(got, want, "completing '%s'", line);
	free(got);
}

Test(docs, bash_completion)
{
	char *got, dir[600], file[700];
	FILE *f;

	expect_completion("sonde re", "record\nreport\n");
	expect_completion("sonde d", "diff\n");
	expect_completion("sonde record --ti", "--title\n");
	expect_completion("sonde record --inv", "--inverted\n");
	expect_completion("sonde report --sa", "--sample-type\n");
	expect_completion("sonde diff --no", "--normalize\n");
	expect_completion("sonde trace --call-graph ", "dwarf\nfp\n");
	expect_completion("sonde record -e u", "uprobe\n");
	expect_completion("sonde report x.pb.gz --format s", "svg\n");
	/* An option's value that is a number: nothing to offer, not more options. */
	expect_completion("sonde record --width ", "\n");
	/* Files for -o and for report's and diff's inputs. */
	snprintf(dir, sizeof(dir), "%s/compl", test_tmpdir());
	mkdir(dir, 0700);
	snprintf(file, sizeof(file), "%s/cpu.pb.gz", dir);
	f = fopen(file, "w");
	cr_assert(f);
	fclose(f);
	snprintf(file, sizeof(file), "sonde diff %s/c", dir);
	got = complete(file);
	snprintf(file, sizeof(file), "%s/cpu.pb.gz\n", dir);
	cr_expect_str_eq(got, file);
	free(got);
	snprintf(file, sizeof(file), "sonde record -o %s/cp", dir);
	got = complete(file);
	snprintf(file, sizeof(file), "%s/cpu.pb.gz\n", dir);
	cr_expect_str_eq(got, file);
	free(got);
	/* After "--", the command to launch. */
	got = complete("sonde record -F 99 -- bas");
	cr_expect(strstr(got, "bash\n"), "%s", got);
	free(got);
}

/* meson install puts the binary, the man pages and the completion under the prefix. */
Test(docs, meson_install)
{
	const char *build = getenv("BUILD_ROOT"), *meson = find_in_path("meson", NULL);
	char dest[600], path[1200], *out = NULL, *err = NULL, *prefix = NULL;
	static const char *const files[] = {
		"bin/sonde",
		"share/man/man1/sonde.1",
		"share/man/man1/sonde-record.1",
		"share/man/man1/sonde-trace.1",
		"share/man/man1/sonde-report.1",
		"share/man/man1/sonde-diff.1",
		"share/man/man1/sonde-llm.1",
		"share/bash-completion/completions/sonde",
	};
	int rc;

	cr_assert(build, "BUILD_ROOT is not set: run the tests through meson test");
	if (!meson)
		skip_or_fail("meson");
	snprintf(dest, sizeof(dest), "%s/destdir", test_tmpdir());
	{
		char *argv[] = {(char *)meson, "install",   "-C", (char *)build, "--no-rebuild",
				"--quiet",     "--destdir", dest, NULL};

		rc = run_cmd(argv, &out, &err);
	}
	cr_assert_eq(rc, 0, "meson install failed (%d): %s%s", rc, out, err);
	free(out);
	free(err);
	{
		char *argv[] = {(char *)meson, "introspect", (char *)build, "--buildoptions", NULL};
		char *p;

		cr_assert_eq(run_cmd(argv, &out, NULL), 0);
		p = strstr(out, "\"name\": \"prefix\"");
		cr_assert(p, "no prefix in meson introspect");
		p = strstr(p, "\"value\": \"");
		cr_assert(p);
		p += strlen("\"value\": \"");
		prefix = strndup(p, strcspn(p, "\""));
		free(out);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s/%s", dest, prefix, files[i]);
		cr_expect_eq(access(path, R_OK), 0, "meson install did not install %s", path);
	}
	snprintf(path, sizeof(path), "%s%s/bin/sonde", dest, prefix);
	cr_expect_eq(access(path, X_OK), 0);
	free(prefix);
}
