/* Loads libpq when first needed (see libpq.h). */
#define LS_LIBPQ_LOADER
#include "libpq.h"

#include <dlfcn.h>
#include <stdio.h>

ls_libpq ls_pq;

const char *ls_libpq_load(void) {
    static int loaded;
    static char err[512];
    if (loaded)
        return NULL;
    if (err[0])
        return err;
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, sizeof err, "cannot load libpq (install libpq5): %s", dlerror());
        return err;
    }
    /* (POSIX's way to take a function from dlsym: through the pointer's storage) */
#define LS_LIBPQ_SYMBOL(name)                                                                  \
    *(void **)&ls_pq.name = dlsym(lib, #name);                                                 \
    if (!ls_pq.name) {                                                                         \
        snprintf(err, sizeof err, "libpq has no %s: %s", #name, dlerror());                    \
        return err;                                                                            \
    }
    LS_LIBPQ_FUNCS(LS_LIBPQ_SYMBOL)
#undef LS_LIBPQ_SYMBOL
    loaded = 1; /* (the library stays loaded for the life of the process) */
    return NULL;
}
