/* Loads libcrypto when first needed (see libcrypto.h). */
#define LS_LIBCRYPTO_LOADER
#include "libcrypto.h"

#include "dynlib.h"

ls_libcrypto ls_crypto;

#define LS_LIBCRYPTO_NAME(f) #f,
#define LS_LIBCRYPTO_SLOT(f) (void **)&ls_crypto.f,
static const char *const names[] = {LS_LIBCRYPTO_FUNCS(LS_LIBCRYPTO_NAME)};
static void **const slots[] = {LS_LIBCRYPTO_FUNCS(LS_LIBCRYPTO_SLOT)};

const char *ls_libcrypto_load(void) {
    static ls_dynlib lib = {"libcrypto.so.3", "libcrypto", "libssl3", names, slots,
                            sizeof names / sizeof names[0], 0, ""};
    return ls_dynlib_load(&lib);
}
