/* `lunaserve.res`: the response. Every method goes straight to the connection in C; once
 * the connection has let go of the request the handle is dead: writes return false, header
 * calls return nil and "closed", destroy does nothing. */
#include "binding.h"
#include "held_string.h"
#include "lua_methods.h"

#include <stdlib.h>
#include <string.h>

/* Strings at least this long are queued in place (referenced), not copied. */

/* Every res function has the res metatable as upvalue 1: comparing with it is the type check
 * (cheaper than luaL_checkudata's registry lookup on every call). */
static ls_lreq *self(lua_State *L) {
    if (lua_getmetatable(L, 1)) {
        int ok = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
        if (ok)
            return lua_touserdata(L, 1);
    }
    luaL_typeerror(L, 1, LS_RES_MT);
    return NULL;
}

ls_lreq *ls_res_new(lua_State *L, ls_vm *vm, ls_conn *conn, int res_mt, int req_mt) {
    ls_lreq *r = lua_newuserdatauv(L, sizeof *r, SLOT_COUNT);
    memset(r, 0, sizeof *r);
    r->conn = conn;
    r->vm = vm;
    r->co_ref = r->self_ref = LUA_NOREF;
    r->status = 200;
    lua_pushvalue(L, res_mt);
    lua_setmetatable(L, -2);
    int res_idx = lua_gettop(L);
    ls_req_push_new(L, r, res_idx, req_mt);
    lua_setiuservalue(L, res_idx, SLOT_REQ);
    return r;
}

/* Raises for misuse; "closed" is not misuse and is reported by the callers. */
static int fail(lua_State *L, int err) {
    return luaL_error(L, "%s", ls_strerror(err));
}

/* The request can still be answered: attached, and its connection not closing. */
static int alive(const ls_lreq *r) { return r->conn && ls_conn_open(r->conn); }

static int dead(lua_State *L) {
    lua_pushnil(L);
    lua_pushliteral(L, "closed");
    return 2;
}

/* A header value from Lua: a string or a number (tostring). */
static const char *check_value(lua_State *L, int idx, size_t *len) {
    int t = lua_type(L, idx);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        luaL_typeerror(L, idx, "string, number or array of them");
    return lua_tolstring(L, idx, len);
}

/* Sets (replace) or adds the header name = value, where value may be an array. */
static void set_header(lua_State *L, ls_lreq *r, int name_idx, int value_idx, int replace) {
    size_t nlen, vlen;
    const char *name = luaL_checklstring(L, name_idx, &nlen);
    int err;
    if (lua_type(L, value_idx) == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, value_idx);
        if (replace && (err = ls_conn_remove_header(r->conn, name, nlen)) < 0)
            fail(L, err);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, value_idx, i);
            const char *v = check_value(L, -1, &vlen);
            if ((err = ls_conn_set_header(r->conn, name, nlen, v, vlen, 0)) < 0)
                fail(L, err);
            lua_pop(L, 1);
        }
        return;
    }
    const char *value = check_value(L, value_idx, &vlen);
    if ((err = ls_conn_set_header(r->conn, name, nlen, value, vlen, replace)) < 0)
        fail(L, err);
}

static int res_set_header(lua_State *L) {
    ls_lreq *r = self(L);
    if (!alive(r))
        return dead(L);
    set_header(L, r, 2, 3, 1);
    lua_settop(L, 1);
    return 1;
}

