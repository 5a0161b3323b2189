/* lunaserve.http_parser: core/http/response_parse as a Lua object, for lunaserve.http (an
 * internal module; its API may change). One parser reads the response to one request:
 *
 *   local p = require("lunaserve.http_parser").new(head_request, max_head)
 *   body, done, extra = p:feed(data)  -- the body bytes this input carried ("" if none),
 *                                     -- whether the response ended, and how many bytes
 *                                     -- of the input came after its end; or nil, err
 *   ok, err = p:finish()              -- the peer closed: true if the response is complete
 *   res = p:head()                    -- nil until the head is complete, then a table:
 *                                     -- status, reason, version ("1.1"), headers (names
 *                                     -- lower-cased, repeats joined with ", "),
 *                                     -- raw_headers ({name, value, name, value, ...} as
 *                                     -- received), trailers (like headers, filled at the end)
 *   p:keepalive()                     -- once ended: the connection may carry another request
 *   p:started()                       -- any byte of a response came
 */
#include "binding.h"
#include "response_parse.h"

#include <stdlib.h>
#include <string.h>

#define MT "lunaserve.http_parser"

typedef struct lparser {
    ls_response_parse p;
    lua_State *L; /* while feed or finish runs */
    int res;      /* stack index of the response table then */
    char *body;   /* the body bytes of the input being fed */
    size_t blen, bcap;
    int busy;     /* inside feed or finish: still set after a Lua error (out of memory)
                     left one in the middle, and the parser is not to be used again */
} lparser;

static lparser *check(lua_State *L) { return luaL_checkudata(L, 1, MT); }

static int on_status(void *ctx, int status, int minor, const char *reason, size_t len) {
    lparser *lp = ctx;
    lua_State *L = lp->L;
    luaL_checkstack(L, 4, "http_parser");
    lua_pushinteger(L, status);
    lua_setfield(L, lp->res, "status");
    lua_pushlstring(L, reason, len);
    lua_setfield(L, lp->res, "reason");
    lua_pushfstring(L, "1.%d", minor);
    lua_setfield(L, lp->res, "version");
    return 0;
}

static int on_field(void *ctx, int trailer, const char *name, size_t nlen, const char *value,
                    size_t vlen) {
    lparser *lp = ctx;
    lua_State *L = lp->L;
    luaL_checkstack(L, 8, "http_parser");
    if (!trailer) { /* raw_headers: name, value as received */
        lua_getfield(L, lp->res, "raw_headers");
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        lua_pushlstring(L, name, nlen);
        lua_rawseti(L, -2, n + 1);
        lua_pushlstring(L, value, vlen);
        lua_rawseti(L, -2, n + 2);
        lua_pop(L, 1);
    }
    lua_getfield(L, lp->res, trailer ? "trailers" : "headers");
    luaL_Buffer b;
    char *lower = luaL_buffinitsize(L, &b, nlen);
    for (size_t i = 0; i < nlen; i++) {
        char c = name[i];
        lower[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    luaL_pushresultsize(&b, nlen); /* table, lower-cased name */
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TNIL) { /* the first field of that name */
        lua_pop(L, 1);
        lua_pushlstring(L, value, vlen);
    } else { /* a repeat: joined with ", " (RFC 9110 5.3) */
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, value, vlen);
        lua_concat(L, 3);
    }
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 0;
}

static int on_body(void *ctx, const char *at, size_t len) {
    lparser *lp = ctx;
    if (lp->blen + len > lp->bcap) { /* at most the input's length in all */
        size_t cap = lp->bcap ? lp->bcap : 4096;
        while (cap < lp->blen + len)
            cap *= 2;
        char *b = realloc(lp->body, cap);
        if (!b)
            return 1;
        lp->body = b;
        lp->bcap = cap;
    }
    memcpy(lp->body + lp->blen, at, len);
    lp->blen += len;
    return 0;
}

static const ls_response_events events = {on_status, on_field, NULL, on_body, NULL};

/* http_parser.new(head_request, max_head) */
static int l_new(lua_State *L) {
    int head = lua_toboolean(L, 1);
    lua_Integer max_head = luaL_optinteger(L, 2, 65536);
    luaL_argcheck(L, max_head > 0, 2, "must be positive");
    lparser *lp = lua_newuserdatauv(L, sizeof *lp, 1);
    memset(lp, 0, sizeof *lp);
    luaL_setmetatable(L, MT);
    lua_createtable(L, 0, 8); /* the response */
    lua_newtable(L);
    lua_setfield(L, -2, "headers");
    lua_newtable(L);
    lua_setfield(L, -2, "raw_headers");
    lua_newtable(L);
    lua_setfield(L, -2, "trailers");
    lua_setiuservalue(L, -2, 1);
    ls_response_parse_start(&lp->p, head, (size_t)max_head, &events, lp);
    return 1;
}

/* Pushes the parse's error as nil, err. */
static int push_error(lua_State *L, lparser *lp) {
    lua_pushnil(L);
    lua_pushstring(L, lp->p.error ? lp->p.error : "invalid response");
    return 2;
}

/* p:feed(data) -> body, done, extra | nil, err */
static int l_feed(lua_State *L) {
    lparser *lp = check(L);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    if (lp->busy)
        return luaL_error(L, "http_parser: used after an error inside it");
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, 1);
    lp->L = L;
    lp->res = 3;
    lp->blen = 0;
    lp->busy = 1;
    size_t used;
    int r = ls_response_parse_execute(&lp->p, data, len, &used);
    lp->busy = 0;
    lp->L = NULL;
    if (r == LS_RESPONSE_ERROR)
        return push_error(L, lp);
    lua_pushlstring(L, lp->body, lp->blen);
    lua_pushboolean(L, r == LS_RESPONSE_END);
    lua_pushinteger(L, (lua_Integer)(len - used));
    return 3;
}

/* p:finish() -> true | nil, err */
static int l_finish(lua_State *L) {
    lparser *lp = check(L);
    if (lp->busy)
        return luaL_error(L, "http_parser: used after an error inside it");
    lua_settop(L, 1);
    lua_getiuservalue(L, 1, 1);
    lp->L = L;
    lp->res = 2;
    lp->busy = 1;
    int r = ls_response_parse_finish(&lp->p);
    lp->busy = 0;
    lp->L = NULL;
    if (r != LS_RESPONSE_END)
        return push_error(L, lp);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_head(lua_State *L) {
    lparser *lp = check(L);
    if (!lp->p.head_done)
        return 0;
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int l_keepalive(lua_State *L) {
    lparser *lp = check(L);
    lua_pushboolean(L, lp->p.done && lp->p.keep_alive);
    return 1;
}

static int l_started(lua_State *L) {
    lparser *lp = check(L);
    lua_pushboolean(L, ls_response_parse_started(&lp->p));
    return 1;
}

static int l_gc(lua_State *L) {
    lparser *lp = check(L);
    ls_response_parse_free(&lp->p);
    free(lp->body);
    lp->body = NULL;
    lp->blen = lp->bcap = 0;
    return 0;
}

static int open_http_parser(lua_State *L) {
    static const luaL_Reg methods[] = {{"feed", l_feed},         {"finish", l_finish},
                                       {"head", l_head},         {"keepalive", l_keepalive},
                                       {"started", l_started},   {NULL, NULL}};
    if (luaL_newmetatable(L, MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {{"new", l_new}, {NULL, NULL}};
    luaL_newlib(L, funcs);
    return 1;
}

void ls_http_parser_preload(lua_State *L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_http_parser);
    lua_setfield(L, -2, "lunaserve.http_parser");
    lua_pop(L, 1);
}
