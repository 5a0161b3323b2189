/* The `lunaserve` module for apps: its functions (sleep, tcp, timer, now), and its library
 * modules (the files of lua/lunaserve, built in) as fields that load on first use, so
 * `lunaserve.http` is `require "lunaserve.http"`. */
#include "binding.h"

#include <string.h>

/* __index of the module: a built-in library module of that name, required now. */
static int load_field(lua_State *L) {
    const char *name = luaL_checkstring(L, 2);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushfstring(L, "lunaserve.%s", name);
    int known = lua_getfield(L, -2, lua_tostring(L, -1)) != LUA_TNIL;
    lua_pop(L, 1);
    if (!known)
        return 0;
    lua_getglobal(L, "require");
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, name); /* next time a plain field */
    return 1;
}

int ls_open_lunaserve(lua_State *L) {
    static const luaL_Reg funcs[] = {{"sleep", ls_l_sleep}, {NULL, NULL}};
    luaL_newlibtable(L, funcs);
    lua_pushvalue(L, lua_upvalueindex(1));
    luaL_setfuncs(L, funcs, 1);
    lua_pushstring(L, LS_VERSION);
    lua_setfield(L, -2, "version");
    ls_timer_open(L, lua_touserdata(L, lua_upvalueindex(1)));
    ls_clock_open(L, lua_touserdata(L, lua_upvalueindex(1)));
    /* each part adds its own fields */
    ls_tcp_open(L, -1);
    lua_newtable(L);
    lua_pushcfunction(L, load_field);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    return 1;
}
