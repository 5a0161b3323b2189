/* `lunaserve.req`: the request as the handler sees it. Fields are built on each use from the
 * connection's request (the headers and rawHeaders tables once, then kept in the cache table),
 * and from a byte copy of the head once the connection has moved on; req:read() and
 * req:body() wait for the body in the coroutine. */
#include "binding.h"
#include "lua_methods.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ls_lreq *r;
} req_box;

/* Every req function has the req metatable as upvalue 1 (see res.c's self()). */
static ls_lreq *req_check(lua_State *L, int idx) {
    if (lua_getmetatable(L, idx)) {
        int ok = lua_rawequal(L, -1, lua_upvalueindex(1));
        lua_pop(L, 1);
        if (ok)
            return ((req_box *)lua_touserdata(L, idx))->r;
    }
    luaL_typeerror(L, idx, LS_REQ_MT);
    return NULL;
}

/* Pushes the res userdata that owns this req (its uservalue). */
static void push_res(lua_State *L, int req_idx) { lua_getiuservalue(L, req_idx, 1); }

/* Pushes the cache table of the request, creating it on first use. */
static void push_cache(lua_State *L, int res_idx) {
    if (lua_getiuservalue(L, res_idx, SLOT_CACHE) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 8);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, res_idx, SLOT_CACHE);
    }
}

static void push_lower(lua_State *L, const char *s, size_t n) {
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n);
    for (size_t i = 0; i < n; i++)
        p[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    luaL_pushresultsize(&b, n);
}

/* The fields [from, to) as a table: lower-case names, repeated fields joined. */
static void push_field_table(lua_State *L, const ls_request *q, size_t from, size_t to) {
    lua_createtable(L, 0, (int)(to - from));
    int t = lua_gettop(L);
    for (size_t i = from; i < to; i++) {
        const ls_field *f = &q->fields[i];
        push_lower(L, ls_field_name(q, f), f->nlen);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, t) == LUA_TSTRING) { /* repeated: joined */
            int cookie = f->nlen == 6 && memcmp(lua_tostring(L, -2), "cookie", 6) == 0;
            lua_pushstring(L, cookie ? "; " : ", ");
            lua_pushlstring(L, ls_field_value(q, f), f->vlen);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushlstring(L, ls_field_value(q, f), f->vlen);
        }
        lua_rawset(L, t);
    }
}

static void push_headers(lua_State *L, const ls_request *q) {
    push_field_table(L, q, 0, ls_request_nheaders(q));
}

/* The trailer section's fields (RFC 9110 6.5), kept apart from the head's; an empty table
 * until the body has ended. */
static void push_trailers(lua_State *L, const ls_request *q) {
    size_t from = ls_request_nheaders(q);
    push_field_table(L, q, from, q->body_done ? from + ls_request_ntrailers(q) : from);
}

static void push_raw_headers(lua_State *L, const ls_request *q) {
    size_t n = ls_request_nheaders(q);
    lua_createtable(L, (int)n * 2, 0);
    for (size_t i = 0; i < n; i++) {
        const ls_field *f = &q->fields[i];
        lua_pushlstring(L, ls_field_name(q, f), f->nlen);
        lua_rawseti(L, -2, (lua_Integer)(2 * i + 1));
        lua_pushlstring(L, ls_field_value(q, f), f->vlen);
        lua_rawseti(L, -2, (lua_Integer)(2 * i + 2));
    }
}

/* A detached request's head: the ls_request with its arena and field table copied behind it,
 * in one userdata (Lua never moves it) held by the res userdata. */
typedef struct frozen_req {
    ls_request q;
    char addr[64];
} frozen_req;

/* Pushes field `name` computed from the live request, or returns 0 if it is not one of the
 * cached fields. */
/* The path part of a request target: origin-form "/p?q", or absolute-form
 * "http://host/p?q" (RFC 9112 3.2.2), whose path is "/p" (or "/" when empty). */
