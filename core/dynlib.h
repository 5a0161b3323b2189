/* A shared library loaded the first time it is needed (dlopen), its functions taken by name
 * into the caller's table of pointers. For the libraries only some apps use (libpq,
 * libcrypto): linked outright, their relocations and constructors would cost every server
 * their resident memory whether it uses them or not. */
#ifndef LS_DYNLIB_H
#define LS_DYNLIB_H

#include <stddef.h>

typedef struct ls_dynlib {
    const char *soname;       /* what dlopen loads: "libpq.so.5" */
    const char *label;        /* its name in messages: "libpq" */
    const char *package;      /* the Debian package to install when it is missing */
    const char *const *names; /* the functions, one per slot */
    void **const *slots;      /* where each goes (the address of a function pointer) */
    size_t n;
    int loaded;
    char err[512]; /* why it could not be loaded (tried once) */
} ls_dynlib;

/* Loads the library and fills every slot, once (later calls return at once): NULL, or why it
 * cannot be loaded. The library stays loaded for the life of the process. */
const char *ls_dynlib_load(ls_dynlib *lib);

#endif
