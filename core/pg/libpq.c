/* Loads libpq when first needed (see libpq.h). */
#define LS_LIBPQ_LOADER
#include "libpq.h"

#include "dynlib.h"

ls_libpq ls_pq;

#define LS_LIBPQ_NAME(f) #f,
#define LS_LIBPQ_SLOT(f) (void **)&ls_pq.f,
static const char *const names[] = {LS_LIBPQ_FUNCS(LS_LIBPQ_NAME)};
static void **const slots[] = {LS_LIBPQ_FUNCS(LS_LIBPQ_SLOT)};

const char *ls_libpq_load(void) {
    static ls_dynlib lib = {"libpq.so.5", "libpq", "libpq5", names, slots,
                            sizeof names / sizeof names[0], 0, ""};
    return ls_dynlib_load(&lib);
}