static void split_target(const char *url, size_t len, const char **path, size_t *plen) {
    const char *end = url + len, *p = url;
    if (len && url[0] != '/' && url[0] != '*') {
        const char *colon = memchr(url, ':', len);
        if (colon && colon + 2 < end && colon[1] == '/' && colon[2] == '/') {
            p = colon + 3;
            while (p < end && *p != '/' && *p != '?' && *p != '#')
                p++;
        }
    }
    const char *qm = memchr(p, '?', (size_t)(end - p));
    *path = p;
    *plen = (size_t)((qm ? qm : end) - p);
}

/* Pushes field `name` of request q (live on connection c, or frozen with its peer address
 * addr), or returns 0 if it is not a request field. */
static int compute_field(lua_State *L, const ls_request *q, ls_conn *c, const char *addr,
                         const char *name) {
    const char *url = ls_request_url(q);
    const char *qm = memchr(url, '?', q->url_len);
    switch (name[0]) {
    case 'm':
        if (strcmp(name, "method") != 0)
            return 0;
        lua_pushstring(L, q->method);
        return 1;
    case 'u':
        if (strcmp(name, "url") != 0)
            return 0;
        lua_pushlstring(L, url, q->url_len);
        return 1;
    case 'p':
        if (strcmp(name, "path") != 0)
            return 0;
        const char *path;
        size_t plen;
        split_target(url, q->url_len, &path, &plen);
        if (plen == 0 && path != url)
            lua_pushliteral(L, "/");
        else
            lua_pushlstring(L, path, plen);
        return 1;
    case 'q':
        if (strcmp(name, "query") != 0)
            return 0;
        if (qm)
            lua_pushlstring(L, qm + 1, q->url_len - (size_t)(qm + 1 - url));
        else
            lua_pushliteral(L, "");
        return 1;
    case 'h':
        if (strcmp(name, "httpVersion") == 0) {
            lua_pushfstring(L, "%d.%d", q->http_major, q->http_minor);
            return 1;
        }
        if (strcmp(name, "headers") != 0)
            return 0;
        push_headers(L, q);
        return 1;
    case 't':
        if (strcmp(name, "trailers") != 0)
            return 0;
        push_trailers(L, q);
        return 1;
    case 'r':
        if (strcmp(name, "rawHeaders") == 0) {
            push_raw_headers(L, q);
            return 1;
        }
        if (strcmp(name, "remoteAddress") != 0)
            return 0;
        lua_pushstring(L, c ? ls_conn_remote_address(c) : addr);
        return 1;
    }
    return 0;
}

void ls_req_snapshot(lua_State *L, ls_lreq *r, int res_index) {
    if (!r->conn)
        return;
    const ls_request *q = ls_conn_request(r->conn);
    size_t arena = q->alen + 1, fields = q->nfields * sizeof(ls_field);
    frozen_req *f = lua_newuserdatauv(L, sizeof *f + fields + arena, 0);
    f->q = *q;
    f->q.fields = (ls_field *)(f + 1);
    f->q.fcap = q->nfields;
    f->q.arena = (char *)(f + 1) + fields;
    f->q.acap = arena;
    if (fields)
        memcpy(f->q.fields, q->fields, fields);
    if (q->arena)
        memcpy(f->q.arena, q->arena, arena);
    else
        f->q.arena[0] = '\0';
    snprintf(f->addr, sizeof f->addr, "%s", ls_conn_remote_address(r->conn));
    lua_setiuservalue(L, res_index, SLOT_FROZEN);
}

/* ------------------------------------------------------------------ body */

static int acc_add(ls_lreq *r, const char *p, size_t n) {
    if (r->acc_len + n > r->acc_cap) {
        size_t cap = r->acc_cap ? r->acc_cap : 16384;
        while (cap < r->acc_len + n)
            cap *= 2;
        char *a = realloc(r->acc, cap);
        if (!a)
            return -1;
        r->acc = a, r->acc_cap = cap;
    }
    memcpy(r->acc + r->acc_len, p, n);
    r->acc_len += n;
    return 0;
}

