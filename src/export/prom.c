// SPDX-License-Identifier: MIT
/*
 * Prometheus text exposition format 0.0.4 and the /metrics endpoint.
 *
 * The listening socket is created here rather than by libmicrohttpd so a
 * bind failure reports the real errno (and port 0 can be read back); MHD
 * then runs its own polling thread, and each scrape renders a fresh
 * snapshot into memory, so the collector loop never waits on a client.
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "export/prom.h"
#include "base/hostport.h"
#include "base/log.h"

#define MAX_USERS 64
#define AUTH_REALM "sonde"

struct user {
	char *name, *hash;
};

struct prom_server {
	struct MHD_Daemon *daemon;
	struct metrics *m, *self;
	int fd;
	unsigned int port;
	struct prom_cidr allow[PROM_MAX_ALLOW];
	unsigned int nallow;
	struct user *users;
	size_t nusers;
	/* The MHD thread only: the last password that matched, to skip crypt. */
	char *ok_user, *ok_pass;
	uint64_t forbidden, unauthorized; /* atomics: read from another thread */
	/* /readyz: set by prom_server__set_ready() on the owner's thread. */
	pthread_mutex_t ready_lock;
	bool have_ready, ready;
	char *ready_body;
};

/* HELP text escapes backslash and newline; label values also '"'. */
static void put_escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (quote && *s == '"')
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* A name with OpenTelemetry's dots as Prometheus spells it: '.' -> '_'. */
static void put_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '.' ? '_' : *s, f);
}

/*
 * A family's name: dots translated, and the unit a declared OpenTelemetry
 * unit names appended (as OpenTelemetry's Prometheus exporters do:
 * gen_ai.client.operation.duration in "s" is
 * gen_ai_client_operation_duration_seconds; "{token}" names none).
 */
static void put_family(FILE *f, const struct metric_family *mf, const char *suffix)
{
	static const struct {
		const char *unit, *suffix;
	} units[] = {{"s", "_seconds"}, {"By", "_bytes"}};
	size_t n = strlen(mf->name);

	put_name(f, mf->name);
	for (size_t i = 0; mf->unit && i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);

		if (!strcmp(mf->unit, units[i].unit) &&
		    (n < sl || strcmp(mf->name + n - sl, units[i].suffix)))
			fputs(units[i].suffix, f);
	}
	fputs(suffix, f);
}

/* {k="v",...[,le="B"]}, nothing at all without labels. */
static void put_labels(FILE *f, const struct metric_series *s, const char *le)
{
	if (!s->nlabels && !le)
		return;
	fputc('{', f);
	for (unsigned int i = 0; i < s->nlabels; i++) {
		fputs(i ? "," : "", f);
		put_name(f, s->labels[i].key);
		fputs("=\"", f);
		put_escaped(f, s->labels[i].value, 1);
		fputc('"', f);
	}
	if (le)
		fprintf(f, "%sle=\"%s\"", s->nlabels ? "," : "", le);
	fputc('}', f);
}

static const char *type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

static void render_histogram(FILE *f, const struct metric_family *mf, const struct metric_series *s)
{
	char num[32];
	uint64_t cum = 0;

	for (unsigned int b = 0; b <= mf->nbounds; b++) {
		cum += s->counts[b];
		put_family(f, mf, "_bucket");
		put_labels(f, s,
			   b < mf->nbounds ? metrics_fmt_double(mf->bounds[b], num, sizeof(num))
					   : "+Inf");
		fprintf(f, " %" PRIu64 "\n", cum);
	}
	put_family(f, mf, "_sum");
	put_labels(f, s, NULL);
	fprintf(f, " %s\n", metrics_fmt_double(s->sum, num, sizeof(num)));
	put_family(f, mf, "_count");
	put_labels(f, s, NULL);
	/* The +Inf bucket, so _count always agrees with it. */
	fprintf(f, " %" PRIu64 "\n", cum);
}

static bool has_family(const struct metrics_snapshot *s, const char *name)
{
	for (size_t i = 0; s && i < s->nfamilies; i++)
		if (s->families[i].nseries && !strcmp(s->families[i].name, name))
			return true;
	return false;
}

