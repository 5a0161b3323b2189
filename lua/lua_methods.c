/* Methods of req and res (and req fields) written in Lua, in the library modules of
 * lua/lunaserve: the methods table holds a stub that loads the module on first use, puts the
 * module's function in its own place and calls it. Nothing is loaded for an app that never
 * uses them (lua-cjson, say), and later calls find the Lua function directly. */
#include "lua_methods.h"

#include <lauxlib.h>

/* Pushes module[field], a function (raises if it is not). */
void ls_push_lua_function(lua_State *L, const char *module, const char *field) {
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, module) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
        lua_getfield(L, -1, module);
        lua_remove(L, -2);
        if (lua_type(L, -1) != LUA_TFUNCTION)
            luaL_error(L, "built-in module %s is missing", module);
        lua_pushstring(L, module);
        lua_call(L, 1, 1);
        if (lua_type(L, -1) != LUA_TTABLE)
            luaL_error(L, "module %s did not return a table", module);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, module); /* package.loaded[module], as require does */
    }
    lua_getfield(L, -1, field);
    if (lua_type(L, -1) != LUA_TFUNCTION)
        luaL_error(L, "%s.%s is not a function", module, field);
    lua_replace(L, -3);
    lua_pop(L, 1);
}

static int stub_done(lua_State *L, int status, lua_KContext base) {
    (void)status;
    return lua_gettop(L) - (int)base;
}

/* upvalues: the methods table, the method's name, the module, the field */
static int stub(lua_State *L) {
    int nargs = lua_gettop(L);
    ls_push_lua_function(L, lua_tostring(L, lua_upvalueindex(3)),
                         lua_tostring(L, lua_upvalueindex(4)));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, -2);
    lua_rawset(L, lua_upvalueindex(1)); /* methods[name] = fn: the next call goes straight there */
    lua_insert(L, 1);
    /* the method may wait (req:json reads the body): a yield may cross this call */
    lua_callk(L, nargs, LUA_MULTRET, 0, stub_done);
    return stub_done(L, LUA_OK, 0);
}

void ls_lua_methods(lua_State *L, int methods, const ls_lua_method *list) {
    methods = lua_absindex(L, methods);
    for (; list->name; list++) {
        lua_pushvalue(L, methods);
        lua_pushstring(L, list->name);
        lua_pushstring(L, list->module);
        lua_pushstring(L, list->field);
        lua_pushcclosure(L, stub, 4);
        lua_setfield(L, methods, list->name);
    }
}
