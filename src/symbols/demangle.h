/* SPDX-License-Identifier: MIT */
/*
 * C++ (Itanium ABI, "_Z...") and Rust (legacy "_ZN...17h<hash>E" and v0
 * "_R...") symbol names made readable, with libiberty's demangler (the
 * one binutils and perf use; it knows all three). Without parameters, as
 * perf prints them by default ("ns::Klass::method"), so overloads share a
 * frame; with parameters where one function must be told apart from its
 * overloads ("ns::Klass::method(int)", sonde trace's reports).
 */
#ifndef SONDE_DEMANGLE_H
#define SONDE_DEMANGLE_H

#include <stdbool.h>

/* Whether @name looks mangled (C++ or Rust): cheap, no allocation. */
bool sym_is_mangled(const char *name);
/*
 * The demangled form of @name (malloc'd; the caller frees), with the
 * parameter list when @params, or NULL when @name is not a mangled name
 * (plain C) or does not demangle. A "@plt" or "@@VERSION" suffix is kept.
 */
char *sym_demangle(const char *name, bool params);

#endif /* SONDE_DEMANGLE_H */