static int res_get_header(lua_State *L) {
    ls_lreq *r = self(L);
    size_t nlen;
    const char *name = luaL_checklstring(L, 2, &nlen);
    if (!alive(r))
        return dead(L);
    const ls_response *res = ls_conn_response(r->conn);
    long first = ls_response_find_header(res, name, nlen, 0);
    if (first < 0) {
        lua_pushnil(L);
        return 1;
    }
    if (ls_response_find_header(res, name, nlen, 1) < 0) {
        lua_pushlstring(L, res->headers[first].value, res->headers[first].vlen);
        return 1;
    }
    lua_newtable(L);
    long i;
    for (size_t k = 0; (i = ls_response_find_header(res, name, nlen, k)) >= 0; k++) {
        lua_pushlstring(L, res->headers[i].value, res->headers[i].vlen);
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    return 1;
}

static int res_has_header(lua_State *L) {
    ls_lreq *r = self(L);
    size_t nlen;
    const char *name = luaL_checklstring(L, 2, &nlen);
    lua_pushboolean(L, r->conn &&
                           ls_response_find_header(ls_conn_response(r->conn), name, nlen, 0) >= 0);
    return 1;
}

static int res_remove_header(lua_State *L) {
    ls_lreq *r = self(L);
    size_t nlen;
    const char *name = luaL_checklstring(L, 2, &nlen);
    if (!alive(r))
        return dead(L);
    int err = ls_conn_remove_header(r->conn, name, nlen);
    if (err < 0)
        return fail(L, err);
    lua_settop(L, 1);
    return 1;
}

static void set_status(lua_State *L, ls_lreq *r, int idx) {
    lua_Integer status = luaL_checkinteger(L, idx);
    int err = ls_conn_set_status(r->conn, status < 0 || status > 10000 ? 0 : (int)status);
    if (err < 0)
        fail(L, err);
    r->status = (int)status;
}

static void set_reason(lua_State *L, ls_lreq *r, int idx) {
    size_t len;
    const char *reason = luaL_checklstring(L, idx, &len);
    int err = ls_conn_set_reason(r->conn, reason, len);
    if (err < 0)
        fail(L, err);
}

/* res:writeHead(status[, reason][, headers]) */
static int res_write_head(lua_State *L) {
    ls_lreq *r = self(L);
    if (!alive(r))
        return dead(L);
    if (ls_conn_headers_sent(r->conn))
        return fail(L, LS_EHEADERS_SENT);
    set_status(L, r, 2);
    int hidx = 3;
    if (lua_type(L, 3) == LUA_TSTRING) {
        set_reason(L, r, 3);
        hidx = 4;
    }
    if (!lua_isnoneornil(L, hidx)) {
        luaL_checktype(L, hidx, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, hidx)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return luaL_error(L, "header names must be strings");
            set_header(L, r, lua_gettop(L) - 1, lua_gettop(L), 1);
            lua_pop(L, 1);
        }
    }
    ls_conn_freeze_head(r->conn);
    lua_settop(L, 1);
    return 1;
}

/* Hands the string at idx to the connection through fn (write or finish). Long strings are
 * referenced in place until the kernel has them. */
static int queue_arg(lua_State *L, ls_lreq *r, int idx,
                     int (*fn)(ls_conn *, const char *, size_t, ls_release_fn, void *)) {
    size_t len = 0;
    const char *data = NULL;
    if (!lua_isnoneornil(L, idx)) {
        int t = lua_type(L, idx);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            return luaL_typeerror(L, idx, "string");
        data = lua_tolstring(L, idx, &len);
    }
    ls_release_fn release = NULL;
    void *ctx = NULL;
    if (len >= LS_HOLD_MIN)
        ls_hold_string(L, idx, r->vm, &release, &ctx); /* else (no memory) a copy */
    return fn(r->conn, data, len, release, ctx);
}

/* res:write(chunk) -> true, or false when above the high-water mark (wait for 'drain' or
 * res:drain()); false, err once the response is over or the connection gone. */
static int res_write(lua_State *L) {
    ls_lreq *r = self(L);
    if (!alive(r)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "closed");
        return 2;
    }
    int rc = queue_arg(L, r, 2, ls_conn_write);
    if (rc == LS_EENDED || rc == LS_ECLOSED) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, ls_strerror(rc));
        return 2;
    }
    if (rc < 0)
        return fail(L, rc);
    if (rc == 0) { /* on_drain follows */
        r->drain_pending = 1;
        ls_lreq_touch(r);
    }
    lua_pushboolean(L, rc);
    return 1;
}

/* res:flushHeaders(): sends the head now instead of with the first write (Node's name), for
 * a stream such as server-sent events whose first bytes come later. Without a Content-Length
 * the body is chunked (HTTP/1.1). true (also when the head is out already or the response has
 * ended: the head goes with the end), or false, "closed". */