/* @snap, less the families @skip renders already (a name has one HELP and TYPE). */
static int render_except(const struct metrics_snapshot *snap, const struct metrics_snapshot *skip,
			 FILE *f)
{
	char num[32];

	if (!snap || !f)
		return -EINVAL;
	for (size_t i = 0; i < snap->nfamilies; i++) {
		const struct metric_family *mf = &snap->families[i];

		if (!mf->nseries || has_family(skip, mf->name))
			continue;
		fputs("# HELP ", f);
		put_family(f, mf, " ");
		put_escaped(f, mf->help, 0);
		fputs("\n# TYPE ", f);
		put_family(f, mf, " ");
		fprintf(f, "%s\n", type_name(mf->type));
		for (size_t j = 0; j < mf->nseries; j++) {
			const struct metric_series *s = &mf->series[j];

			if (mf->type == METRIC_HISTOGRAM) {
				render_histogram(f, mf, s);
				continue;
			}
			put_family(f, mf, "");
			put_labels(f, s, NULL);
			fprintf(f, " %s\n", metrics_fmt_double(s->value, num, sizeof(num)));
		}
	}
	return ferror(f) ? -EIO : 0;
}

int prom_render(const struct metrics_snapshot *snap, FILE *f)
{
	return render_except(snap, NULL, f);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
		     MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_metrics(struct prom_server *srv, struct MHD_Connection *c)
{
	struct metrics_snapshot *snap = NULL, *self = NULL;
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	err = metrics__snapshot(srv->m, &snap);
	if (!err && srv->self)
		err = metrics__snapshot(srv->self, &self);
	if (err)
		goto err_out;
	f = open_memstream(&body, &len);
	if (!f) {
		err = -errno;
		goto err_out;
	}
	err = prom_render(snap, f);
	/* sonde's own: its registry's drop counter is the main one's name too. */
	if (!err && self)
		err = render_except(self, snap, f);
	if (fclose(f) && !err)
		err = -EIO;
	if (err)
		goto err_body;
	metrics_snapshot__free(snap);
	metrics_snapshot__free(self);
	return reply(c, MHD_HTTP_OK, PROM_CONTENT_TYPE, body, len, MHD_RESPMEM_MUST_FREE);

err_body:
	free(body);
err_out:
	metrics_snapshot__free(snap);
	metrics_snapshot__free(self);
	log_warn("prometheus: failed to render /metrics: %s", strerror(-err));
	return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
}

/* @a (IPv4 or IPv6) as 16 bytes, IPv4 mapped into IPv6. -1 for another family. */
static int addr16(const struct sockaddr *a, unsigned char out[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (a && a->sa_family == AF_INET) {
		memcpy(out, mapped, 12);
		memcpy(out + 12, &((const struct sockaddr_in *)a)->sin_addr, 4);
		return 0;
	}
	if (a && a->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static bool in_cidr(const unsigned char a[16], const struct prom_cidr *n)
{
	unsigned int full = n->bits / 8, rest = n->bits % 8;

	if (memcmp(a, n->addr, full))
		return false;
	return !rest || !((a[full] ^ n->addr[full]) & (0xff << (8 - rest)));
}

static bool allowed(const struct prom_server *srv, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	unsigned char a[16];

	if (!srv->nallow)
		return true;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || addr16(ci->client_addr, a))
		return false;
	for (unsigned int i = 0; i < srv->nallow; i++)
		if (in_cidr(a, &srv->allow[i]))
			return true;
	return false;
}

/* Equal strings, in a time that does not depend on where they differ. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

static bool password_ok(struct prom_server *srv, const char *user, const char *pass)
{
	struct crypt_data cd;
	const char *h;

	if (srv->ok_user && !strcmp(srv->ok_user, user) && same_secret(srv->ok_pass, pass))
		return true;
	for (size_t i = 0; i < srv->nusers; i++) {
		if (strcmp(srv->users[i].name, user))
			continue;
		memset(&cd, 0, sizeof(cd));
		/* crypt_rn, not crypt_r: sanitizers intercept the latter by a
		 * symbol of their own, leaving libcrypt unlinked. */
		h = crypt_rn(pass, srv->users[i].hash, &cd, sizeof(cd));
		if (!h || !same_secret(h, srv->users[i].hash))
			return false;
		/* Scrapes repeat the same password: hash it once. */
		free(srv->ok_user);
		free(srv->ok_pass);
		srv->ok_user = strdup(user);
		srv->ok_pass = strdup(pass);
		if (!srv->ok_user || !srv->ok_pass) {
			free(srv->ok_user);
			srv->ok_user = NULL;
		}
		return true;
	}
	return false;
}

/*
 * With an auth file, whether @c may read /metrics: true, or false once a
 * 401 asking for a password is queued (*ret is what MHD must get).
 */
static bool authorized(struct prom_server *srv, struct MHD_Connection *c, enum MHD_Result *ret)
{
	static const char msg[] = "authentication required\n";
	struct MHD_Response *r;
	char *pass = NULL, *user;
	bool ok;

	if (!srv->nusers)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && password_ok(srv, user, pass);
	MHD_free(user);
	MHD_free(pass);
	if (ok)
		return true;
	__atomic_add_fetch(&srv->unauthorized, 1, __ATOMIC_RELAXED);
	*ret = MHD_NO;
	r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return false;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	*ret = MHD_queue_basic_auth_fail_response(c, AUTH_REALM, r);
	MHD_destroy_response(r);
	return false;
}

/* The readiness the owner last set, copied under its lock. */
static enum MHD_Result serve_ready(struct prom_server *srv, struct MHD_Connection *c)
{
	unsigned int status;
	char *body;
	bool have;

	pthread_mutex_lock(&srv->ready_lock);
	status = srv->ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
	have = srv->have_ready;
	body = have ? strdup(srv->ready_body) : NULL;
	pthread_mutex_unlock(&srv->ready_lock);
	if (!have)
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	if (!body)
		return MHD_NO;
	return reply(c, status, "application/json", body, strlen(body), MHD_RESPMEM_MUST_FREE);
}

int prom_server__set_ready(struct prom_server *srv, bool ready, const char *json)
{
	char *copy = strdup(json);

	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&srv->ready_lock);
	free(srv->ready_body);
	srv->ready_body = copy;
	srv->ready = ready;
	srv->have_ready = true;
	pthread_mutex_unlock(&srv->ready_lock);
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct prom_server *srv = cls;

	if (!allowed(srv, c)) {
		__atomic_add_fetch(&srv->forbidden, 1, __ATOMIC_RELAXED);
		return reply_text(c, MHD_HTTP_FORBIDDEN, "forbidden: not in --listen-allow\n");
	}
	/* HEAD is GET without the body (MHD drops it); HTTP requires both. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/metrics")) {
		enum MHD_Result ret;

		if (!authorized(srv, c, &ret))
			return ret;
		return serve_metrics(srv, c);
	}
	if (!strcmp(url, "/healthz"))
		return reply_text(c, MHD_HTTP_OK, "ok\n");
	if (!strcmp(url, "/readyz"))
		return serve_ready(srv, c);
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("prometheus: %s", buf);
}

/* An all-interfaces socket: IPv6 accepting IPv4 too, or IPv4 alone. */
static int any_addr(unsigned int port, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(ss, 0, sizeof(*ss));
	if (fd >= 0) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		close(fd);
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	}
	return 0;
}