static void take_acc(lua_State *L, ls_lreq *r) {
    lua_pushlstring(L, r->acc ? r->acc : "", r->acc_len);
    free(r->acc);
    r->acc = NULL;
    r->acc_len = r->acc_cap = 0;
}

/* ls_push_fn for a body wait */
static void push_acc(lua_State *L, void *r) { take_acc(L, r); }

static void push_chunk(lua_State *L, void *ctx) {
    ls_lreq *r = ctx;
    const char *p;
    size_t n = ls_conn_body(r->conn, &p);
    if (n) {
        lua_pushlstring(L, p, n);
        ls_conn_body_take(r->conn, n);
    } else {
        lua_pushnil(L); /* the end */
    }
}

void ls_req_on_body(ls_lreq *r) {
    if (!r->conn)
        return;
    const char *p;
    size_t n;
    int wait = ls_waiting(&r->waiter) ? r->wait : WAIT_NONE;
    if (wait == WAIT_BODY) {
        n = ls_conn_body(r->conn, &p);
        if (n && acc_add(r, p, n) == 0)
            ls_conn_body_take(r->conn, n);
        if (ls_conn_body_complete(r->conn))
            ls_lreq_wake(r, WAIT_BODY, push_acc);
        return;
    }
    if (wait == WAIT_READ) {
        n = ls_conn_body(r->conn, &p);
        if (n || ls_conn_body_complete(r->conn))
            ls_lreq_wake(r, WAIT_READ, push_chunk);
        return;
    }
    if (!r->body_listeners) /* only req 'data' and 'end' listeners take the body */
        return;
    lua_State *L = r->vm->L;
    while (r->conn && (n = ls_conn_body(r->conn, &p)) > 0) {
        lua_pushlstring(L, p, n);
        ls_conn_body_take(r->conn, n);
        ls_emit(r, "req:data", 1);
    }
    if (r->conn && ls_conn_body_complete(r->conn) && !r->end_emitted) {
        r->end_emitted = 1;
        ls_emit(r, "req:end", 0);
    }
}

/* The start of req:read and req:body: the request, or NULL with nil and the reason pushed
 * when it is gone. One coroutine at a time may wait on a request. */
static ls_lreq *body_reader(lua_State *L) {
    ls_lreq *r = req_check(L, 1);
    if (!r->conn || !ls_conn_open(r->conn)) {
        lua_pushnil(L);
        lua_pushstring(L, r->too_large ? "too large" : r->aborted ? "aborted" : "closed");
        return NULL;
    }
    if (ls_waiting(&r->waiter))
        luaL_error(L, "another coroutine already waits on this request");
    return r;
}

/* req:read() -> the next chunk, or nil at the end; nil, err if the request is gone. */
static int req_read(lua_State *L) {
    ls_lreq *r = body_reader(L);
    if (!r)
        return 2; /* nil, err */
    const char *p;
    size_t n = ls_conn_body(r->conn, &p);
    if (n) {
        lua_pushlstring(L, p, n);
        ls_conn_body_take(r->conn, n);
        return 1;
    }
    if (ls_conn_body_complete(r->conn)) {
        lua_pushnil(L);
        return 1;
    }
    ls_wait_check(L, "req:read()");
    ls_conn_body_wanted(r->conn);
    r->wait = WAIT_READ;
    return ls_wait(L, &r->waiter, "req:read()");
}

/* req:body() -> the whole body (up to the body limit); nil, err if the request is gone. */
static int req_body(lua_State *L) {
    ls_lreq *r = body_reader(L);
    if (!r)
        return 2; /* nil, err */
    const char *p;
    size_t n = ls_conn_body(r->conn, &p);
    if (ls_conn_body_complete(r->conn) && r->acc_len == 0) {
        lua_pushlstring(L, n ? p : "", n);
        ls_conn_body_take(r->conn, n);
        return 1;
    }
    if (n) {
        if (acc_add(r, p, n) < 0)
            return luaL_error(L, "out of memory");
        ls_conn_body_take(r->conn, n);
    }
    if (ls_conn_body_complete(r->conn)) {
        take_acc(L, r);
        return 1;
    }
    ls_wait_check(L, "req:body()");
    ls_conn_body_wanted(r->conn);
    r->wait = WAIT_BODY;
    return ls_wait(L, &r->waiter, "req:body()");
}

