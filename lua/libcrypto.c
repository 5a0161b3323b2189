/* Loads libcrypto when first needed (see libcrypto.h). */
#define LS_LIBCRYPTO_LOADER
#include "libcrypto.h"

#include <dlfcn.h>
#include <stdio.h>

ls_libcrypto ls_crypto;

const char *ls_libcrypto_load(void) {
    static int loaded;
    static char err[512];
    if (loaded)
        return NULL;
    if (err[0])
        return err;
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, sizeof err, "cannot load libcrypto (install libssl3): %s", dlerror());
        return err;
    }
    /* (POSIX's way to take a function from dlsym: through the pointer's storage) */
#define LS_LIBCRYPTO_SYMBOL(name)                                                              \
    *(void **)&ls_crypto.name = dlsym(lib, #name);                                             \
    if (!ls_crypto.name) {                                                                     \
        snprintf(err, sizeof err, "libcrypto has no %s: %s", #name, dlerror());                \
        return err;                                                                            \
    }
    LS_LIBCRYPTO_FUNCS(LS_LIBCRYPTO_SYMBOL)
#undef LS_LIBCRYPTO_SYMBOL
    loaded = 1; /* (the library stays loaded for the life of the process) */
    return NULL;
}
