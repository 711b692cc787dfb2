// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"

static int parse_port(const char *s, unsigned int *port)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s >= 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = (unsigned int)v;
	return 0;
}

int hostport_parse(const char *s, char *host, size_t hostlen, unsigned int *port)
{
	const char *colon, *hs;
	size_t hn;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || end == s + 1)
			return -EINVAL;
		hs = s + 1;
		hn = (size_t)(end - hs);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		/* "::1:80" is ambiguous: ask for brackets rather than guess. */
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		hs = s;
		hn = (size_t)(colon - s);
	}
	if (hn + 1 > hostlen)
		return -EINVAL;
	if (parse_port(colon + 1, port))
		return -EINVAL;
	memcpy(host, hs, hn);
	host[hn] = '\0';
	return 0;
}

int hostport_resolve(const char *host, unsigned int port, int socktype, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = socktype, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char serv[8];
	int rc;

	if (!host || !*host)
		return -EINVAL;
	snprintf(serv, sizeof(serv), "%u", port);
	rc = getaddrinfo(host, serv, &hints, &res);
	if (rc || !res)
		return rc == EAI_MEMORY ? -ENOMEM : -ENOENT;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