static int open_listener(const char *addr, int *fdp, unsigned int *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned int port;
	char host[256];
	int fd, one = 1, zero = 0, err;

	if (hostport_parse(addr, host, sizeof(host), &port)) {
		log_err("cannot listen on '%s': expected HOST:PORT, [IPV6]:PORT or :PORT "
			"(e.g. --listen %s)",
			addr, PROM_DEFAULT_LISTEN);
		return -EINVAL;
	}
	err = host[0] ? hostport_resolve(host, port, SOCK_STREAM, &ss, &len)
		      : any_addr(port, &ss, &len);
	if (err) {
		log_err("cannot listen on %s: unknown host '%s' (use an IP address such as "
			"127.0.0.1)",
			addr, host);
		return err;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto err_log;
	}
	/* Restart without waiting out TIME_WAIT; Linux still refuses a live listener. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6 && !host[0])
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		err = -errno;
		goto err_fd;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len)) {
		err = -errno;
		goto err_fd;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	*fdp = fd;
	return 0;

err_fd:
	close(fd);
err_log:
	log_err("cannot listen on %s: %s (choose another port with --listen)", addr,
		strerror(-err));
	return err;
}

int prom_cidr_parse(const char *s, struct prom_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long bits;
	struct in_addr a4;
	struct in6_addr a6;
	bool v4;
	char *end;

	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	v4 = inet_pton(AF_INET, host, &a4) == 1;
	if (v4) {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, host, &a6) == 1) {
		memcpy(out->addr, &a6, 16);
	} else {
		return -EINVAL;
	}
	bits = v4 ? 32 : 128;
	if (slash) {
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -EINVAL;
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno || *end || bits > (v4 ? 32u : 128u))
			return -EINVAL;
	}
	out->bits = (unsigned int)(v4 ? 96 + bits : bits);
	/* Host bits set ("10.1.2.3/8") are a typo for another network: refuse. */
	for (unsigned int b = out->bits; b < 128; b++)
		if (out->addr[b / 8] & (0x80 >> (b % 8)))
			return -EINVAL;
	return 0;
}

static void free_users(struct prom_server *srv)
{
	for (size_t i = 0; i < srv->nusers; i++) {
		free(srv->users[i].name);
		free(srv->users[i].hash);
	}
	free(srv->users);
	srv->users = NULL;
	srv->nusers = 0;
}

