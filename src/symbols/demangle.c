// SPDX-License-Identifier: MIT
/*
 * Demangling through libiberty's cplus_demangle(): DMGL_AUTO picks the
 * Itanium C++ ABI or Rust's legacy and v0 schemes from the name itself.
 * Names are untrusted (any binary a target maps): libiberty bounds its
 * recursion, and we refuse names too long to be real.
 */
#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "symbols/demangle.h"

/* Longer names are not symbols a compiler wrote. */
#define MAX_MANGLED 4096

bool sym_is_mangled(const char *name)
{
	/* "_Z" (C++, Rust legacy), "__Z" (Mach-O leftovers), "_R" (Rust v0). */
	return name[0] == '_' &&
	       (name[1] == 'Z' || (name[1] == '_' && name[2] == 'Z') ||
		(name[1] == 'R' && name[2] >= 'A' && name[2] <= 'Z'));
}

char *sym_demangle(const char *name, bool params)
{
	int opts = DMGL_AUTO | (params ? DMGL_PARAMS | DMGL_ANSI : 0);
	size_t len = strlen(name), base_len;
	const char *at;
	char *base, *dem, *out;

	if (!sym_is_mangled(name) || len > MAX_MANGLED)
		return NULL;
	/* "_Z3foov@plt", "_Z3foov@@GLIBCXX_3.4": demangle the part before '@'. */
	at = strchr(name, '@');
	base_len = at ? (size_t)(at - name) : len;
	base = strndup(name, base_len);
	if (!base)
		return NULL;
	dem = cplus_demangle(base, opts);
	free(base);
	if (!dem || !at)
		return dem;
	out = malloc(strlen(dem) + strlen(at) + 1);
	if (out) {
		strcpy(out, dem);
		strcat(out, at);
	}
	free(dem);
	return out;
}
