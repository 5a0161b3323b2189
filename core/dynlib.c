/* A shared library loaded when first needed (see dynlib.h). */
#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>

const char *ls_dynlib_load(ls_dynlib *lib) {
    if (lib->loaded)
        return NULL;
    if (lib->err[0])
        return lib->err;
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(lib->err, sizeof lib->err, "cannot load %s (install %s): %s", lib->label,
                 lib->package, dlerror());
        return lib->err;
    }
    for (size_t i = 0; i < lib->n; i++) {
        void *f = dlsym(h, lib->names[i]);
        if (!f) {
            snprintf(lib->err, sizeof lib->err, "%s has no %s: %s", lib->label, lib->names[i],
                     dlerror());
            return lib->err;
        }
        *lib->slots[i] = f; /* (POSIX's way to store what dlsym gives into a function pointer) */
    }
    lib->loaded = 1;
    return NULL;
}
