/* A Lua table as JSON text, for lunaserve.pg's table parameters.
 *
 * lua-cjson (which decodes json results) writes numbers with 14 significant digits, which
 * changes integers past 10^14 and most floats; a parameter must reach the server as it is.
 * Here integers go whole and floats in the fewest digits that read back as the same double.
 * The shape follows lua-cjson's: a table whose keys are all positive integers is an array
 * (holes are null; one too sparse is refused), any other an object (number keys as their
 * text), an empty table {}; pg.null (cjson.null) is null. NaN, the infinities, cycles and
 * values JSON has no form for raise "bad parameter $n (...)".
 *
 * The text grows in a userdata kept in one stack slot (replaced when it grows), so that an
 * error raised halfway leaks nothing. */
#include "binding.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 1000 /* as lua-cjson's default; also what stops a cycle */

typedef struct jbuf {
    lua_State *L;
    int slot; /* the stack slot of the userdata that holds the text */
    char *p;
    size_t n, cap;
    int param; /* the parameter's number, for messages */
} jbuf;

static void put(jbuf *b, const char *s, size_t len) {
    if (b->cap - b->n < len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < len)
            cap *= 2;
        char *p = lua_newuserdatauv(b->L, cap, 0);
        if (b->n)
            memcpy(p, b->p, b->n);
        lua_replace(b->L, b->slot);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
}

static void put_string(jbuf *b, const char *s, size_t len) {
    put(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                e = esc;
            }
        }
        if (e) {
            put(b, s + start, i - start);
            put(b, e, strlen(e));
            start = i + 1;
        }
    }
    put(b, s + start, len - start);
    put(b, "\"", 1);
}

static void put_number(jbuf *b, int idx) {
    char buf[64];
    int len;
    if (lua_isinteger(b->L, idx)) {
        len = snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(b->L, idx));
    } else {
        double d = (double)lua_tonumber(b->L, idx);
        if (!isfinite(d))
            luaL_error(b->L, "bad parameter $%d (JSON has no NaN or infinity)", b->param);
        len = 0;
        for (int prec = 15; prec <= 17; prec++) {
            len = snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
    }
    put(b, buf, (size_t)len);
}

static void put_value(jbuf *b, int idx, int depth);

static void put_table(jbuf *b, int idx, int depth) {
    lua_State *L = b->L;
    if (depth > DEPTH_MAX)
        luaL_error(L, "bad parameter $%d (tables nested too deep for JSON, or a cycle)", b->param);
    luaL_checkstack(L, 4, "JSON parameter");
    lua_Integer max = 0, count = 0;
    int array = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (array && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            if (lua_tointeger(L, -1) > max)
                max = lua_tointeger(L, -1);
        } else {
            array = 0;
        }
    }
    if (count == 0) {
        put(b, "{}", 2);
        return;
    }
    if (array) {
        if (max > 10 && max > count * 2)
            luaL_error(L, "bad parameter $%d (an array too sparse for JSON)", b->param);
        put(b, "[", 1);
        for (lua_Integer i = 1; i <= max; i++) {
            if (i > 1)
                put(b, ",", 1);
            lua_rawgeti(L, idx, i);
            put_value(b, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        put(b, "]", 1);
        return;
    }
    put(b, "{", 1);
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int kt = lua_type(L, -2);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER)
            luaL_error(L, "bad parameter $%d (a %s key has no JSON form)", b->param,
                       luaL_typename(L, -2));
        if (!first)
            put(b, ",", 1);
        first = 0;
        lua_pushvalue(L, -2); /* a copy: lua_tolstring of a number key would confuse lua_next */
        size_t klen;
        const char *k = lua_tolstring(L, -1, &klen);
        put_string(b, k, klen);
        lua_pop(L, 1);
        put(b, ":", 1);
        put_value(b, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    put(b, "}", 1);
}

static void put_value(jbuf *b, int idx, int depth) {
    lua_State *L = b->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        put(b, "null", 4);
        return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL)
            break;
        put(b, "null", 4);
        return;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            put(b, "true", 4);
        else
            put(b, "false", 5);
        return;
    case LUA_TNUMBER:
        put_number(b, idx);
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        put_string(b, s, len);
        return;
    }
    case LUA_TTABLE:
        put_table(b, idx, depth);
        return;
    default:
        break;
    }
    luaL_error(L, "bad parameter $%d (a %s has no JSON form)", b->param, luaL_typename(L, idx));
}

void ls_pg_push_json(lua_State *L, int idx, int param) {
    idx = lua_absindex(L, idx);
    lua_pushnil(L); /* the text's slot */
    jbuf b = {L, lua_gettop(L), NULL, 0, 0, param};
    put_value(&b, idx, 0);
    lua_pushlstring(L, b.p, b.n);
    lua_remove(L, b.slot);
}
