/* The Lua library modules (the files of lua/lunaserve), built into the server: `require
 * "lunaserve.http"` finds them in package.preload wherever the binary runs from. */
#ifndef LS_MODULES_H
#define LS_MODULES_H

#include <stddef.h>

typedef struct ls_lua_module {
    const char *name;      /* "lunaserve.http" */
    const char *chunkname; /* "@lua/lunaserve/http.lua": errors name the file and line */
    const char *source;
    size_t len;
} ls_lua_module;

/* Ends with an entry whose name is NULL. */
extern const ls_lua_module ls_lua_modules[];

#endif
