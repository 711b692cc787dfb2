/* SPDX-License-Identifier: MIT */
/*
 * "HOST:PORT" addresses as users write them for --listen and --statsd:
 * "127.0.0.1:9464", "[::1]:9464", "localhost:8125", ":9464".
 */
#ifndef SONDE_HOSTPORT_H
#define SONDE_HOSTPORT_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Split @s into @host (without brackets; "" for ":PORT") and @port
 * (0-65535). A bare IPv6 address needs brackets. 0 or -EINVAL.
 */
int hostport_parse(const char *s, char *host, size_t hostlen, unsigned int *port);

/*
 * Resolve @host (numeric, or a name from /etc/hosts or DNS) to its first
 * address of @socktype. 0, -EINVAL (empty host), -ENOENT (unknown name).
 */
int hostport_resolve(const char *host, unsigned int port, int socktype, struct sockaddr_storage *ss,
		     socklen_t *len);

#endif /* SONDE_HOSTPORT_H */
