/* Events: req:on / res:on add listeners, and the core's callbacks emit to them. Listeners of
 * a request live in a table in its res userdata ("req:data", "res:finish", ...), each a list
 * called in the order added. */
#include "binding.h"

int ls_on(lua_State *L, ls_lreq *r, int res_idx, const char *side, const char *const events[]) {
    int e = luaL_checkoption(L, 2, NULL, events);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (lua_getiuservalue(L, res_idx, SLOT_LISTENERS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, res_idx, SLOT_LISTENERS);
    }
    lua_pushfstring(L, "%s:%s", side, events[e]);
    if (lua_rawget(L, -2) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushfstring(L, "%s:%s", side, events[e]);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, luaL_len(L, -2) + 1);
    lua_pop(L, 2);
    r->has_listeners = 1;
    lua_settop(L, 1);
    return 1;
}

void ls_emit(ls_lreq *r, const char *key, int nargs) {
    lua_State *L = r->vm->L;
    if (!r->has_listeners || r->self_ref == LUA_NOREF) {
        lua_pop(L, nargs);
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->self_ref);
    lua_getiuservalue(L, -1, SLOT_LISTENERS);
    lua_remove(L, -2);
    if (!lua_istable(L, -1)) { /* no listener at all */
        lua_pop(L, 1 + nargs);
        return;
    }
    if (lua_getfield(L, -1, key) != LUA_TTABLE) { /* none for this event */
        lua_pop(L, 2 + nargs);
        return;
    }
    /* stack: args..., listeners, list */
    int list = lua_gettop(L), first = list - 1 - nargs;
    lua_Integer n = luaL_len(L, list);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_pushcfunction(L, ls_traceback);
        lua_rawgeti(L, list, i);
        for (int a = 0; a < nargs; a++)
            lua_pushvalue(L, first + a);
        ls_budget_arm(L);
        uint64_t saved = ls_budget_start(r->vm);
        int st = lua_pcall(L, nargs, 0, -2 - nargs);
        ls_budget_end(saved);
        if (st != LUA_OK) {
            ls_lreq_log(r, "error in a listener", lua_tostring(L, -1));
            lua_pop(L, 1);
            ls_lreq_fail(r);
        }
        lua_pop(L, 1); /* traceback */
    }
    lua_settop(L, first - 1);
}