/* req:setMaxBody(n): this request's body limit in bytes (a number, or a size such as "64m"
 * as the max_body setting takes), in place of the max_body setting. A declared
 * Content-Length over it gets 413 once the handler's first run is over, so raise it before the
 * handler first waits; a body that grows past it (chunked), or a limit set below what has
 * arrived, gets 413 too, and a read waiting on the body returns nil, "too large".
 * Returns true, or nil, "too large" when what is declared or has arrived is already over. */
static int req_set_max_body(lua_State *L) {
    ls_lreq *r = req_check(L, 1);
    uint64_t limit;
    if (lua_type(L, 2) == LUA_TSTRING) {
        ls_settings tmp;
        const char *err = ls_setting_set(&tmp, ls_setting_find("max_body"), lua_tostring(L, 2));
        if (err)
            return luaL_argerror(L, 2, err);
        limit = tmp.max_body;
    } else {
        lua_Integer n = luaL_checkinteger(L, 2);
        luaL_argcheck(L, n >= 0, 2, "a number of bytes (0 or more)");
        limit = (uint64_t)n;
    }
    if (!r->conn) {
        lua_pushnil(L);
        lua_pushstring(L, r->too_large ? "too large" : r->aborted ? "aborted" : "closed");
        return 2;
    }
    if (ls_conn_set_max_body(r->conn, limit) != LS_OK) {
        lua_pushnil(L);
        lua_pushliteral(L, "too large");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int req_on(lua_State *L) {
    static const char *const events[] = {"data", "end", "close", NULL};
    ls_lreq *r = req_check(L, 1);
    const char *ev = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
    int body_event = strcmp(ev, "data") == 0 || strcmp(ev, "end") == 0;
    lua_settop(L, 3);
    push_res(L, 1); /* req, event, fn, res */
    ls_on(L, r, 4, "req", events);
    if (body_event) {
        r->body_listeners = 1;
        ls_lreq_touch(r);
    }
    if (body_event && r->conn) {
        ls_conn_body_wanted(r->conn);
        ls_conn_body_poke(r->conn); /* what arrived before this listener is delivered too */
    }
    return 1;
}

static int req_destroy(lua_State *L) {
    ls_lreq *r = req_check(L, 1);
    if (r->conn)
        ls_conn_destroy(r->conn);
    return 0;
}

static int req_tostring(lua_State *L) {
    ls_lreq *r = req_check(L, 1);
    if (r->conn)
        lua_pushfstring(L, "lunaserve.req (%p)", (void *)r);
    else
        lua_pushliteral(L, "lunaserve.req (closed)");
    return 1;
}

/* The names req answers itself; an app may not set them. */
static int is_request_field(const char *key) {
    static const char *const names[] = {"method",        "url",      "path",     "query",
                                        "httpVersion",   "headers",  "trailers", "rawHeaders",
                                        "remoteAddress", "complete", "aborted",  NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(key, names[i]) == 0)
            return 1;
    return 0;
}

/* Pushes the field the app set on this request (req.params from lunaserve.router, say), or
 * nil. They live in the request's cache table, beside the header tables, whose names an app
 * cannot set. */
static void push_app_field(lua_State *L, int req_idx, int key_idx) {
    push_res(L, req_idx);
    if (lua_getiuservalue(L, -1, SLOT_CACHE) == LUA_TTABLE) {
        lua_pushvalue(L, key_idx);
        lua_rawget(L, -2);
    } else {
        lua_pushnil(L);
    }
}

/* req.name = value for names req does not own: libraries attach what they computed for this
 * request (lunaserve.router's req.params) without a table of their own keyed by request. */
static int req_newindex(lua_State *L) {
    req_check(L, 1);
    const char *key = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL || is_request_field(key))
        return luaL_error(L, "lunaserve.req field '%s' cannot be set", key);
    lua_settop(L, 3);
    push_res(L, 1);
    push_cache(L, 4);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

static int req_index(lua_State *L) {
    /* methods first (see res_index) */
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    ls_lreq *r = req_check(L, 1);
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "complete") == 0) {
        lua_pushboolean(L, r->conn ? ls_conn_body_complete(r->conn) : !r->aborted);
        return 1;
    }
    if (strcmp(key, "aborted") == 0) {
        lua_pushboolean(L, r->aborted);
        return 1;
    }
    /* Strings are cheap to make again; the tables (headers, rawHeaders, and trailers once
     * the body has ended) are made once and kept. A dead request answers from the snapshot
     * taken when it was detached. */
    int is_table = key[0] == 'h'   ? strcmp(key, "headers") == 0
                   : key[0] == 't' ? strcmp(key, "trailers") == 0
                   : key[0] == 'c' ? strcmp(key, "cookies") == 0
                                   : strcmp(key, "rawHeaders") == 0;
    if (r->conn && !is_table) {
        if (!compute_field(L, ls_conn_request(r->conn), r->conn, NULL, key))
            push_app_field(L, 1, 2);
        return 1;
    }
    push_res(L, 1);
    int res_idx = lua_gettop(L), cache_idx = 0;
    if (is_table) { /* made once: the same table on every read, even once detached */
        push_cache(L, res_idx);
        cache_idx = lua_gettop(L);
        lua_pushvalue(L, 2);
        if (lua_rawget(L, cache_idx) != LUA_TNIL)
            return 1;
        lua_pop(L, 1);
    }
    if (key[0] == 'c') { /* cookies: parsed in Lua (lunaserve.cookies), from req.headers */
        ls_push_lua_function(L, "lunaserve.cookies", "of_request");
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, cache_idx);
        return 1;
    }
    const ls_request *q = NULL;
    const char *addr = NULL;
    if (r->conn) {
        q = ls_conn_request(r->conn);
    } else if (lua_getiuservalue(L, res_idx, SLOT_FROZEN) == LUA_TUSERDATA) {
        frozen_req *f = lua_touserdata(L, -1);
        q = &f->q, addr = f->addr;
    }
    if (!q || !compute_field(L, q, r->conn, addr, key)) {
        push_app_field(L, 1, 2);
        return 1;
    }
    if (is_table && (key[0] != 't' || q->body_done)) { /* trailers: only the final table */
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, cache_idx); /* cache[key] = value */
    }
    return 1;
}