/* One "USER:HASH" line (newline stripped); 0, -EINVAL or -ENOMEM. */
static int add_user(struct prom_server *srv, const char *line)
{
	const char *colon = strchr(line, ':');
	struct user *u;

	if (!colon || colon == line || colon[1] != '$' || strpbrk(line, " \t\r") ||
	    srv->nusers == MAX_USERS)
		return -EINVAL;
	u = realloc(srv->users, (srv->nusers + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	srv->users = u;
	u[srv->nusers].name = strndup(line, colon - line);
	u[srv->nusers].hash = strdup(colon + 1);
	srv->nusers++;
	return u[srv->nusers - 1].name && u[srv->nusers - 1].hash ? 0 : -ENOMEM;
}

static int load_auth(struct prom_server *srv, const char *path)
{
	char line[1024];
	struct stat st;
	int fd, err = 0, lineno = 0;
	FILE *f;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		log_err("cannot use --listen-auth %s: %s", path, strerror(-err));
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		log_err("cannot use --listen-auth %s: not a regular file", path);
		goto out_fd;
	}
	if (st.st_mode & (S_IRWXO | S_IWGRP)) {
		err = -EACCES;
		log_err("cannot use --listen-auth %s: other users may read or change it (mode "
			"%04o); "
			"chmod 600 %s",
			path, (unsigned int)(st.st_mode & 07777), path);
		goto out_fd;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		goto out_fd;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		err = add_user(srv, line);
		if (err == -EINVAL)
			log_err("cannot use --listen-auth %s: line %d is not USER:HASH with a "
				"crypt(3) "
				"hash (e.g. from 'openssl passwd -6'), or more than %d users",
				path, lineno, MAX_USERS);
	}
	fclose(f);
	if (!err && !srv->nusers) {
		err = -EINVAL;
		log_err("cannot use --listen-auth %s: no USER:HASH line", path);
	}
	return err;

out_fd:
	if (fd >= 0)
		close(fd);
	return err;
}

int prom_server__start(const struct prom_server_opts *o, struct prom_server **out)
{
	const char *listen_addr = o->listen ? o->listen : PROM_DEFAULT_LISTEN;
	struct prom_server *srv;
	int err;

	if (!o->metrics || !out || o->nallow > PROM_MAX_ALLOW)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		log_err("prometheus: failed to allocate the server: out of memory");
		return -ENOMEM;
	}
	srv->m = o->metrics;
	srv->self = o->self;
	srv->fd = -1;
	pthread_mutex_init(&srv->ready_lock, NULL);
	srv->nallow = o->nallow;
	if (o->nallow)
		memcpy(srv->allow, o->allow, o->nallow * sizeof(*o->allow));
	if (o->auth_file) {
		err = load_auth(srv, o->auth_file);
		if (err)
			goto err_srv;
	}
	err = open_listener(listen_addr, &srv->fd, &srv->port);
	if (err)
		goto err_srv;
	/*
	 * Bounded for hostile clients: one address cannot hold every slot
	 * (slowloris), and a connection that sends nothing is closed.
	 */
	srv->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, srv->fd, MHD_OPTION_CONNECTION_LIMIT,
		o->max_connections ? o->max_connections : PROM_MAX_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		o->per_ip_connections ? o->per_ip_connections : PROM_PER_IP_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT,
		o->timeout_s ? o->timeout_s : PROM_CONNECTION_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_END);
	if (!srv->daemon) {
		err = errno ? -errno : -ENOMEM;
		log_err("prometheus: failed to start the HTTP server on %s: %s", listen_addr,
			strerror(-err));
		goto err_fd;
	}
	*out = srv;
	return 0;

err_fd:
	/* Whether a failed start already closed the socket it was given varies
	 * by MHD version; close it only if it is still ours. */
	if (fcntl(srv->fd, F_GETFD) != -1)
		close(srv->fd);
err_srv:
	free_users(srv);
	free(srv);
	return err;
}

int prom_server__new(const char *listen_addr, struct metrics *m, struct prom_server **out)
{
	struct prom_server_opts o = {.listen = listen_addr, .metrics = m};

	return prom_server__start(&o, out);
}

void prom_server__refused(struct prom_server *srv, uint64_t *forbidden, uint64_t *unauthorized)
{
	*forbidden = srv ? __atomic_load_n(&srv->forbidden, __ATOMIC_RELAXED) : 0;
	*unauthorized = srv ? __atomic_load_n(&srv->unauthorized, __ATOMIC_RELAXED) : 0;
}

void prom_server__free(struct prom_server *srv)
{
	if (!srv)
		return;
	/* Closes the listening socket too, though we created it. */
	MHD_stop_daemon(srv->daemon);
	free_users(srv);
	free(srv->ok_user);
	free(srv->ok_pass);
	free(srv->ready_body);
	pthread_mutex_destroy(&srv->ready_lock);
	free(srv);
}

unsigned int prom_server__port(const struct prom_server *srv)
{
	return srv ? srv->port : 0;
}
