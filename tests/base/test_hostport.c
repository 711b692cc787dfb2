// SPDX-License-Identifier: MIT
/* HOST:PORT parsing for --listen and --statsd. */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>

#include <criterion/criterion.h>

#include "base/hostport.h"

static void ok(const char *s, const char *host, unsigned int port)
{
	char h[64];
	unsigned int p = 12345;

	cr_assert_eq(hostport_parse(s, h, sizeof(h), &p), 0, "%s", s);
	cr_assert_str_eq(h, host, "%s", s);
	cr_assert_eq(p, port, "%s", s);
}

static void bad(const char *s)
{
	char h[64];
	unsigned int p;

	cr_assert_eq(hostport_parse(s, h, sizeof(h), &p), -EINVAL, "%s", s);
}

Test(hostport, parses_the_forms_users_write)
{
	ok("127.0.0.1:9464", "127.0.0.1", 9464);
	ok("[::1]:9464", "::1", 9464);
	ok(":9464", "", 9464);
	ok("localhost:0", "localhost", 0);
	ok("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535);
}

Test(hostport, rejects_ambiguous_or_broken_input)
{
	bad("9464");
	bad("127.0.0.1");
	bad("127.0.0.1:");
	bad("127.0.0.1:65536");
	bad("127.0.0.1:99999999");
	bad("127.0.0.1:80x");
	bad("127.0.0.1:-1");
	bad("::1:9464");
	bad("[::1]9464");
	bad("[]:9464");
	bad("[::1:9464");
	bad(NULL);
}

Test(hostport, host_too_long_for_buffer)
{
	char h[4];
	unsigned int p;

	cr_assert_eq(hostport_parse("abc:1", h, sizeof(h), &p), 0);
	cr_assert_eq(hostport_parse("abcd:1", h, sizeof(h), &p), -EINVAL);
}

Test(hostport, resolves_numeric_and_local_names)
{
	struct sockaddr_storage ss;
	socklen_t len;

	cr_assert_eq(hostport_resolve("127.0.0.1", 8125, SOCK_DGRAM, &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8125);
	cr_assert_eq(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), INADDR_LOOPBACK);
	cr_assert_eq(hostport_resolve("::1", 9, SOCK_STREAM, &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET6);
	cr_assert_eq(hostport_resolve("", 9, SOCK_STREAM, &ss, &len), -EINVAL);
	cr_assert_eq(hostport_resolve("no-such-host.invalid", 9, SOCK_STREAM, &ss, &len), -ENOENT);
}
