// SPDX-License-Identifier: MIT
/*
 * sonde agent end to end, under root with BPF: a configuration file with
 * an environment section, a fixture started after the agent is found by
 * discovery, profiled, labelled on /metrics, pushed to a loopback
 * Pyroscope receiver (decoded with Python's MIME parser and go tool
 * pprof) and written to the output directory; SIGHUP reloads (accepted
 * and rejected), SIGTERM flushes the last window.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "anomaly_check.h"
#include "helpers.h"
#include "http_rx.h"
#include "llm_server.h"

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* A free loopback TCP port for the agent's /metrics. */
static int free_port(void)
{
	int port, fd = loopback_socket(SOCK_STREAM, &port);

	close(fd);
	return port;
}

/* GET @path from the agent, 0 when it answered; the reply in @r. */
static int get(int port, const char *path, struct http_reply *r)
{
	return http_request(AF_INET, (unsigned int)port, "GET", path, r);
}

/* Wait up to @secs for @path to answer @status. */
static bool wait_status(int port, const char *path, int status, double secs)
{
	for (double t0 = now_s(); now_s() - t0 < secs; usleep(100 * 1000)) {
		struct http_reply r = {0};
		bool ok = !get(port, path, &r) && r.status == status;

		http_reply_free(&r);
		if (ok)
			return true;
	}
	return false;
}

/* The body of /metrics once it holds @needle (NULL after @secs). */
static char *metrics_with(int port, const char *needle, double secs)
{
	for (double t0 = now_s(); now_s() - t0 < secs; usleep(200 * 1000)) {
		struct http_reply r = {0};

		if (!get(port, "/metrics", &r) && r.status == 200 && strstr(r.body, needle)) {
			char *body = strdup(r.body);

			http_reply_free(&r);
			return body;
		}
		http_reply_free(&r);
	}
	return NULL;
}

/* A request's header value ("Content-Type"), malloc'd. */
static char *header_of(const struct rx_req *q, const char *name)
{
	const char *h = strcasestr(q->head, name);
	size_t n;

	cr_assert(h, "no %s in %s", name, q->head);
	h += strlen(name) + 1;
	h += strspn(h, " ");
	n = strcspn(h, "\r\n");
	return strndup(h, n);
}

/* tests/pyroscope_form.py on one /ingest request: its lines; the parts go to @dir. */
static char *decode_ingest(const struct rx_req *q, const char *dir)
{
	char body[640], *ctype = header_of(q, "Content-Type:"), *out, *err;
	FILE *f;
	int rc;

	snprintf(body, sizeof(body), "%s/body", dir);
	mkdir(dir, 0700);
	f = fopen(body, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(q->body, 1, q->len, f), q->len);
	fclose(f);
	char *argv[] = {(char *)find_in_path("python3", "/usr/bin/python3"),
			(char *)source_path("tests/pyroscope_form.py"),
			(char *)q->path,
			ctype,
			body,
			(char *)dir,
			NULL};
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "the form does not decode: %s", err);
	free(ctype);
	free(err);
	return out;
}

/* With environment @env of the file, unless NULL. */
static pid_t start_agent(const char *cfg, const char *env, const char *log)
{
	char *argv[] = {(char *)sonde_bin(),  "agent",	   "--config", (char *)cfg,
			env ? "--env" : NULL, (char *)env, NULL};

	return spawn(argv, log, log);
}

