// SPDX-License-Identifier: MIT
/* Durations, sizes, booleans and CIDR blocks as users write them. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config/agent_config.h"
#include "config/scalar.h"

static uint64_t dur(const char *s)
{
	uint64_t ns = 0;

	cr_assert_eq(scalar_parse_duration(s, &ns), 0, "'%s' should parse", s);
	return ns;
}

static uint64_t size(const char *s)
{
	uint64_t b = 0;

	cr_assert_eq(scalar_parse_size(s, &b), 0, "'%s' should parse", s);
	return b;
}

Test(scalar, durations)
{
	cr_expect_eq(dur("60s"), 60000000000ull);
	cr_expect_eq(dur("500ms"), 500000000ull);
	cr_expect_eq(dur("2m"), 120000000000ull);
	cr_expect_eq(dur("1h30m"), 5400000000000ull);
	cr_expect_eq(dur("1.5s"), 1500000000ull);
	cr_expect_eq(dur(".25s"), 250000000ull);
	cr_expect_eq(dur("250us"), 250000ull);
	cr_expect_eq(dur("10ns"), 10ull);
	cr_expect_eq(dur("1m0.5s"), 60500000000ull);
	cr_expect_eq(dur("0"), 0ull);
	cr_expect_eq(dur("0s"), 0ull);
	/* Digits past what the unit resolves are dropped, not rounded. */
	cr_expect_eq(dur("1.0000000019s"), 1000000001ull);
}

Test(scalar, durations_refused)
{
	static const char *const bad[] = {"",	 "60",	   "s",	  "1x", "-1s",		"1 s",
					  "1s ", "1.2.3s", "1sm", "1d", "99999999999h", "1e3s"};
	uint64_t ns;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(scalar_parse_duration(bad[i], &ns), -EINVAL, "'%s' parsed", bad[i]);
}

Test(scalar, sizes)
{
	cr_expect_eq(size("128MiB"), 134217728ull);
	cr_expect_eq(size("512Ki"), 524288ull);
	cr_expect_eq(size("4096"), 4096ull);
	cr_expect_eq(size("4096B"), 4096ull);
	cr_expect_eq(size("1.5GiB"), 1610612736ull);
	cr_expect_eq(size("1k"), 1000ull);
	cr_expect_eq(size("2MB"), 2000000ull);
	cr_expect_eq(size("3Gi"), 3221225472ull);
	cr_expect_eq(size("1TiB"), 1099511627776ull);
}

Test(scalar, sizes_refused)
{
	static const char *const bad[] = {"",	   "MiB",  "-1",     "12XB",
					  "1 MiB", "1mib", "1.5.5K", "99999999999999999999"};
	uint64_t b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(scalar_parse_size(bad[i], &b), -EINVAL, "'%s' parsed", bad[i]);
}

Test(scalar, canonical_forms_read_back)
{
	static const struct {
		uint64_t v;
		const char *dur, *size;
	} cases[] = {
		{0, "0s", "0B"},
		{1000, "1us", "1kB"},
		{1001, "1001ns", "1001B"},
		{16384, "16384ns", "16KiB"},
		{60000000000ull, "1m", "60GB"},
		{90000000000ull, "90s", "90GB"},
		{1500000000ull, "1500ms", "1500MB"},
		{7200000000000ull, "2h", "7200GB"},
		{134217728ull, "134217728ns", "128MiB"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		scalar_format_duration(cases[i].v, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].dur);
		cr_expect_eq(dur(buf), cases[i].v);
		scalar_format_size(cases[i].v, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].size);
		cr_expect_eq(size(buf), cases[i].v);
	}
}

Test(scalar, booleans)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "on", "1"};
	static const char *const no[] = {"false", "False", "no", "OFF", "0"};
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		cr_expect_eq(scalar_parse_bool(yes[i], &b), 0);
		cr_expect(b, "'%s' is true", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		cr_expect_eq(scalar_parse_bool(no[i], &b), 0);
		cr_expect(!b, "'%s' is false", no[i]);
	}
	cr_expect_eq(scalar_parse_bool("maybe", &b), -EINVAL);
	cr_expect_eq(scalar_parse_bool("", &b), -EINVAL);
	cr_expect_eq(scalar_parse_bool("2", &b), -EINVAL);
}

Test(scalar, cidr_blocks)
{
	struct cfg_cidr c;
	char hint[64];
	unsigned char want6[16] = {0xfe, 0x80};

	cr_assert_eq(scalar_parse_cidr("10.0.0.0/8", &c, NULL, 0), 0);
	cr_expect_eq(c.family, AF_INET);
	cr_expect_eq(c.prefix, 8);
	cr_expect_eq(c.addr[0], 10);
	cr_assert_eq(scalar_parse_cidr("127.0.0.1", &c, NULL, 0), 0);
	cr_expect_eq(c.prefix, 32);
	cr_assert_eq(scalar_parse_cidr("::1/128", &c, NULL, 0), 0);
	cr_expect_eq(c.family, AF_INET6);
	cr_expect_eq(c.prefix, 128);
	cr_expect_eq(c.addr[15], 1);
	cr_assert_eq(scalar_parse_cidr("0.0.0.0/0", &c, NULL, 0), 0);
	cr_expect_eq(c.prefix, 0);

	hint[0] = '\0';
	cr_expect_eq(scalar_parse_cidr("10.0.0.1/8", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_str_eq(hint, "10.0.0.0/8");
	cr_expect_eq(scalar_parse_cidr("fe80::1/10", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_str_eq(hint, "fe80::/10");
	cr_expect_eq(memcmp(c.addr, want6, 16), 0);
	cr_expect_eq(scalar_parse_cidr("192.168.1.0/23", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_str_eq(hint, "192.168.0.0/23");

	hint[0] = '\0';
	cr_expect_eq(scalar_parse_cidr("10.0.0.0/33", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_eq(scalar_parse_cidr("::/129", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_eq(scalar_parse_cidr("10.0.0.0/", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_eq(scalar_parse_cidr("host/8", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_eq(scalar_parse_cidr("/8", &c, hint, sizeof(hint)), -EINVAL);
	cr_expect_str_eq(hint, "", "no hint for what is no network at all");
}