static int res_flush_headers(lua_State *L) {
    ls_lreq *r = self(L);
    if (!alive(r)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "closed");
        return 2;
    }
    if (!ls_conn_finished(r->conn)) {
        int rc = ls_conn_write(r->conn, NULL, 0, NULL, NULL); /* the first write sends the head */
        if (rc == LS_ECLOSED) {
            lua_pushboolean(L, 0);
            lua_pushliteral(L, "closed");
            return 2;
        }
        if (rc < 0 && rc != LS_EENDED)
            return fail(L, rc);
        if (rc == 0) { /* on_drain follows */
            r->drain_pending = 1;
            ls_lreq_touch(r);
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* res:finish([chunk]) and res["end"]: true the first time, false after. */
static int res_finish(lua_State *L) {
    ls_lreq *r = self(L);
    if (!alive(r) || ls_conn_finished(r->conn)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    int rc = queue_arg(L, r, 2, ls_conn_finish);
    if (rc < 0 && rc != LS_ECLOSED)
        return fail(L, rc);
    ls_lreq_touch(r); /* a kept response: held again until 'finish' */
    lua_pushboolean(L, rc == 1);
    return 1;
}

static int res_destroy(lua_State *L) {
    ls_lreq *r = self(L);
    if (r->conn) {
        ls_conn_destroy(r->conn);
        ls_lreq_touch(r); /* held again until 'close' */
    }
    return 0;
}

/* res:drain(): waits until queued output is below the high-water mark. true, or false and
 * "closed" when the connection went away. */
static int res_drain(lua_State *L) {
    ls_lreq *r = self(L);
    if (!alive(r)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "closed");
        return 2;
    }
    if (ls_waiting(&r->waiter))
        return luaL_error(L, "another coroutine already waits on this request");
    if (ls_conn_drain_wait(r->conn)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    r->drain_pending = 1;
    r->wait = WAIT_DRAIN;
    return ls_wait(L, &r->waiter, "res:drain()");
}

static int res_on(lua_State *L) {
    static const char *const events[] = {"finish", "close", "drain", NULL};
    ls_lreq *r = self(L);
    int drain = lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "drain") == 0;
    lua_settop(L, 3);
    ls_on(L, r, 1, "res", events); /* checks the event */
    if (drain) {
        r->drain_listeners = 1;
        ls_lreq_touch(r);
    }
    return 1;
}

static int res_gc(lua_State *L) {
    ls_lreq_collected(lua_touserdata(L, 1));
    return 0;
}

static int res_tostring(lua_State *L) {
    ls_lreq *r = self(L);
    if (r->conn)
        lua_pushfstring(L, "lunaserve.res (%p)", (void *)r);
    else
        lua_pushliteral(L, "lunaserve.res (closed)");
    return 1;
}

static int res_index(lua_State *L) {
    /* Methods first: finding one touches nothing of the object, so the type check (which
     * the method itself does) is left for the properties. */
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    ls_lreq *r = self(L);
    const char *key = luaL_checkstring(L, 2);
    ls_conn *c = r->conn;
    if (strcmp(key, "statusCode") == 0) {
        lua_pushinteger(L, c ? ls_conn_response(c)->status : r->status);
    } else if (strcmp(key, "statusMessage") == 0) {
        const ls_response *res = c ? ls_conn_response(c) : NULL;
        if (res && res->reason)
            lua_pushlstring(L, res->reason, res->rlen);
        else
            lua_pushstring(L, ls_reason_phrase(res ? res->status : r->status));
    } else if (strcmp(key, "headersSent") == 0) {
        lua_pushboolean(L, c ? ls_conn_headers_sent(c) : 1);
    } else if (strcmp(key, "finished") == 0) {
        lua_pushboolean(L, c ? ls_conn_finished(c) : r->finished);
    } else if (strcmp(key, "shouldKeepAlive") == 0) {
        lua_pushboolean(L, c ? ls_conn_keepalive(c) : 0);
    } else if (strcmp(key, "req") == 0) {
        /* the request this answers (Node's res.req): a library given only res (sse) can
         * tell a HEAD */
        lua_getiuservalue(L, 1, SLOT_REQ);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int res_newindex(lua_State *L) {
    ls_lreq *r = self(L);
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "shouldKeepAlive") == 0) {
        if (alive(r))
            ls_conn_set_keepalive(r->conn, lua_toboolean(L, 3));
        return 0;
    }
    if (strcmp(key, "statusCode") == 0) {
        if (alive(r))
            set_status(L, r, 3);
        return 0;
    }
    if (strcmp(key, "statusMessage") == 0) {
        if (alive(r))
            set_reason(L, r, 3);
        return 0;
    }
    return luaL_error(L, "lunaserve.res has no field '%s' to set", key);
}

void ls_res_open(lua_State *L) {
    static const luaL_Reg methods[] = {{"setHeader", res_set_header},
                                       {"getHeader", res_get_header},
                                       {"hasHeader", res_has_header},
                                       {"removeHeader", res_remove_header},
                                       {"writeHead", res_write_head},
                                       {"write", res_write},
                                       {"finish", res_finish},
                                       {"destroy", res_destroy},
                                       {"drain", res_drain},
                                       {"on", res_on},
                                       {"flushHeaders", res_flush_headers},
                                       {NULL, NULL}};
    /* written in Lua (lua_methods.c) */
    static const ls_lua_method lua_methods[] = {
        {"json", "lunaserve.json", "res_json"},
        {"setCookie", "lunaserve.cookies", "res_set_cookie"},
        {NULL, NULL, NULL}};
    luaL_newmetatable(L, LS_RES_MT); /* mt */
    lua_newtable(L);                 /* mt, methods */
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, methods, 1);
    ls_lua_methods(L, -1, lua_methods);
    lua_getfield(L, -1, "finish"); /* res["end"] is the very same function */
    lua_setfield(L, -2, "end");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, res_index, 2);
    lua_setfield(L, -3, "__index");
    lua_pop(L, 1); /* mt */
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, res_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, res_tostring, 1);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, res_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

void ls_res_add_methods(lua_State *L, const luaL_Reg *methods) {
    luaL_getmetatable(L, LS_RES_MT);
    lua_getfield(L, -1, "__index");
    lua_getupvalue(L, -1, 2); /* res_index's method table */
    luaL_setfuncs(L, methods, 0);
    lua_pop(L, 3);
}