/* SIGTERM, then the exit status within @secs (-1: still running, killed). */
static int stop_agent(pid_t pid, double secs)
{
	int st;

	kill(pid, SIGTERM);
	for (double t0 = now_s(); now_s() - t0 < secs; usleep(50 * 1000))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int count_files(const char *dir, const char *prefix, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert(d, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = strlen(suffix);

		n += !strncmp(e->d_name, prefix, strlen(prefix)) && len > sl &&
		     !strcmp(e->d_name + len - sl, suffix);
	}
	closedir(d);
	return n;
}

/*
 * An agent on @cfg (its /metrics on @port) over one run of the fixture
 * @fargv (its stdout to @fout), @linger_s seconds more, then SIGTERM:
 * the agent's log, once it exited 0.
 */
static char *agent_over(const char *cfg, const char *log, int port, char *const fargv[],
			const char *fout, unsigned int linger_s)
{
	pid_t agent = start_agent(cfg, NULL, log), fix;
	char *logs;
	int rc;

	cr_assert(wait_status(port, "/readyz", 200, 20), "never ready: %s", read_file(log, NULL));
	fix = spawn(fargv, fout, "/dev/null");
	cr_assert_eq(waitpid(fix, &rc, 0), fix);
	cr_assert(WIFEXITED(rc) && !WEXITSTATUS(rc), "the fixture failed: %d", rc);
	sleep(linger_s);
	rc = stop_agent(agent, 15);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	return logs;
}

/*
 * The whole path: a fixture started after the agent is discovered by its
 * exec, profiled at the environment's frequency, its CPU labelled on
 * /metrics, its windows pushed to Pyroscope as series cpu_split{...} and
 * written to the directory; SIGTERM delivers the last window and exits 0.
 */
Test(agent_run, discovers_profiles_pushes_and_flushes, .timeout = 120)
{
	struct rx rx = {0};
	char cfg[512], text[2048], dir[512], log[512], url[64], *m, *form, *logs;
	int port = free_port(), rc, windows = 0;
	pid_t agent, fix;

	require_bpf();
	rx_start(&rx);
	snprintf(url, sizeof(url), "%s", rx_url(&rx));
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/windows", test_tmpdir());
	snprintf(log, sizeof(log), "%s/agent.log", test_tmpdir());
	snprintf(text, sizeof(text),
		 "service:\n"
		 "  labels:\n"
		 "    team: core\n"
		 "targets:\n"
		 "  include:\n"
		 "    comm: [cpu_split]\n"
		 "  rescan_interval: 500ms\n"
		 "probes:\n"
		 "  cpu:\n"
		 "    frequency: 49\n"
		 "exporters:\n"
		 "  listen:\n"
		 "    address: 127.0.0.1:%d\n"
		 "  pyroscope:\n"
		 "    url: %s\n"
		 "  files:\n"
		 "    directory: %s\n"
		 "window: 2s\n"
		 "log:\n"
		 "  level: info\n"
		 "environments:\n"
		 "  test:\n"
		 "    probes:\n"
		 "      cpu:\n"
		 "        frequency: 199\n",
		 port, url, dir);
	write_text(cfg, text);
	agent = start_agent(cfg, "test", log);
	cr_assert(wait_status(port, "/healthz", 200, 20), "the agent never served /healthz: %s",
		  read_file(log, NULL));
	cr_assert(wait_status(port, "/readyz", 200, 10), "never ready: %s", read_file(log, NULL));
	/* Started after the agent: found by its exec. */
	char *fargv[] = {(char *)fixture_path("cpu_split"), "4", NULL};
	fix = spawn(fargv, "/dev/null", "/dev/null");
	m = metrics_with(port, "sonde_agent_targets 1", 10);
	cr_assert(m, "the fixture was never a target: %s", read_file(log, NULL));
	free(m);
	m = metrics_with(port, "sonde_target_cpu_seconds_total{", 10);
	cr_assert(m, "no target CPU metric");
	cr_assert(strstr(m, "comm=\"cpu_split\""), "%s", m);
	cr_assert(strstr(m, "service_name=\"cpu_split\""), "%s", m);
	cr_assert(strstr(m, "team=\"core\""), "%s", m);
	free(m);
	cr_assert_eq(waitpid(fix, &rc, 0), fix);
	/* A receiver that takes every window: no failure, no drop, counted as such. */
	m = metrics_with(port, "sonde_agent_windows_total 2", 10);
	cr_assert(m, "no second window: %s", read_file(log, NULL));
	cr_assert(strstr(m, "\nsonde_export_errors_total{exporter=\"pyroscope\"} 0\n"), "%s", m);
	cr_assert(strstr(m,
			 "\nsonde_export_dropped_total{exporter=\"pyroscope\",signal=\"profiles\"} "
			 "0\n"),
		  "%s", m);
	cr_assert(strstr(m, "\nsonde_export_errors_total{exporter=\"files\"} 0\n"), "%s", m);
	cr_assert(strstr(m, "\nsonde_agent_windows_failed_total 0\n"), "%s", m);
	free(m);
	/* Its last window, then SIGTERM delivers what is left. */
	sleep(2);
	rc = stop_agent(agent, 15);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	rx_stop(&rx);

	cr_assert_geq(rx.n, 2, "%d windows pushed: %s", rx.n, logs);
	for (int i = 0; i < rx.n; i++) {
		struct rx_req *q = &rx.req[i];
		char parts[512], prof[600], *top;

		cr_assert(!strncmp(q->path, "/ingest?", 8), "%s", q->path);
		snprintf(parts, sizeof(parts), "%s/form%d", test_tmpdir(), i);
		form = decode_ingest(q, parts);
		cr_assert(strstr(form, "query name=cpu_split{team=core}\n"), "%s", form);
		cr_assert(strstr(form, "query sampleRate=199\n"), "%s", form);
		cr_assert(strstr(form, "query spyName=sonde\n"), "%s", form);
		cr_assert(strstr(form, "query format=pprof\n"), "%s", form);
		snprintf(prof, sizeof(prof), "%s/profile", parts);
		top = pprof_run(prof, "-top", "-nodecount=50", NULL);
		/* Every window holds the fixture's hot functions. */
		windows += strstr(top, "heavy") && strstr(top, "parent");
		free(top);
		free(form);
	}
	cr_assert_geq(windows, 1, "no window holds heavy and parent");
	/* The directory holds the same windows, one file each. */
	cr_assert_geq(count_files(dir, "cpu_split-", ".pb.gz"), 2);
	cr_assert(strstr(logs, "profiling PID"), "%s", logs);
	free(logs);
	rx_free(&rx);
}

/* The reload test's file: the comm included, the /metrics port. */
#define RELOAD_FMT                    \
	"targets:\n"                  \
	"  include:\n"                \
	"    comm: [%s]\n"            \
	"  rescan_interval: 500ms\n"  \
	"probes:\n"                   \
	"  cpu:\n"                    \
	"    frequency: 49\n"         \
	"exporters:\n"                \
	"  listen:\n"                 \
	"    address: 127.0.0.1:%d\n" \
	"window: 1s\n"                \
	"log:\n"                      \
	"  level: info\n"

/*
 * SIGHUP: a configuration that now includes the fixture is applied in
 * place (targets only) and the fixture becomes a target; a broken one is
 * rejected with its file:line and the agent keeps running as it was; a
 * new CPU frequency restarts the probes, and the target is found again.
 */
Test(agent_run, sighup_reloads_in_place_and_rejects_broken, .timeout = 120)
{
	char cfg[512], text[1024], log[512], *m, *logs = NULL;
	int port = free_port(), rc;
	pid_t agent, fix;

	require_bpf();
	snprintf(cfg, sizeof(cfg), "%s/reload.yaml", test_tmpdir());
	snprintf(log, sizeof(log), "%s/reload.log", test_tmpdir());
	snprintf(text, sizeof(text), RELOAD_FMT, "no_such_program", port);
	write_text(cfg, text);
	char *fargv[] = {(char *)fixture_path("cpu_split"), "8", NULL};
	fix = spawn(fargv, "/dev/null", "/dev/null");
	agent = start_agent(cfg, NULL, log);
	cr_assert(wait_status(port, "/readyz", 200, 20), "never ready: %s", read_file(log, NULL));
	m = metrics_with(port, "sonde_agent_targets 0", 5);
	cr_assert(m, "a target before the reload");
	free(m);

	snprintf(text, sizeof(text), RELOAD_FMT, "cpu_split", port);
	write_text(cfg, text);
	kill(agent, SIGHUP);
	m = metrics_with(port, "sonde_agent_targets 1", 10);
	cr_assert(m, "the reload found no target: %s", read_file(log, NULL));
	cr_assert(strstr(m, "sonde_agent_reloads_total{result=\"success\"} 1"), "%s", m);
	free(m);

	write_text(cfg, "targets:\n  include:\n    comm: [cpu_split]\nprobes:\n  cpu:\n"
			"    frequency: lots\n");
	kill(agent, SIGHUP);
	m = metrics_with(port, "sonde_agent_reloads_total{result=\"failure\"} 1", 10);
	cr_assert(m, "the broken reload was not counted: %s", read_file(log, NULL));
	cr_assert(strstr(m, "sonde_agent_targets 1"), "%s", m);
	free(m);

	/* A probe's key: the session ends with its window and a new one starts. */
	snprintf(text, sizeof(text), RELOAD_FMT, "cpu_split", port);
	*strstr(text, "frequency: 49") = '\0';
	strcat(text, "frequency: 99\nexporters:\n  listen:\n");
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "    address: 127.0.0.1:%d\nwindow: 1s\nlog:\n  level: info\n", port);
	write_text(cfg, text);
	kill(agent, SIGHUP);
	for (double t0 = now_s(); now_s() - t0 < 10; usleep(200 * 1000)) {
		free(logs);
		logs = read_file(log, NULL);
		if (strstr(logs, "sampling at 99 Hz"))
			break;
	}
	cr_assert(strstr(logs, "probes.cpu.frequency changed, restarting the probes"), "%s", logs);
	cr_assert(strstr(logs, "sampling at 99 Hz"), "%s", logs);
	m = metrics_with(port, "sonde_agent_targets 1", 10);
	cr_assert(m, "the new session found no target: %s", read_file(log, NULL));
	free(m);
	free(logs);
	rc = stop_agent(agent, 15);
	kill(fix, SIGKILL);
	waitpid(fix, NULL, 0);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	cr_assert(strstr(logs, "reload.yaml:6"), "no file:line for the broken value: %s", logs);
	cr_assert(strstr(logs, "configuration reload rejected"), "%s", logs);
	cr_assert(strstr(logs, "applied in place"), "%s", logs);
	free(logs);
}

/*
 * A sidecar's view: the agent and its target in a new PID and mount
 * namespace (unshare --pid --fork --mount-proc), where the kernel's TGIDs
 * are not the agent's: the fixture is discovered, sampled and symbolized,
 * and its windows hold its functions.
 */
