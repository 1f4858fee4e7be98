/* SPDX-License-Identifier: MIT */
/*
 * The real libc functions underneath our wrappers.  RTLD_NEXT finds the
 * definition after ours in the lookup order (libc, or another preloaded
 * interposer such as a sanitizer runtime, which must keep working); a
 * handle on libc itself is the fallback when RTLD_NEXT has none.
 *
 * A wrapper can run before our constructor (another library's constructor
 * calls open), so REAL() resolves lazily; resolving twice is harmless.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
#include "shim.h"

struct shim_real_fns shim_real;
atomic_bool shim_real_ready;

static void *real_lookup(void **libc, const char *name)
{
	void *sym = dlsym(RTLD_NEXT, name);

	if (sym)
		return sym;
	if (!*libc)
		*libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	return *libc ? dlsym(*libc, name) : NULL;
}

void shim_real_init(void)
{
	void *libc = NULL;

	if (atomic_load(&shim_real_ready))
		return;
#define SHIM_REAL_RESOLVE(ret, name, args) \
	shim_real.name = (ret (*) args)real_lookup(&libc, #name);
	SHIM_REAL_FUNCS(SHIM_REAL_RESOLVE)
#undef SHIM_REAL_RESOLVE
	atomic_store_explicit(&shim_real_ready, true, memory_order_release);
}
