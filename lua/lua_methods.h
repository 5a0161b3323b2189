/* req and res methods written in Lua (lua_methods.c) */
#ifndef LS_LUA_METHODS_H
#define LS_LUA_METHODS_H

#include <lua.h>

typedef struct ls_lua_method {
    const char *name;   /* the method, e.g. "json" */
    const char *module; /* the built-in module that has it, e.g. "lunaserve.json" */
    const char *field;  /* its function there, e.g. "res_json" */
} ls_lua_method;

/* Adds the methods of list (ended by a NULL name) to the methods table at index `methods`;
 * each loads its module on first use. */
void ls_lua_methods(lua_State *L, int methods, const ls_lua_method *list);
/* Pushes module[field], a function, loading the module if it has not been yet (raises if
 * that fails). */
void ls_push_lua_function(lua_State *L, const char *module, const char *field);

#endif