Test(agent_run, inside_a_pid_namespace, .timeout = 120)
{
	char cfg[512], text[1024], dir[512], script[2048], path[1024], *out, *err, *top;
	const char *unshare = find_in_path("unshare", "/usr/bin/unshare");
	int rc, found = 0;
	DIR *d;
	struct dirent *e;

	require_bpf();
	snprintf(cfg, sizeof(cfg), "%s/ns.yaml", test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/ns-windows", test_tmpdir());
	snprintf(text, sizeof(text),
		 "targets:\n"
		 "  include:\n"
		 "    comm: [cpu_split]\n"
		 "probes:\n"
		 "  cpu:\n"
		 "    frequency: 199\n"
		 "exporters:\n"
		 "  listen:\n"
		 "    enabled: false\n"
		 "  files:\n"
		 "    directory: %s\n"
		 "window: 1s\n"
		 "log:\n"
		 "  level: info\n",
		 dir);
	write_text(cfg, text);
	snprintf(script, sizeof(script),
		 "%s agent --config %s & a=$!\n"
		 "sleep 1.5\n"
		 "%s 3 >/dev/null\n"
		 "sleep 1.5\n"
		 "kill -TERM $a\n"
		 "wait $a\n",
		 sonde_bin(), cfg, fixture_path("cpu_split"));
	char *argv[] = {(char *)unshare, "--pid", "--fork", "--mount-proc", "sh", "-c", script,
			NULL};
	rc = run_cmd(argv, &out, &err);
	cr_assert_eq(rc, 0, "the agent in a PID namespace failed (%d): %s", rc, err);
	cr_assert(strstr(err, "in a PID namespace"), "%s", err);
	cr_assert(strstr(err, "profiling PID"), "the fixture was not found: %s", err);
	d = opendir(dir);
	cr_assert(d, "no windows: %s", err);
	while ((e = readdir(d)) && !found) {
		if (strncmp(e->d_name, "cpu_split-", 10))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		top = pprof_run(path, "-top", "-nodecount=50", NULL);
		found = strstr(top, "heavy") && strstr(top, "light");
		free(top);
	}
	closedir(d);
	cr_assert(found, "no window holds heavy and light: %s", err);
	free(out);
	free(err);
}

/*
 * The memory budget (heap + BPF maps, base/selfmem.h). At its 16 MiB
 * floor, with room for 32768 processes (131072 PIDs in the kernel's
 * target maps of 80 bytes an entry), the agent's maps and 4 MiB of heap
 * are past 80 % of it: it refuses to start, in one line that says what
 * takes the memory. Given that
 * start-up figure plus 4 MiB of room, it starts, and DWARF symbols of a
 * python3 target (~28 MiB of heap) push it past 80 %: each second it
 * cuts the window early and drops its symbol caches, counted and
 * logged, and keeps running.
 */
#define MEM_FMT RELOAD_FMT "symbols:\n  dwarf: true\nmemory_limit: %uMiB\n"

Test(agent_run, memory_budget_refuses_then_cuts_windows, .timeout = 90)
{
	char cfg[512], text[1024], log[512], *m, *logs, *out = NULL, *err = NULL, *p;
	double maps = 0, largest = 0, heap = 0, pressure = 0;
	int port = free_port(), rc, lines = 0;
	unsigned int limit;
	pid_t agent, py;

	require_bpf();
	snprintf(cfg, sizeof(cfg), "%s/mem.yaml", test_tmpdir());
	snprintf(log, sizeof(log), "%s/mem.log", test_tmpdir());
	snprintf(text, sizeof(text), MEM_FMT, "python3", port, 16u);
	write_text(cfg, text);
	/* targets.max_processes, for both agents of the test. */
	setenv("SONDE_TARGETS_MAX_PROCESSES", "32768", 1);
	{
		char *argv[] = {(char *)sonde_bin(), "agent", "--config", cfg, NULL};

		rc = run_cmd(argv, &out, &err);
	}
	cr_assert_eq(rc, 1, "the agent started at 16 MiB (%d): %s", rc, err);
	for (char *l = err; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		if (strncmp(l, "sonde: info:", 12))
			lines++;
	cr_assert_eq(lines, 1, "not one line: %s", err);
	p = strstr(err, "sonde: agent: memory_limit 16 MiB is too small for these probes: their ");
	cr_assert(p, "%s", err);
	p = strstr(p, " BPF maps take ");
	cr_assert(p && sscanf(p, " BPF maps take %lf MiB (the largest %lf MiB) and sonde %lf MiB",
			      &maps, &largest, &heap) == 3,
		  "%s", err);
	/* The target maps, 10 MiB each, are the largest (the cpu ring is a 64th of 16 MiB). */
	cr_assert(largest == 10.0, "%s", err);
	cr_assert(maps > 20 && maps < 40 && heap > 0.5, "%s", err);
	free(out);
	free(err);

	limit = (unsigned int)ceil((maps + heap) / 0.8 + 4);
	snprintf(text, sizeof(text), MEM_FMT, "python3", port, limit);
	write_text(cfg, text);
	char *pargv[] = {(char *)find_in_path("python3", "/usr/bin/python3"), "-c",
			 "while True: sum(range(100000))", NULL};
	py = spawn(pargv, "/dev/null", "/dev/null");
	agent = start_agent(cfg, NULL, log);
	unsetenv("SONDE_TARGETS_MAX_PROCESSES");
	for (double t0 = now_s(); now_s() - t0 < 30 && pressure < 2; usleep(300 * 1000)) {
		m = metrics_with(port, "sonde_agent_memory_pressure_total ", 1);
		p = m ? strstr(m, "\nsonde_agent_memory_pressure_total ") : NULL;
		if (p)
			pressure = strtod(p + 35, NULL);
		free(m);
	}
	cr_assert_geq(pressure, 2, "memory pressure counted %.0f times at %u MiB: %s", pressure,
		      limit, read_file(log, NULL));
	/* At least ours: python3 clients of tests running beside this one match too. */
	m = metrics_with(port, "\nsonde_agent_targets ", 5);
	p = m ? strstr(m, "\nsonde_agent_targets ") : NULL;
	cr_assert(p && strtod(p + 21, NULL) >= 1, "the python3 target is gone: %s",
		  read_file(log, NULL));
	snprintf(text, sizeof(text), "sonde_agent_memory_limit_bytes %llu\n",
		 (unsigned long long)limit << 20);
	cr_assert(strstr(m, text), "%s", m);
	cr_assert(strstr(m, "sonde_agent_memory_bytes{part=\"bpf_maps\"} "), "%s", m);
	/* The symbol caches keep to a quarter of it (libc's DWARF alone would not). */
	p = strstr(m, "\nsonde_symbol_cache_bytes ");
	cr_assert(p && strtod(p + 26, NULL) <= (double)((unsigned long long)limit << 20) / 4, "%s",
		  m);
	/* The unwinder's tables to a sixteenth. */
	p = strstr(m, "\nsonde_unwind_cache_bytes ");
	cr_assert(p && strtod(p + 26, NULL) <= (double)((unsigned long long)limit << 20) / 16, "%s",
		  m);
	free(m);
	rc = stop_agent(agent, 15);
	kill(py, SIGKILL);
	waitpid(py, NULL, 0);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	snprintf(text, sizeof(text),
		 "of memory_limit %u MiB in use (heap and BPF maps): window cut early, symbol "
		 "and unwind caches dropped",
		 limit);
	cr_assert(strstr(logs, text), "%s", logs);
	free(logs);
}

/* The refused reload's files: cpu alone, then with @probes (YAML under probes:). */
#define REFUSE_FMT                    \
	"targets:\n"                  \
	"  include:\n"                \
	"    comm: [cpu_split]\n"     \
	"  rescan_interval: 500ms\n"  \
	"probes:\n"                   \
	"  cpu:\n"                    \
	"    frequency: 49\n"         \
	"%s"                          \
	"exporters:\n"                \
	"  listen:\n"                 \
	"    address: 127.0.0.1:%d\n" \
	"  pyroscope:\n"              \
	"    url: %s\n"               \
	"window: 1s\n"                \
	"memory_limit: 256MiB\n"      \
	"log:\n"                      \
	"  level: info\n"

/* The log line that starts with @prefix, malloc'd; NULL when none does. */
static char *log_line(const char *logs, const char *prefix)
{
	const char *at = strstr(logs, prefix);

	return at ? strndup(at, strcspn(at, "\n")) : NULL;
}

/*
 * SIGHUP with a configuration whose probes do not fit memory_limit: the
 * cpu probe alone fits 256 MiB (~12 MiB of maps), but the alloc probe
 * with 4 Mi live blocks tracked preallocates a 320 MiB hash. The running
 * session ends, the new one loads and is refused by the budget, and the
 * previous configuration starts again: one line says why and that the
 * old one keeps running, the reload counts as failed (and not as a
 * success), the agent stays ready, finds cpu_split again and pushes its
 * 49 Hz cpu windows, without a trace of the alloc probe; SIGTERM exits 0.
 * The 256 MiB leave room for the heap under AddressSanitizer (its shadow
 * is ~100 MiB), so no window is cut early by memory pressure.
 */
Test(agent_run, sighup_refused_past_memory_limit_keeps_the_old, .timeout = 90)
{
	struct rx rx = {0};
	char cfg[512], text[2048], log[512], url[64], want[1024], *m, *logs = NULL, *line;
	char *fargv[] = {(char *)fixture_path("cpu_split"), "60", NULL};
	unsigned int limit = 0, nmaps = 0, least = 0;
	double maps = 0, largest = 0, heap = 0;
	int port = free_port(), rc, n0, pushed = 0;
	pid_t agent, fix;

	require_bpf();
	rx_start(&rx);
	snprintf(url, sizeof(url), "%s", rx_url(&rx));
	snprintf(cfg, sizeof(cfg), "%s/refuse.yaml", test_tmpdir());
	snprintf(log, sizeof(log), "%s/refuse.log", test_tmpdir());
	snprintf(text, sizeof(text), REFUSE_FMT, "", port, url);
	write_text(cfg, text);
	fix = spawn(fargv, "/dev/null", "/dev/null");
	agent = start_agent(cfg, NULL, log);
	cr_assert(wait_status(port, "/readyz", 200, 20), "never ready: %s", read_file(log, NULL));
	m = metrics_with(port, "sonde_agent_targets 1", 10);
	cr_assert(m, "cpu_split was never a target: %s", read_file(log, NULL));
	free(m);

	snprintf(text, sizeof(text), REFUSE_FMT,
		 "  alloc:\n    enabled: true\n    max_live: 4194304\n", port, url);
	write_text(cfg, text);
	kill(agent, SIGHUP);
	for (double t0 = now_s(); now_s() - t0 < 20; usleep(100 * 1000)) {
		free(logs);
		logs = read_file(log, NULL);
		if (strstr(logs, "configuration reload refused"))
			break;
	}
	/* Every push of the session that ended was flushed before the new one loaded. */
	n0 = rx_count(&rx);
	line = log_line(logs, "sonde: agent: configuration reload refused: ");
	cr_assert(line, "no refusal: %s", logs);
	cr_assert_eq(
		sscanf(line,
		       "sonde: agent: configuration reload refused: memory_limit %u MiB is too "
		       "small for these probes: their %u BPF maps take %lf MiB (the largest %lf "
		       "MiB) and sonde %lf MiB; give it at least %u MiB",
		       &limit, &nmaps, &maps, &largest, &heap, &least),
		6, "%s", line);
	snprintf(want, sizeof(want),
		 "sonde: agent: configuration reload refused: memory_limit %u MiB is too small for "
		 "these probes: their %u BPF maps take %.1f MiB (the largest %.1f MiB) and sonde "
		 "%.1f MiB; give it at least %u MiB or turn probes off; the previous configuration "
		 "keeps running",
		 limit, nmaps, maps, largest, heap, least);
	cr_assert_str_eq(line, want);
	cr_assert_eq(limit, 256);
	/* 4 Mi entries of an 8-byte key and a 4-byte value, and the budget's 80 % exceeded. */
	cr_assert_geq(largest, 48.0, "%s", line);
	cr_assert_gt(maps + 4, 256 * 0.8, "%s", line);
	cr_assert_gt(least, 256, "%s", line);
	free(line);
	free(logs);

	m = metrics_with(port, "sonde_agent_reloads_total{result=\"failure\"} 1\n", 15);
	cr_assert(m, "the refused reload was not counted: %s", read_file(log, NULL));
	cr_assert(strstr(m, "sonde_agent_reloads_total{result=\"success\"} 0\n"), "%s", m);
	free(m);
	cr_assert(wait_status(port, "/readyz", 200, 10), "not ready after the refusal: %s",
		  read_file(log, NULL));
	m = metrics_with(port, "sonde_agent_targets 1", 10);
	cr_assert(m, "cpu_split was not found again: %s", read_file(log, NULL));
	free(m);
	for (double t0 = now_s(); now_s() - t0 < 10 && rx_count(&rx) < n0 + 2; usleep(100 * 1000))
		;
	cr_assert_geq(rx_count(&rx), n0 + 2, "%d windows pushed after the refusal: %s",
		      rx_count(&rx) - n0, read_file(log, NULL));
	cr_assert_eq(waitpid(agent, &rc, WNOHANG), 0, "the agent exited: %s", read_file(log, NULL));

	rc = stop_agent(agent, 15);
	kill(fix, SIGKILL);
	waitpid(fix, NULL, 0);
	rx_stop(&rx);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	/* The first session and the previous configuration's again; the refused one never ran. */
	cr_assert_eq(count_of(logs, "agent: running ("), 2, "%s", logs);
	cr_assert_eq(count_of(logs, "configuration reload refused"), 1, "%s", logs);
	cr_assert(strstr(logs, "probes.alloc.enabled changed, restarting the probes"), "%s", logs);
	for (int i = n0; i < rx.n; i++) {
		char parts[512], prof[600], *form, *top;

		snprintf(parts, sizeof(parts), "%s/refuse-form%d", test_tmpdir(), i);
		form = decode_ingest(&rx.req[i], parts);
		cr_assert(strstr(form, "query name=cpu_split{}\n"), "%s", form);
		cr_assert(strstr(form, "query sampleRate=49\n"), "%s", form);
		cr_assert(!strstr(form, "alloc_"), "an alloc window after the refusal: %s", form);
		snprintf(prof, sizeof(prof), "%s/profile", parts);
		top = pprof_run(prof, "-top", "-nodecount=50", NULL);
		pushed += strstr(top, "heavy") != NULL;
		free(top);
		free(form);
	}
	cr_assert_geq(pushed, 1, "no window after the refusal holds heavy");
	free(logs);
	rx_free(&rx);
}

/* The next test's file: the frequency, the /metrics port, the window directory. */
#define GONE_FMT                        \
	"targets:\n"                    \
	"  include:\n"                  \
	"    comm: [no_such_program]\n" \
	"probes:\n"                     \
	"  cpu:\n"                      \
	"    frequency: %u\n"           \
	"exporters:\n"                  \
	"  listen:\n"                   \
	"    address: 127.0.0.1:%d\n"   \
	"  files:\n"                    \
	"    directory: %s\n"           \
	"window: 1s\n"                  \
	"log:\n"                        \
	"  level: info\n"

/*
 * A reload refused for another reason (the window directory became a
 * file, which no session can write to), with the previous configuration
 * unable to start again for the same reason: one line each, and the
 * agent exits 1 rather than run with neither.
 */
Test(agent_run, sighup_exits_when_the_old_cannot_start_again, .timeout = 60)
{
	char cfg[512], text[1024], dir[512], moved[600], log[512], want[1024], *logs;
	int port = free_port(), rc = -1, st;
	pid_t agent;

	require_bpf();
	snprintf(cfg, sizeof(cfg), "%s/gone.yaml", test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/gone-windows", test_tmpdir());
	snprintf(moved, sizeof(moved), "%s.moved", dir);
	snprintf(log, sizeof(log), "%s/gone.log", test_tmpdir());
	snprintf(text, sizeof(text), GONE_FMT, 49u, port, dir);
	write_text(cfg, text);
	agent = start_agent(cfg, NULL, log);
	cr_assert(wait_status(port, "/readyz", 200, 20), "never ready: %s", read_file(log, NULL));
	cr_assert_eq(rename(dir, moved), 0, "%s: %s", dir, strerror(errno));
	write_text(dir, "not a directory\n");
	snprintf(text, sizeof(text), GONE_FMT, 99u, port, dir);
	write_text(cfg, text);
	kill(agent, SIGHUP);
	for (double t0 = now_s(); now_s() - t0 < 20; usleep(50 * 1000)) {
		if (waitpid(agent, &st, WNOHANG) == agent) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
	}
	if (rc < 0)
		stop_agent(agent, 5);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 1, "the agent exited %d: %s", rc, logs);
	snprintf(want, sizeof(want), "sonde: outdir: refusing '%s': not a directory\n", dir);
	cr_assert_eq(count_of(logs, want), 2, "%s", logs);
	cr_assert_eq(count_of(logs,
			      "\nsonde: agent: configuration reload refused: Not a directory; "
			      "the previous configuration keeps running\n"),
		     1, "%s", logs);
	cr_assert(strstr(logs, "\nsonde: agent: the previous configuration cannot start again "
			       "either: Not a directory\n"),
		  "%s", logs);
	cr_assert_eq(count_of(logs, "agent: running ("), 1, "%s", logs);
	free(logs);
}

/* The four alloc types in a pprof, as go tool pprof -raw heads its samples. */
#define ALLOC_TYPES \
	"alloc_space/bytes[dflt] alloc_objects/count inuse_space/bytes inuse_objects/count\n"

/*
 * From `go tool pprof -raw` of an alloc profile: the four values summed
 * over the samples whose leaf is @leaf called from @caller, into @sum.
 */
static void raw_alloc_sums(const char *raw, const char *leaf, const char *caller,
			   unsigned long long sum[4])
{
	const char *at = strstr(raw, "\nLocations\n"), *s = strstr(raw, ALLOC_TYPES);
	char names[256][64] = {{0}};

	cr_assert(at && s, "not an alloc profile:\n%s", raw);
	/* "     2: 0x55c13613f289 M=1 site_a :0 s=0" */
	for (at = strchr(at + 1, '\n') + 1; *at == ' '; at = strchr(at, '\n') + 1) {
		unsigned int id;
		char name[64];

		if (sscanf(at, " %u: %*s M=%*u %63s", &id, name) == 2 && id < 256)
			snprintf(names[id], sizeof(names[id]), "%s", name);
	}
	memset(sum, 0, 4 * sizeof(*sum));
	/* "    8000000       2000          0          0: 1 2 3 4 5 6 " */
	for (s += strlen(ALLOC_TYPES); s < strstr(raw, "\nLocations\n"); s = strchr(s, '\n') + 1) {
		unsigned long long v[4];
		unsigned int first, second;

		if (sscanf(s, " %llu %llu %llu %llu: %u %u", &v[0], &v[1], &v[2], &v[3], &first,
			   &second) < 6 ||
		    first >= 256 || second >= 256)
			continue;
		if (strcmp(names[first], leaf) || strcmp(names[second], caller))
			continue;
		for (int i = 0; i < 4; i++)
			sum[i] += v[i];
	}
}

/*
 * probes.alloc: alloc_fix (site_a mallocs 4000 B 500 times, site_b
 * callocs 1000 B 500 times, leak_site keeps 1 MiB), found by its exec
 * and let go through a FIFO once it is a target, then kept alive over
 * windows. sample_bytes 1 makes the sampled totals exact: the countdown
 * is an exponential of mean 1 byte (44 at most), so every call of 1000
 * bytes or more is sampled, and its weight S / (1 - e^(-S)) is S in a
 * double. Its windows pushed to Pyroscope (decoded with Python's MIME
 * parser and go tool pprof) carry the four alloc types with their
 * sample_type_config, and summed they hold the exact allocations by
 * function; from the window of the leak on (a cut may fall between the
 * sites), each holds it in use, 1 MiB in 1 block under leak_site (a
 * level at the window's end), and none holds anything of the freed
 * sites in use; once the fixture exits its blocks go. memory_limit
 * 1 GiB: under AddressSanitizer the heap alone is past 80 % of the
 * default 128 MiB (a window cut every second), and a sixteenth of it is
 * the alloc ring: 64 MiB take the burst of 1001 samples with 16 KiB of
 * stack each (~17 MB) whole, where the default's 8 MiB lost a quarter
 * of 4001 under AddressSanitizer.
 */
Test(agent_run, alloc_windows_pushed_with_exact_totals, .timeout = 90)
{
	struct rx rx = {0};
	char cfg[512], text[2048], log[512], url[64], fifo[512], *m, *logs;
	unsigned long long a[4] = {0}, b[4] = {0}, leak[4] = {0}, sum[4], want;
	int port = free_port(), rc, fd = -1, n0, leak_windows = 0;
	pid_t agent, fix;

	require_bpf();
	rx_start(&rx);
	snprintf(url, sizeof(url), "%s", rx_url(&rx));
	snprintf(cfg, sizeof(cfg), "%s/alloc.yaml", test_tmpdir());
	snprintf(log, sizeof(log), "%s/alloc.log", test_tmpdir());
	snprintf(fifo, sizeof(fifo), "%s/alloc.fifo", test_tmpdir());
	cr_assert_eq(mkfifo(fifo, 0600), 0, "%s: %s", fifo, strerror(errno));
	snprintf(text, sizeof(text),
		 "targets:\n"
		 "  include:\n"
		 "    comm: [alloc_fix]\n"
		 "  rescan_interval: 500ms\n"
		 "probes:\n"
		 "  cpu:\n"
		 "    enabled: false\n"
		 "  alloc:\n"
		 "    enabled: true\n"
		 "    sample_bytes: 1\n"
		 "exporters:\n"
		 "  listen:\n"
		 "    address: 127.0.0.1:%d\n"
		 "  pyroscope:\n"
		 "    url: %s\n"
		 "window: 1s\n"
		 "memory_limit: 1GiB\n"
		 "log:\n"
		 "  level: info\n",
		 port, url);
	write_text(cfg, text);
	agent = start_agent(cfg, NULL, log);
	cr_assert(wait_status(port, "/readyz", 200, 20), "never ready: %s", read_file(log, NULL));
	char *fargv[] = {(char *)fixture_path("alloc_fix"), "500", fifo, NULL};
	fix = spawn(fargv, "/dev/null", "/dev/null");
	/* No reader yet: ENXIO, until the fixture opens its end. */
	for (double t0 = now_s(); now_s() - t0 < 10 && fd < 0; usleep(20 * 1000))
		fd = open(fifo, O_WRONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0, "the fixture never opened %s: %s", fifo, strerror(errno));
	m = metrics_with(port, "sonde_agent_targets 1", 10);
	cr_assert(m, "alloc_fix was never a target: %s", read_file(log, NULL));
	free(m);
	n0 = rx_count(&rx);
	cr_assert_eq(write(fd, "g", 1), 1);
	/* The window of the allocations and two more, of the leak alone. */
	for (double t0 = now_s(); now_s() - t0 < 15 && rx_count(&rx) < n0 + 3; usleep(100 * 1000))
		;
	close(fd);
	cr_assert_eq(waitpid(fix, &rc, 0), fix);
	cr_assert(WIFEXITED(rc) && !WEXITSTATUS(rc), "the fixture failed: %d", rc);
	sleep(1);
	rc = stop_agent(agent, 15);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	rx_stop(&rx);

	cr_assert_geq(rx.n, n0 + 3, "%d windows pushed: %s", rx.n, logs);
	for (int i = 0; i < rx.n; i++) {
		char parts[512], prof[600], *form, *raw;

		snprintf(parts, sizeof(parts), "%s/alloc-form%d", test_tmpdir(), i);
		form = decode_ingest(&rx.req[i], parts);
		cr_assert(strstr(form, "query name=alloc_fix{}\n"), "%s", form);
		cr_assert(strstr(form,
				 "config alloc_space {\"aggregation\": \"sum\", \"cumulative\": "
				 "false, \"sampled\": false, \"units\": \"bytes\"}\n"),
			  "%s", form);
		cr_assert(strstr(form, "config alloc_objects {\"aggregation\": \"sum\", "
				       "\"cumulative\": false, \"sampled\": false, \"units\": "
				       "\"objects\"}\n"),
			  "%s", form);
		cr_assert(strstr(form, "config inuse_space {\"aggregation\": \"average\", "
				       "\"cumulative\": false, \"sampled\": false, \"units\": "
				       "\"bytes\"}\n"),
			  "%s", form);
		cr_assert(strstr(form, "config inuse_objects {\"aggregation\": \"average\", "
				       "\"cumulative\": false, \"sampled\": false, \"units\": "
				       "\"objects\"}\n"),
			  "%s", form);
		snprintf(prof, sizeof(prof), "%s/profile", parts);
		raw = pprof_run(prof, "-raw", NULL, NULL);
		cr_assert(strstr(raw, "\nSamples:\n" ALLOC_TYPES), "%s", raw);
		raw_alloc_sums(raw, "malloc", "site_a", sum);
		cr_expect(sum[2] == 0 && sum[3] == 0,
			  "window %d: site_a's freed blocks in use:\n%s", i, raw);
		for (int t = 0; t < 2; t++)
			a[t] += sum[t];
		raw_alloc_sums(raw, "__libc_calloc", "site_b", sum);
		cr_expect(sum[2] == 0 && sum[3] == 0,
			  "window %d: site_b's freed blocks in use:\n%s", i, raw);
		for (int t = 0; t < 2; t++)
			b[t] += sum[t];
		raw_alloc_sums(raw, "malloc", "leak_site", sum);
		/* Allocated in this window or before: in use at its end (the fixture lives). */
		want = leak[0] + sum[0] ? 1 : 0;
		cr_expect_eq(sum[2], 1048576 * want, "window %d: the leak's bytes in use:\n%s", i,
			     raw);
		cr_expect_eq(sum[3], want, "window %d: the leak's blocks in use:\n%s", i, raw);
		for (int t = 0; t < 2; t++)
			leak[t] += sum[t];
		leak_windows += sum[2] == 1048576;
		free(raw);
		free(form);
	}
	cr_expect_eq(a[0], 2000000);
	cr_expect_eq(a[1], 500);
	cr_expect_eq(b[0], 500000);
	cr_expect_eq(b[1], 500);
	cr_expect_eq(leak[0], 1048576);
	cr_expect_eq(leak[1], 1);
	cr_expect_geq(leak_windows, 2);
	/* Every call seen, none lost, the exited fixture's leak no longer followed. */
	cr_expect(strstr(logs, "\nsonde: 1001 allocation calls (3548576 bytes), 1001 stacked (1 "
			       "per 1 bytes on average), 1000 frees (1000 of sampled blocks), 0 "
			       "sampled blocks live, 0 lost\n"),
		  "%s", logs);
	/* No leak report on stdout (record's): the windows carry it. */
	cr_expect_null(strstr(logs, "In use at the end"), "%s", logs);
	free(logs);
	rx_free(&rx);
}

/*
 * The value of the first series of /metrics text @m named @name whose
 * labels hold every one of @want ('key="value"'), or -1 when none does.
 */
static double series_value(const char *m, const char *name, const char *const *want)
{
	size_t nl = strlen(name);

	for (const char *p = m; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *end = strchr(p, '}'), *eol = strchr(p, '\n');
		bool all = true;

		if (strncmp(p, name, nl) || p[nl] != '{' || !end || (eol && end > eol))
			continue;
		for (const char *const *w = want; *w && all; w++) {
			const char *at = strstr(p, *w);

			all = at && at < end && (at[-1] == '{' || at[-1] == ',');
		}
		if (all)
			return atof(end + 1);
	}
	return -1;
}

/* Debian's libssl, which python3's ssl module and curl both map. */
#define LIBSSL "/usr/lib/x86_64-linux-gnu/libssl.so.3"

#define SERIES(m, name, ...) series_value((m), (name), (const char *const[]){__VA_ARGS__, NULL})

/*
 * probes.tls: two LLM clients started after the agent, each behind a
 * second's sleep in a shell whose command line the rules match (the
 * shell's sleep child, forked and then exec'ing something the rules do
 * not want, leaves again): python3's urllib streams an OpenAI chat over
 * HTTPS (libssl, loaded by the ssl module), curl posts an Ollama chat in
 * plaintext, a Go client (fixtures/llm_go) an Anthropic one over Go's own
 * crypto/tls and HTTP/2. Their calls are on the agent's /metrics under the GenAI
 * names with exact tokens, model, provider and each target's own
 * service_name (its comm) and the configured labels; /readyz says the
 * tls probe runs; libssl gets one set of uprobes for all of them, detached
 * when the last one is gone.
 */
Test(agent_run, tls_calls_of_discovered_clients, .timeout = 120)
{
	struct llm_server srv = {0};
	struct http_reply r = {0};
	char cfg[512], text[1024], log[512], marker[64], plan[1024], url[128], body[256];
	char script_py[] = "sleep 1; exec /usr/bin/python3 \"$0\" \"$1\"";
	char script_curl[] = "sleep 1; exec /usr/bin/curl -sS -o /dev/null \"$0\" -d \"$1\"";
	char script_go[] = "sleep 1; exec \"$0\" \"$1\"", plan_go[1024];
	const char *go_client = fixture_path("llm_go");
	int port = free_port(), rc;
	pid_t agent, py, curl, gop;
	char *m, *logs;

	require_bpf();
	require_path(go_client, X_OK, "the Go LLM client (golang-go)");
	llm_server_start(&srv);
	snprintf(marker, sizeof(marker), "agent-llm-%d", (int)getpid());
	snprintf(cfg, sizeof(cfg), "%s/tls.yaml", test_tmpdir());
	snprintf(log, sizeof(log), "%s/tls.log", test_tmpdir());
	snprintf(text, sizeof(text),
		 "service:\n"
		 "  labels:\n"
		 "    team: ml\n"
		 "targets:\n"
		 "  include:\n"
		 "    cmdline: ['%s']\n"
		 "  rescan_interval: 500ms\n"
		 "probes:\n"
		 "  cpu:\n"
		 "    enabled: false\n"
		 "  tls:\n"
		 "    enabled: true\n"
		 "exporters:\n"
		 "  listen:\n"
		 "    address: 127.0.0.1:%d\n"
		 "window: 2s\n"
		 "log:\n"
		 "  level: debug\n",
		 marker, port);
	write_text(cfg, text);
	agent = start_agent(cfg, NULL, log);
	cr_assert(wait_status(port, "/readyz", 200, 20), "never ready: %s", read_file(log, NULL));
	cr_assert_eq(get(port, "/readyz", &r), 0);
	cr_assert(strstr(r.body, "{\"name\":\"tls\",\"running\":true}"), "%s", r.body);
	http_reply_free(&r);

	/* 12 characters in, 3 tokens out, streamed (SSE, usage in the last event). */
	snprintf(plan, sizeof(plan),
		 "{\"tag\":\"%s\",\"base\":\"https://localhost:%d\",\"ca\":\"%s\",\"calls\":["
		 "{\"api\":\"openai\",\"model\":\"gpt-agent\",\"stream\":true,\"max_tokens\":3,"
		 "\"content\":\"agent python\"}]}",
		 marker, srv.https, srv.ca);
	char *pargv[] = {"/bin/sh", "-c",
			 script_py, (char *)source_path("tests/fixtures/llm_client.py"),
			 plan,	    NULL};
	py = spawn(pargv, tmp_path("py.out"), tmp_path("py.err"));
	/* 15 characters in, 6 tokens out (num_predict), NDJSON. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/chat?tag=%s", srv.http, marker);
	snprintf(body, sizeof(body),
		 "{\"model\":\"llama-agent\",\"messages\":[{\"role\":\"user\",\"content\":\"agent "
		 "plaintext\"}],\"options\":{\"num_predict\":6}}");
	char *cargv[] = {"/bin/sh", "-c", script_curl, url, body, NULL};
	curl = spawn(cargv, "/dev/null", tmp_path("curl.err"));
	/*
	 * 8 characters in, 4 tokens out. A Go program's TLS is seen once its
	 * exec is handled and its uprobes attached (tens of ms, the first time
	 * its file is seen: measured here, a call 50 ms after the exec is seen,
	 * one at once is not); python3 needs more than that to load its ssl
	 * module, this client is made to wait 300 ms.
	 */
	snprintf(plan_go, sizeof(plan_go),
		 "{\"tag\":\"%s\",\"delay_ms\":300,\"base\":\"https://localhost:%d\",\"ca\":"
		 "\"%s\",\"calls\":["
		 "{\"api\":\"anthropic\",\"model\":\"claude-agent-go\",\"max_tokens\":4,"
		 "\"content\":\"agent go\",\"fast\":true}]}",
		 marker, srv.https, srv.ca);
	char *gargv[] = {"/bin/sh", "-c", script_go, (char *)go_client, plan_go, NULL};
	gop = spawn(gargv, tmp_path("go.out"), tmp_path("go.err"));
	cr_assert_eq(waitpid(py, &rc, 0), py);
	cr_assert_eq(rc, 0, "python3: %s", read_file(tmp_path("py.err"), NULL));
	cr_assert_eq(waitpid(curl, &rc, 0), curl);
	cr_assert_eq(rc, 0, "curl: %s", read_file(tmp_path("curl.err"), NULL));
	cr_assert_eq(waitpid(gop, &rc, 0), gop);
	cr_assert_eq(rc, 0, "llm_go: %s", read_file(tmp_path("go.err"), NULL));
	m = metrics_with(port, "gen_ai_provider_name=\"anthropic\"", 10);
	cr_assert(m, "no anthropic call on /metrics: %s", read_file(log, NULL));
	free(m);

	m = metrics_with(port, "gen_ai_provider_name=\"ollama\"", 10);
	cr_assert(m, "no ollama call on /metrics: %s", read_file(log, NULL));
	free(m);
	m = metrics_with(port, "gen_ai_provider_name=\"openai\"", 10);
	cr_assert(m, "no openai call on /metrics: %s", read_file(log, NULL));
	cr_expect_eq(SERIES(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"input\"",
			    "gen_ai_provider_name=\"openai\"", "gen_ai_request_model=\"gpt-agent\"",
			    "gen_ai_response_model=\"gpt-agent\"", "service_name=\"python3\"",
			    "team=\"ml\""),
		     12, "%s", m);
	cr_expect_eq(SERIES(m, "gen_ai_client_token_usage_count", "gen_ai_token_type=\"input\"",
			    "service_name=\"python3\""),
		     1, "%s", m);
	cr_expect_eq(SERIES(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"output\"",
			    "gen_ai_request_model=\"gpt-agent\"", "service_name=\"python3\""),
		     3, "%s", m);
	cr_expect_eq(SERIES(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"input\"",
			    "gen_ai_provider_name=\"ollama\"",
			    "gen_ai_request_model=\"llama-agent\"", "server_address=\"127.0.0.1\"",
			    "service_name=\"curl\"", "team=\"ml\""),
		     15, "%s", m);
	cr_expect_eq(SERIES(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"output\"",
			    "gen_ai_request_model=\"llama-agent\"", "service_name=\"curl\""),
		     6, "%s", m);
	cr_expect_eq(SERIES(m, "sonde_llm_calls_total", "gen_ai_provider_name=\"openai\"",
			    "gen_ai_request_model=\"gpt-agent\"",
			    "http_response_status_code=\"200\"", "service_name=\"python3\""),
		     1, "%s", m);
	cr_expect_eq(SERIES(m, "sonde_llm_calls_total", "gen_ai_provider_name=\"ollama\"",
			    "service_name=\"curl\""),
		     1, "%s", m);
	cr_expect_eq(SERIES(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"input\"",
			    "gen_ai_provider_name=\"anthropic\"",
			    "gen_ai_request_model=\"claude-agent-go\"", "service_name=\"llm_go\"",
			    "team=\"ml\""),
		     8, "%s", m);
	cr_expect_eq(SERIES(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"output\"",
			    "gen_ai_request_model=\"claude-agent-go\"", "service_name=\"llm_go\""),
		     4, "%s", m);
	/* One call each: nothing under another service (the shells, sleep). */
	cr_expect_eq(count_of(m, "\nsonde_llm_calls_total{"), 3, "%s", m);
	cr_expect_eq(SERIES(m, "gen_ai_client_operation_duration_seconds_count",
			    "gen_ai_provider_name=\"openai\"", "service_name=\"python3\""),
		     1, "%s", m);
	free(m);
	/* One link set for the host's libssl, whoever mapped it; gone with its last user. */
	for (double t0 = now_s(); now_s() - t0 < 10; usleep(100 * 1000)) {
		logs = read_file(log, NULL);
		if (logs && strstr(logs, LIBSSL " detached: no target maps it any more"))
			break;
		free(logs);
		logs = NULL;
	}
	cr_assert(logs, "libssl's uprobes never detached: %s", read_file(log, NULL));
	free(logs);
	rc = stop_agent(agent, 15);
	llm_server_stop(&srv);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	cr_expect_eq(count_of(logs, "llm: uprobes in " LIBSSL " ("), 1, "%s", logs);
	cr_expect_eq(count_of(logs, "llm: uprobes in " LIBSSL " detached"), 1, "%s", logs);
	cr_expect(!strstr(logs, "left out"), "%s", logs);
	free(logs);
}

/*
 * probes.uprobe.watch with the cpu probe: trace_lat, found by its exec,
 * has its slow path go from 1 to 20 ms, spinning in slow_spin; the first
 * window flagged after the switch leaves its differential flame graph
 * and folded stacks in the output directory beside the windows, and its
 * log record on the agent's OTLP endpoint (the checks of the trace test,
 * tests/anomaly_check.c). One-second windows (the agent's least), 22 s
 * steady: a full baseline of 20 windows. The slow path goes to 20 ms,
 * not 10 (nor 50, which leaves under the 1000 calls a window needs for
 * its p99.5 to be tested): on a fresh CI machine the steady windows' p99.5 spread so
 * much (sleeps of 1 ms overshooting to 2-8 ms) that 10 ms gave t 3.8, p
 * 0.0018 against alpha 0.001, every window after the switch. Debug logs:
 * each window's verdict shows when it fails. memory_limit 1 GiB: under
 * ASan the heap (its shadow) is past 80 % of 128 MiB, and the pressure
 * cut after each window left every other one with ~40 calls, a baseline
 * too noisy to flag anything.
 */
Test(agent_run, watch_diff_beside_the_windows_and_otlp_log, .timeout = 120)
{
	struct rx rx = {0};
	char cfg[512], text[2048], dir[512], log[512], fout[512], *logs, *fo, *sw_line, *diff;
	unsigned long long sw, end;
	unsigned int window;
	int port = free_port();

	require_bpf();
	rx_start(&rx);
	snprintf(cfg, sizeof(cfg), "%s/watch.yaml", test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/watch-windows", test_tmpdir());
	snprintf(log, sizeof(log), "%s/watch.log", test_tmpdir());
	snprintf(fout, sizeof(fout), "%s/trace_lat.out", test_tmpdir());
	snprintf(text, sizeof(text),
		 "targets:\n"
		 "  include:\n"
		 "    comm: [trace_lat]\n"
		 "  rescan_interval: 500ms\n"
		 "probes:\n"
		 "  cpu:\n"
		 "    frequency: 499\n"
		 "  uprobe:\n"
		 "    enabled: true\n"
		 "    functions: ['%s:work']\n"
		 "    watch: true\n"
		 "exporters:\n"
		 "  listen:\n"
		 "    address: 127.0.0.1:%d\n"
		 "  otlp:\n"
		 "    enabled: true\n"
		 "    endpoint: %s\n"
		 "  files:\n"
		 "    directory: %s\n"
		 "window: 1s\n"
		 "memory_limit: 1GiB\n"
		 "log:\n"
		 "  level: debug\n",
		 fixture_path("trace_lat"), port, rx_url(&rx), dir);
	write_text(cfg, text);
	char *fargv[] = {(char *)find_in_path("chrt", "/usr/bin/chrt"),
			 "-f",
			 "10",
			 (char *)fixture_path("trace_lat"),
			 "22",
			 "4",
			 "20",
			 "spin",
			 NULL};
	/* The window holding the end, then SIGTERM delivers what is left. */
	logs = agent_over(cfg, log, port, fargv, fout, 2);
	rx_stop(&rx);
	fo = read_file(fout, NULL);
	sw_line = fo ? strstr(fo, "switch ") : NULL;
	cr_assert(sw_line, "the fixture did not switch: %s", fo);
	sw = strtoull(sw_line + 7, NULL, 10);
	window = anomaly_first_after(logs, "work", sw, &end);
	cr_log_info("flagged in window %u, %.2f s after the switch", window, (end - sw) / 1e9);
	diff = anomaly_check_outputs(logs, dir, &rx, "work", window, end, "slow_spin", 2.0,
				     ";main;work;slow_spin");
	/* Beside the windows of the service. */
	cr_assert_geq(count_files(dir, "trace_lat-", ".pb.gz"), 5, "%s", logs);
	free(diff);
	free(fo);
	free(logs);
	rx_free(&rx);
}

/*
 * A Pyroscope that is not there (a closed port): every failed request and
 * every window given up is on /metrics, the queue bounded; the agent runs
 * on and exits 0.
 */
Test(agent_run, dead_pyroscope_is_counted, .timeout = 60)
{
	char cfg[512], text[1024], log[512], *m = NULL, *logs;
	int port = free_port(), dead = free_port(), rc;
	pid_t agent, fix;

	require_bpf();
	snprintf(cfg, sizeof(cfg), "%s/dead.yaml", test_tmpdir());
	snprintf(log, sizeof(log), "%s/dead.log", test_tmpdir());
	snprintf(text, sizeof(text),
		 "targets:\n  include:\n    comm: [cpu_split]\n  rescan_interval: 500ms\n"
		 "probes:\n  cpu:\n    frequency: 49\n"
		 "exporters:\n  listen:\n    address: 127.0.0.1:%d\n"
		 "  pyroscope:\n    url: http://127.0.0.1:%d\n"
		 "window: 1s\n",
		 port, dead);
	write_text(cfg, text);
	char *fargv[] = {(char *)fixture_path("cpu_split"), "8", NULL};
	fix = spawn(fargv, "/dev/null", "/dev/null");
	agent = start_agent(cfg, NULL, log);
	m = metrics_with(port, "sonde_agent_targets 1", 20);
	cr_assert(m, "the fixture was never a target: %s", read_file(log, NULL));
	/* Failed attempts counted as they happen; the windows wait in the bounded queue. */
	for (double t0 = now_s(); now_s() - t0 < 20; usleep(200 * 1000)) {
		free(m);
		m = metrics_with(port, "\nsonde_export_errors_total{exporter=\"pyroscope\"} ", 5);
		cr_assert(m, "no Pyroscope error counter: %s", read_file(log, NULL));
		if (SERIES(m, "sonde_export_errors_total", "exporter=\"pyroscope\"") >= 2 &&
		    SERIES(m, "sonde_export_queued_windows", "exporter=\"pyroscope\"") >= 1)
			break;
	}
	cr_assert_geq(SERIES(m, "sonde_export_errors_total", "exporter=\"pyroscope\""), 2, "%s", m);
	cr_assert_geq(SERIES(m, "sonde_export_queued_windows", "exporter=\"pyroscope\""), 1, "%s",
		      m);
	cr_assert_geq(SERIES(m, "sonde_export_dropped_total", "exporter=\"pyroscope\"",
			     "signal=\"profiles\""),
		      0, "%s", m);
	free(m);
	rc = stop_agent(agent, 15);
	kill(fix, SIGKILL);
	waitpid(fix, NULL, 0);
	logs = read_file(log, NULL);
	cr_assert_eq(rc, 0, "the agent exited %d: %s", rc, logs);
	cr_assert(strstr(logs, "pyroscope: failed to export"), "%s", logs);
	free(logs);
}

/* The files in @dir whose names end in @suffix, and not in @but (NULL: none), one after another. */
static char *concat_files(const char *dir, const char *suffix, const char *but)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t sl = strlen(suffix), bl = but ? strlen(but) : 0, used = 0;
	char *all = calloc(1, 1);

	cr_assert(d && all, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), n;
		char path[PATH_MAX], *text;

		if (len <= sl || strcmp(e->d_name + len - sl, suffix) ||
		    (bl && len > bl && !strcmp(e->d_name + len - bl, but)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = read_file(path, &n);
		cr_assert_not_null(text, "%s", path);
		all = realloc(all, used + n + 1);
		cr_assert_not_null(all);
		memcpy(all + used, text, n);
		used += n;
		all[used] = '\0';
		free(text);
	}
	closedir(d);
	return all;
}

/*
 * probes.offcpu beside cpu in the agent: offcpu_fix split, discovered by
 * its exec (sleeper() may start before it is a target: its first 100 ms
 * sleeps can be missed), written as folded windows. Summed over them,
 * reader()'s 1 s blocked on a pipe within 10 % of what the fixture
 * measured, with its whole stack; sleeper()'s 2 s from 75 %; the spinner
 * on CPU in the .folded windows, off CPU only as long as it was
 * preempted (+5 ms).
 */
Test(agent_run, offcpu_windows_beside_cpu, .timeout = 60)
{
	char cfg[512], text[1024], log[512], dir[512], fout[512], *out, *off, *cpu, *logs;
	char *fargv[] = {(char *)fixture_path("offcpu_fix"), "split", NULL};
	int port = free_port();
	double m_sleep, m_read, m_preempt;
	uint64_t sleeper, reader;

	require_bpf();
	snprintf(cfg, sizeof(cfg), "%s/offcpu.yaml", test_tmpdir());
	snprintf(log, sizeof(log), "%s/offcpu.log", test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/offcpu-windows", test_tmpdir());
	snprintf(fout, sizeof(fout), "%s/offcpu.out", test_tmpdir());
	snprintf(text, sizeof(text),
		 "targets:\n"
		 "  include:\n"
		 "    comm: [offcpu_fix]\n"
		 "  rescan_interval: 200ms\n"
		 "probes:\n"
		 "  cpu:\n"
		 "    frequency: 49\n"
		 "  offcpu:\n"
		 "    enabled: true\n"
		 "exporters:\n"
		 "  listen:\n"
		 "    address: 127.0.0.1:%d\n"
		 "  files:\n"
		 "    directory: %s\n"
		 "    format: folded\n"
		 "window: 1s\n"
		 "memory_limit: 1GiB\n",
		 port, dir);
	write_text(cfg, text);
	logs = agent_over(cfg, log, port, fargv, fout, 1);
	out = read_file(fout, NULL);
	cr_assert_not_null(out);
	m_sleep = named_value(out, "sleeper");
	m_read = named_value(out, "reader");
	m_preempt = named_value(out, "spinner_preempted");
	off = concat_files(dir, ".off_cpu.folded", NULL);
	cpu = concat_files(dir, ".folded", ".off_cpu.folded");
	sleeper = folded_sum(off, ";sleeper;");
	reader = folded_sum(off, ";reader;");
	cr_log_info("agent off-CPU: sleeper %.3f s (measured %.3f), reader %.3f s (measured %.3f); "
		    "CPU: spinner %llu samples",
		    sleeper / 1e9, m_sleep, reader / 1e9, m_read,
		    (unsigned long long)folded_sum(cpu, ";spinner"));
	cr_expect(reader >= m_read * 1e9 * 0.9 && reader <= m_read * 1e9 * 1.1,
		  "reader: %.3f s off-CPU, measured %.3f s:\n%s", reader / 1e9, m_read, off);
	cr_expect_eq(folded_sum(off, "offcpu_fix;_start;__libc_start_main;__libc_start_call_main;"
				     "main;reader;"),
		     reader, "reader stacks incomplete:\n%s", off);
	cr_expect(sleeper >= m_sleep * 1e9 * 0.75 && sleeper <= m_sleep * 1e9 * 1.1,
		  "sleeper: %.3f s off-CPU, measured %.3f s", sleeper / 1e9, m_sleep);
	cr_expect(folded_sum(off, ";spinner") <= (m_preempt + 0.005) * 1e9,
		  "spinner off-CPU %.3f s, preempted %.3f s", folded_sum(off, ";spinner") / 1e9,
		  m_preempt);
	cr_expect(folded_sum(cpu, ";spinner") >= 49 * (1 - m_preempt) * 0.7,
		  "spinner has %llu CPU samples", (unsigned long long)folded_sum(cpu, ";spinner"));
	free(out);
	free(off);
	free(cpu);
	free(logs);
}
