// SPDX-License-Identifier: MIT
/* Demangling: C++ (Itanium), Rust legacy and v0, suffixes kept, C untouched. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "symbols/demangle.h"

static void expect(const char *mangled, bool params, const char *want)
{
	char *got = sym_demangle(mangled, params);

	if (!want) {
		cr_assert_null(got, "%s demangled to %s", mangled, got);
		return;
	}
	cr_assert_not_null(got, "%s did not demangle", mangled);
	cr_assert_str_eq(got, want);
	free(got);
}

Test(demangle, cpp)
{
	expect("_ZN2ns5Klass6methodEi", false, "ns::Klass::method");
	expect("_ZN2ns5Klass6methodEi", true, "ns::Klass::method(int)");
	expect("_ZN2ns5Klass6methodEd", true, "ns::Klass::method(double)");
	expect("_ZNSt6vectorIiSaIiEE9push_backERKi", false, "std::vector<int, std::allocator<int> >::push_back");
	expect("_Z3fooPKc", true, "foo(char const*)");
}

Test(demangle, rust_legacy_and_v0)
{
	/* Legacy: the hash suffix goes, as rustfilt and perf show it. */
	expect("_ZN4core3fmt5write17h0123456789abcdefE", false, "core::fmt::write");
	expect("_RNvCs15kBYyAo9fc_7mycrate4main", false, "mycrate::main");
	expect("_RNvNtCs1234_7mycrate3foo3bar", false, "mycrate::foo::bar");
}

Test(demangle, suffixes_kept)
{
	expect("_ZN2ns5Klass6methodEi@plt", false, "ns::Klass::method@plt");
	expect("_ZNSt9exceptionD1Ev@@GLIBCXX_3.4", false, "std::exception::~exception@@GLIBCXX_3.4");
}

Test(demangle, plain_names_untouched)
{
	expect("malloc", false, NULL);
	expect("_start", false, NULL);
	expect("_Zgarbage", false, NULL);
	expect("_RNotRust", false, NULL);
	cr_assert(sym_is_mangled("_ZN1a1bEv"));
	cr_assert(sym_is_mangled("_RNvC1a1b"));
	cr_assert_not(sym_is_mangled("_Rx"));
	cr_assert_not(sym_is_mangled("main"));
}
