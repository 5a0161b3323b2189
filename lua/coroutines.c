/* The coroutine library as handlers see it: coroutine.resume and coroutine.wrap pass a wait
 * upward, so that req:read(), lunaserve.sleep() and the other waiting calls work in any
 * coroutine a handler creates, as in the handler itself (as in OpenResty).
 *
 * A waiting call yields a private token (waiter.c). When the coroutine a resume or a wrapped
 * function runs yields that token, the resumer does not return: it yields its own coroutine
 * with the token too (lua_yieldk, with a continuation), and so on up to the handler's
 * coroutine, where the driver sees the wait. When the event comes, the driver resumes the
 * handler's coroutine with the values; each continuation on the way down resumes the
 * coroutine it had resumed with them, and the waiting call returns them. Every other yield
 * and every error behave as in standard Lua.
 *
 * Also: a coroutine suspended in a wait cannot be resumed or closed by other code (that
 * would hand it values meant for the waiting call), and the handler's own coroutine is the
 * top level, like the main thread of a script: coroutine.yield there is an error and
 * coroutine.isyieldable() is false. */
#include "binding.h"

#include <lualib.h>

/* How the continuation finds its coroutine again. */
enum { BY_RESUME, BY_WRAP };

/* Closes a suspended or dead coroutine's to-be-closed variables; the status, with the error
 * object on co's stack if not LUA_OK. */
#if LUA_VERSION_RELEASE_NUM >= 50406
#define close_thread(co, L) lua_closethread(co, L)
#else
#define close_thread(co, L) ((void)(L), lua_resetthread(co))
#endif

static lua_State *check_co(lua_State *L, int idx) {
    luaL_checktype(L, idx, LUA_TTHREAD); /* the library's own message */
    return lua_tothread(L, idx);
}

static int continue_child(lua_State *L, int status, lua_KContext how);

/* Runs co with the nargs values on top of L, up to its next yield or its end. For
 * coroutine.resume it returns true and the yielded (or returned) values, or false and the
 * error; for a wrapped function the values, or it raises the error. A wait inside co
 * suspends L as well (L's resumer then does the same, up to the root). */
static int run_child(lua_State *L, lua_State *co, int nargs, lua_KContext how) {
    ls_vm *vm = ls_vm_of(L);
    int nres, st;
    if (!lua_checkstack(co, nargs)) {
        lua_pop(L, nargs);
        lua_pushliteral(L, "too many arguments to resume");
        st = LUA_ERRRUN;
        goto failed;
    }
    lua_xmove(L, co, nargs);
    int linked = ls_chain_push(&vm->chain, co, L);
    st = lua_resume(co, L, nargs, &nres);
    if (linked)
        ls_chain_pop(&vm->chain);
    if (st == LUA_YIELD && ls_wait_yielded(co, nres)) {
        /* ls_chain_root checked that every coroutine up to the root can yield. */
        lua_pop(co, nres);
        ls_mark_waiting(co, 1);
        ls_push_wait_token(L);
        return lua_yieldk(L, 1, how, continue_child);
    }
    if (st == LUA_OK || st == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            st = LUA_ERRRUN;
            goto failed;
        }
        lua_xmove(co, L, nres);
        if (how == BY_WRAP)
            return nres;
        lua_pushboolean(L, 1);
        lua_insert(L, -(nres + 1));
        return nres + 1;
    }
    lua_xmove(co, L, 1); /* the error object */
failed:
    if (how == BY_RESUME) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    /* A wrapped function raises the error in its caller. A coroutine that died of it is
     * closed first (its to-be-closed variables), whose error object then counts; a string
     * gets the caller's position in front. */
    st = lua_status(co);
    if (st != LUA_OK && st != LUA_YIELD) {
        st = close_thread(co, L);
        lua_xmove(co, L, 1);
    }
    if (st != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

/* The root was resumed after a wait: the values for the waiting call are on top of L's
 * stack (above the coroutine, for coroutine.resume); hand them on down. */
static int continue_child(lua_State *L, int status, lua_KContext how) {
    (void)status;
    lua_State *co;
    int nargs;
    if (how == BY_RESUME) {
        co = lua_tothread(L, 1);
        nargs = lua_gettop(L) - 1;
    } else {
        co = lua_tothread(L, lua_upvalueindex(1));
        nargs = lua_gettop(L);
    }
    ls_mark_waiting(co, 0);
    return run_child(L, co, nargs, how);
}

/* Pushes false and why a coroutine suspended in a wait cannot be resumed. */
static int refuse_resume(lua_State *L) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "cannot resume a coroutine that waits in a lunaserve call");
    return 2;
}

/* coroutine.resume(co, ...) */
static int lib_resume(lua_State *L) {
    lua_State *co = check_co(L, 1);
    if (ls_is_waiting(co))
        return refuse_resume(L);
    return run_child(L, co, lua_gettop(L) - 1, BY_RESUME);
}

/* A function made by coroutine.wrap: upvalue 1 is its coroutine. */
static int wrapped(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    if (ls_is_waiting(co)) {
        refuse_resume(L);
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    return run_child(L, co, lua_gettop(L), BY_WRAP);
}

/* coroutine.wrap(f) */
static int lib_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, wrapped, 1);
    return 1;
}

/* coroutine.yield(...): the handler's coroutine is the top level. */
static int lib_yield(lua_State *L) {
    if (ls_root_of(L))
        return luaL_error(L, "attempt to yield from outside a coroutine");
    return lua_yield(L, lua_gettop(L));
}

/* coroutine.isyieldable([co]) */
static int lib_isyieldable(lua_State *L) {
    lua_State *co = lua_isnone(L, 1) ? L : check_co(L, 1);
    lua_pushboolean(L, !ls_root_of(co) && lua_isyieldable(co));
    return 1;
}

/* What coroutine.status would say of co, seen from L. */
static const char *status_of(lua_State *L, lua_State *co) {
    if (L == co)
        return "running";
    switch (lua_status(co)) {
    case LUA_YIELD:
        return "suspended";
    case LUA_OK: {
        lua_Debug ar;
        if (lua_getstack(co, 0, &ar)) /* it has frames: it resumed another one */
            return "normal";
        return lua_gettop(co) == 0 ? "dead" : "suspended"; /* not started yet */
    }
    default: /* died of an error */
        return "dead";
    }
}

/* coroutine.close(co) */
static int lib_close(lua_State *L) {
    lua_State *co = check_co(L, 1);
    const char *status = status_of(L, co);
    if (status[0] == 'r' || status[0] == 'n')
        return luaL_error(L, "cannot close a %s coroutine", status);
    if (ls_is_waiting(co))
        return luaL_error(L, "cannot close a coroutine that waits in a lunaserve call");
    if (close_thread(co, L) == LUA_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_xmove(co, L, 1); /* the error object */
    return 2;
}

void ls_coroutines_open(lua_State *L) {
    static const luaL_Reg funcs[] = {{"resume", lib_resume}, {"wrap", lib_wrap},
                                     {"yield", lib_yield},   {"isyieldable", lib_isyieldable},
                                     {"close", lib_close},   {NULL, NULL}};
    lua_getglobal(L, LUA_COLIBNAME);
    luaL_setfuncs(L, funcs, 0);
    lua_pop(L, 1);
}