void ls_req_open(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"read", req_read},         {"body", req_body},       {"on", req_on},
        {"destroy", req_destroy},   {"setMaxBody", req_set_max_body}, {NULL, NULL}};
    /* written in Lua (lua_methods.c) */
    static const ls_lua_method lua_methods[] = {{"json", "lunaserve.json", "req_json"},
                                                {"form", "lunaserve.form", "req_form"},
                                                {"parts", "lunaserve.multipart", "req_parts"},
                                                {NULL, NULL, NULL}};
    luaL_newmetatable(L, LS_REQ_MT); /* mt */
    lua_newtable(L);                 /* mt, methods */
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, methods, 1);
    ls_lua_methods(L, -1, lua_methods);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, req_index, 2);
    lua_setfield(L, -3, "__index");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, req_newindex, 2);
    lua_setfield(L, -3, "__newindex");
    lua_pop(L, 1); /* mt */
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, req_tostring, 1);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

/* Creates the req userdata for r, leaving it on the stack. */
void ls_req_push_new(lua_State *L, ls_lreq *r, int res_idx, int req_mt) {
    req_box *b = lua_newuserdatauv(L, sizeof *b, 1);
    b->r = r;
    lua_pushvalue(L, req_mt);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, res_idx);
    lua_setiuservalue(L, -2, 1);
}
