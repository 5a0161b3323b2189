/* The C half of lunaserve.pg (lua/lunaserve/pg.lua is the other): PostgreSQL connections
 * and pools on the event loop (core/pg/), their values converted to Lua and back.
 *
 * package.preload["lunaserve.pg_core"] gives:
 *   db = core.db()                        an unconnected handle
 *   ok, err = db:connect(params, opts)    params: a URL or keyword string, or a table
 *   pool = core.pool(params, opts)
 *   ok, err = db:acquire(pool)            a connection from the pool
 *   res, err, sqlstate = db:query(sql, ...)
 *   res, err, sqlstate = db:exec(script)  statements without parameters
 *   note, err = db:wait_for_notification(timeout)
 *   db:release(), db:close(), pool:close(), pool:stats()
 *
 * A connection belongs to the root coroutine that connected or acquired it (as a cosocket
 * does): when that root ends, when its client leaves, or when the state retires, it goes
 * back to its pool (if reusable) or closes. A pool belongs to the state. */
#include "binding.h"

#include "pgpool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DB_MT "lunaserve.pg.db"
#define POOL_MT "lunaserve.pg.pool"
#define BYTEA_MT "lunaserve.pg.bytea"
#define PARAMS_MAX 65535 /* the protocol's bound */

/* type OIDs (catalog/pg_type.dat) */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
    OID_OID = 26, OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_JSONB = 3802,
};

typedef struct ls_lpool {
    ls_pgpool *p; /* NULL once closed */
    ls_vm *vm;
    uint64_t query_ms;
    ls_owned in_vm; /* on vm->pg while open: closed when the server stops */
} ls_lpool;

typedef struct ls_pgdb {
    ls_pgconn *c;   /* the connection, while there is one (connecting or open) */
    ls_vm *vm;
    ls_pgpool *pool;        /* the pool c counts in, or NULL */
    ls_pgpool_waiter pw;    /* an acquire waiting for its pool */
    ls_owned owned;
    ls_waiter waiter;       /* one call at a time */
    uint64_t query_ms;
    int status;             /* how the operation ended */
    PGresult *result;       /* its result, until pushed */
    PGnotify *note;         /* a wait's notification, until pushed */
    char err[512];          /* its message, when no result has one */
    ls_owned in_vm; /* on vm->pg while it has a connection or waits for one */
    unsigned listening : 1; /* LISTEN was sent: not for another user */
    unsigned acquiring : 1;
} ls_pgdb;

/* ---------------------------------------------------------------- helpers */

static int fail(lua_State *L, const char *msg) {
    luaL_pushfail(L);
    lua_pushstring(L, msg);
    return 2;
}

static ls_client *client_of(ls_vm *vm) {
    return vm->server && vm->server->client.io ? &vm->server->client : NULL;
}

static ls_pgdb *check_db(lua_State *L) {
    ls_pgdb **box = luaL_checkudata(L, 1, DB_MT);
    if (!*box)
        luaL_error(L, "lunaserve.pg: the connection object was collected (used after its __gc)");
    return *box;
}

static void db_list_add(ls_pgdb *db) {
    if (!db->in_vm.pprev)
        ls_own(&db->vm->pg, &db->in_vm);
}

/* Lets the connection go: back to its pool (kept there if reusable) or closed. */
static void let_go(ls_pgdb *db, int reusable) {
    if (db->acquiring) {
        ls_pgpool_cancel(&db->pw);
        db->acquiring = 0;
    }
    ls_pgconn *c = db->c;
    db->c = NULL;
    if (c) {
        c->data = NULL;
        if (db->pool)
            ls_pgpool_release(db->pool, c, reusable && !db->listening);
        else
            ls_pgconn_close(c);
    }
    db->pool = NULL;
    db->listening = 0;
    ls_disown(&db->owned);
    ls_disown(&db->in_vm);
}

static void push_closed(lua_State *L, void *ctx) {
    (void)ctx;
    luaL_pushfail(L);
    lua_pushliteral(L, "closed");
}

/* Its owner ended, its client left, or the state retires: what waits hears "closed". */
static void on_release(ls_owned *o) {
    ls_pgdb *db = (ls_pgdb *)((char *)o - offsetof(ls_pgdb, owned));
    let_go(db, 1);
    ls_wake(&db->waiter, push_closed, NULL);
}

/* The server stops: the connection closes; what waits hears "closed". */
static void on_stop(ls_owned *o) {
    ls_pgdb *db = (ls_pgdb *)((char *)o - offsetof(ls_pgdb, in_vm));
    let_go(db, 0);
    ls_wake(&db->waiter, push_closed, NULL);
}

/* ---------------------------------------------------------------- values out */

/* cjson.decode, or nil when lua-cjson is missing (json then stays text). */
static void push_json_decoder(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunaserve.pg.json_decode") != LUA_TNIL)
        return;
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 0);
    } else {
        lua_getfield(L, -1, "decode");
        lua_remove(L, -2);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "lunaserve.pg.json_decode");
}

static void push_float(lua_State *L, const char *s) {
    if (strcmp(s, "NaN") == 0)
        lua_pushnumber(L, (lua_Number)NAN);
    else if (strcmp(s, "Infinity") == 0)
        lua_pushnumber(L, (lua_Number)HUGE_VAL);
    else if (strcmp(s, "-Infinity") == 0)
        lua_pushnumber(L, (lua_Number)-HUGE_VAL);
    else
        lua_pushnumber(L, (lua_Number)strtod(s, NULL));
}

/* One field, converted by its type. */
static void push_value(lua_State *L, const PGresult *r, int row, int col, Oid type,
                       int json_idx) {
    if (PQgetisnull(r, row, col)) {
        lua_pushlightuserdata(L, NULL);
        return;
    }
    const char *v = PQgetvalue(r, row, col);
    size_t len = (size_t)PQgetlength(r, row, col);
    switch (type) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        if (lua_stringtonumber(L, v) == 0)
            lua_pushlstring(L, v, len);
        return;
    case OID_FLOAT4:
    case OID_FLOAT8:
        push_float(L, v);
        return;
    case OID_BOOL:
        lua_pushboolean(L, v[0] == 't');
        return;
    case OID_BYTEA: {
        size_t n = 0;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)v, &n);
        if (!bytes) {
            lua_pushlstring(L, v, len);
            return;
        }
        lua_pushlstring(L, (const char *)bytes, n);
        PQfreemem(bytes);
        return;
    }
    case OID_JSON:
    case OID_JSONB:
        if (lua_isfunction(L, json_idx)) {
            lua_pushvalue(L, json_idx);
            lua_pushlstring(L, v, len);
            if (lua_pcall(L, 1, 1, 0) == LUA_OK)
                return;
            lua_pop(L, 1);
        }
        lua_pushlstring(L, v, len);
        return;
    default:
        lua_pushlstring(L, v, len);
        return;
    }
}

/* The rows (an array of tables keyed by column name), with `columns` (the names in order),
 * `affected` (rows a command touched), `command` (its tag) and `rows` (the array itself)
 * reached through the metatable, so that the rows encode as a plain JSON array. */
static void push_result(lua_State *L, const PGresult *r) {
    int rows = PQntuples(r), cols = PQnfields(r);
    lua_checkstack(L, 8);
    push_json_decoder(L);
    int json_idx = lua_gettop(L);
    lua_createtable(L, rows, 0);
    int res = lua_gettop(L);
    lua_createtable(L, 0, 1); /* metatable */
    lua_createtable(L, 0, 3); /* its __index */
    lua_createtable(L, cols, 0);
    for (int j = 0; j < cols; j++) {
        lua_pushstring(L, PQfname(r, j));
        lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "columns");
    const char *tuples = PQcmdTuples((PGresult *)r);
    if (tuples && *tuples) {
        lua_pushinteger(L, (lua_Integer)strtoll(tuples, NULL, 10));
        lua_setfield(L, -2, "affected");
    }
    lua_pushstring(L, PQcmdStatus((PGresult *)r));
    lua_setfield(L, -2, "command");
    lua_pushvalue(L, res); /* res.rows is res itself, for code that expects a rows field */
    lua_setfield(L, -2, "rows");
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, res);
    Oid types[256];
    for (int j = 0; j < cols && j < 256; j++)
        types[j] = PQftype(r, j);
    for (int i = 0; i < rows; i++) {
        lua_createtable(L, 0, cols);
        for (int j = 0; j < cols; j++) {
            push_value(L, r, i, j, j < 256 ? types[j] : PQftype(r, j), json_idx);
            lua_setfield(L, -2, PQfname(r, j));
        }
        lua_rawseti(L, res, i + 1);
    }
    lua_remove(L, json_idx);
}

static int is_error_result(const PGresult *r) {
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR;
}

/* nil, message, sqlstate */
static int push_error(lua_State *L, const PGresult *r, const char *fallback) {
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    luaL_pushfail(L);
    if (msg) {
        lua_pushstring(L, msg);
    } else {
        const char *m = r ? PQresultErrorMessage(r) : NULL;
        if (m && *m) {
            size_t n = strlen(m);
            while (n && m[n - 1] == '\n')
                n--;
            lua_pushlstring(L, m, n);
        } else {
            lua_pushstring(L, fallback);
        }
    }
    if (state) {
        lua_pushstring(L, state);
        return 3;
    }
    return 2;
}

/* ---------------------------------------------------------------- values in */

/* Pushes the JSON text of the table at idx (the param-th parameter), by cjson.encode; raises
 * "bad parameter $param (...)" with cjson's reason when it has no JSON form. */
static void push_json(lua_State *L, int idx, int param) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, "lunaserve.pg.json_encode") != LUA_TFUNCTION) {
        lua_pop(L, 1);
        lua_getglobal(L, "require");
        lua_pushliteral(L, "cjson");
        lua_call(L, 1, 1);
        lua_getfield(L, -1, "encode");
        lua_remove(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "lunaserve.pg.json_encode");
    }
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        luaL_error(L, "bad parameter $%d (%s)", param, lua_tostring(L, -1));
}

#define PARAMS_INLINE 8 /* a query with this many parameters or fewer allocates nothing */

typedef struct params {
    int n;
    const char **values;
    int *lengths, *formats;
    const char *inline_values[PARAMS_INLINE];
    int inline_lengths[PARAMS_INLINE], inline_formats[PARAMS_INLINE];
} params;

/* The Lua values from index `first` to the top as query parameters: the arrays in p itself
 * for a few, else in a userdata on the stack; the texts are Lua strings on the call's stack
 * (libpq copies them when the query is sent, the connection when it holds the query). */
static void gather(lua_State *L, int first, params *p) {
    int top = lua_gettop(L);
    p->n = top >= first ? top - first + 1 : 0;
    if (p->n > PARAMS_MAX)
        luaL_error(L, "too many parameters (%d; at most %d)", p->n, PARAMS_MAX);
    if (p->n <= PARAMS_INLINE) {
        p->values = p->inline_values;
        p->lengths = p->inline_lengths;
        p->formats = p->inline_formats;
    } else {
        size_t each = sizeof(char *) + 2 * sizeof(int);
        char *mem = lua_newuserdatauv(L, (size_t)p->n * each, 0);
        p->values = (const char **)mem;
        p->lengths = (int *)(mem + (size_t)p->n * sizeof(char *));
        p->formats = p->lengths + p->n;
    }
    for (int i = 0; i < p->n; i++) {
        int idx = first + i;
        p->lengths[i] = 0;
        p->formats[i] = 0;
        switch (lua_type(L, idx)) {
        case LUA_TNIL:
            p->values[i] = NULL;
            break;
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, idx) != NULL)
                luaL_error(L, "bad parameter $%d (a light userdata other than pg.null)", i + 1);
            p->values[i] = NULL;
            break;
        case LUA_TBOOLEAN:
            p->values[i] = lua_toboolean(L, idx) ? "true" : "false";
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, idx)) {
                lua_pushfstring(L, "%I", lua_tointeger(L, idx));
            } else {
                double d = (double)lua_tonumber(L, idx);
                char buf[64];
                if (isnan(d))
                    snprintf(buf, sizeof buf, "NaN");
                else if (isinf(d))
                    snprintf(buf, sizeof buf, "%sInfinity", d < 0 ? "-" : "");
                else
                    snprintf(buf, sizeof buf, "%.17g", d);
                lua_pushstring(L, buf);
            }
            lua_replace(L, idx); /* the stack keeps the text alive */
            p->values[i] = lua_tostring(L, idx);
            break;
        case LUA_TSTRING: {
            /* a text parameter ends at its first zero byte: refuse it rather than send less */
            size_t len;
            const char *s = lua_tolstring(L, idx, &len);
            if (strlen(s) != len)
                luaL_error(L, "bad parameter $%d (a string with a zero byte: text cannot hold one;"
                              " send bytes as pg.bytea)", i + 1);
            p->values[i] = s;
            break;
        }
        case LUA_TTABLE: {
            int bytea = 0, t = luaL_getmetafield(L, idx, "__name");
            if (t != LUA_TNIL) {
                bytea = t == LUA_TSTRING && strcmp(lua_tostring(L, -1), BYTEA_MT) == 0;
                lua_pop(L, 1);
            }
            if (bytea) {
                lua_rawgeti(L, idx, 1);
                size_t len;
                const char *s = lua_tolstring(L, -1, &len);
                if (!s || len > 0x7fffffff)
                    luaL_error(L, "bad parameter $%d (pg.bytea needs a string)", i + 1);
                lua_replace(L, idx);
                p->values[i] = lua_tostring(L, idx);
                p->lengths[i] = (int)len;
                p->formats[i] = 1;
                break;
            }
            /* any other table goes as JSON, encoded by lua-cjson */
            push_json(L, idx, i + 1);
            lua_replace(L, idx);
            p->values[i] = lua_tostring(L, idx);
            break;
        }
        default:
            luaL_error(L, "bad parameter $%d (a %s cannot be sent)", i + 1, luaL_typename(L, idx));
        }
    }
}

/* ---------------------------------------------------------------- operations end */

/* The operation's outcome, taken off the connection; a broken connection leaves (its
 * message kept). */
static void settle(ls_pgdb *db, ls_pgconn *c, int status) {
    db->status = status;
    PQclear(db->result);
    db->result = ls_pgconn_take_result(c);
    if (status == LS_PG_CLOSED || c->state == LS_PGCONN_DEAD) {
        snprintf(db->err, sizeof db->err, "%s", ls_pgconn_error(c));
        let_go(db, 0);
    }
}

static void push_query(lua_State *L, void *ctx) {
    ls_pgdb *db = ctx;
    PGresult *r = db->result;
    db->result = NULL;
    if (db->status == LS_PG_OK && r) {
        push_result(L, r);
    } else if (db->status == LS_PG_TIMEOUT) {
        luaL_pushfail(L);
        lua_pushliteral(L, "timeout");
    } else if (db->status == LS_PG_CLOSED) {
        /* the server's last word when it sent one (57P01: shut down), else libpq's */
        const char *msg = r && is_error_result(r) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                                                  : NULL;
        const char *state = r && is_error_result(r) ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
                                                    : NULL;
        luaL_pushfail(L);
        lua_pushfstring(L, "closed: %s", msg ? msg : db->err);
        if (state)
            lua_pushstring(L, state);
    } else {
        push_error(L, r, db->err);
    }
    PQclear(r);
}

static void on_query_done(ls_pgconn *c, int status) {
    ls_pgdb *db = c->data;
    settle(db, c, status);
    ls_wake(&db->waiter, push_query, db);
}

static void push_connected(lua_State *L, void *ctx) {
    ls_pgdb *db = ctx;
    if (db->status == LS_PG_OK) {
        lua_pushboolean(L, 1);
        return;
    }
    /* db->err says which wait ran out: "timeout" for a connect, the pool's own message for
     * a wait in its line */
    luaL_pushfail(L);
    lua_pushstring(L, db->err);
}

static void on_connected(ls_pgconn *c, int status) {
    ls_pgdb *db = c->data;
    db->status = status;
    if (status != LS_PG_OK) {
        snprintf(db->err, sizeof db->err, "%s", ls_pgconn_error(c));
        let_go(db, 0);
    }
    ls_wake(&db->waiter, push_connected, db);
}

static void on_pool_got(ls_pgpool_waiter *w, ls_pgconn *c, int status, const char *err) {
    ls_pgdb *db = (ls_pgdb *)((char *)w - offsetof(ls_pgdb, pw));
    db->acquiring = 0;
    db->status = status;
    if (c) {
        db->c = c;
        c->data = db;
    } else {
        snprintf(db->err, sizeof db->err, "%s", err ? err : "closed");
        db->pool = NULL;
        ls_disown(&db->owned);
        ls_disown(&db->in_vm);
    }
    ls_wake(&db->waiter, push_connected, db);
}

/* ---------------------------------------------------------------- db methods */

static uint64_t seconds_ms(lua_State *L, int idx, const char *what) {
    lua_Number s = luaL_checknumber(L, idx);
    if (!(s >= 0) || s > 1e9)
        luaL_error(L, "%s must be a number of seconds, 0 or more", what);
    uint64_t ms = (uint64_t)(s * 1000.0 + 0.5);
    return ms == 0 && s > 0 ? 1 : ms;
}

/* An optional field of the table at idx, in seconds, as ms; dflt when absent. */
static uint64_t opt_seconds(lua_State *L, int idx, const char *key, uint64_t dflt) {
    if (!idx)
        return dflt;
    lua_getfield(L, idx, key);
    uint64_t ms = lua_isnil(L, -1) ? dflt : seconds_ms(L, -1, key);
    lua_pop(L, 1);
    return ms;
}

/* The connection parameters at idx (a string, or a table of libpq's keywords) as two
 * NULL-terminated arrays in Lua memory; the strings stay reachable from the stack. */
static void conn_params(lua_State *L, int idx, const char ***keys, const char ***vals) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char **mem = lua_newuserdatauv(L, 4 * sizeof(char *), 0);
        mem[0] = "dbname";
        mem[1] = NULL;
        mem[2] = lua_tostring(L, idx);
        mem[3] = NULL;
        *keys = mem;
        *vals = mem + 2;
        return;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
    }
    lua_createtable(L, n, 0); /* keeps the text of numbers */
    int anchor = lua_gettop(L);
    const char **mem = lua_newuserdatauv(L, (size_t)(2 * n + 2) * sizeof(char *), 1);
    lua_pushvalue(L, anchor);
    lua_setiuservalue(L, -2, 1);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 1);
            continue;
        }
        int t = lua_type(L, -1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            luaL_error(L, "connection parameter %s must be a string or a number",
                       lua_tostring(L, -2));
        if (t == LUA_TNUMBER) {
            lua_pushstring(L, lua_tostring(L, -1)); /* (converts the value slot, not the key) */
            lua_rawseti(L, anchor, k + 1);
            lua_pop(L, 1);
            lua_rawgeti(L, anchor, k + 1);
        }
        mem[k] = lua_tostring(L, -2);
        mem[n + 1 + k] = lua_tostring(L, -1);
        k++;
        lua_pop(L, 1);
    }
    mem[k] = NULL;
    mem[n + 1 + k] = NULL;
    *keys = mem;
    *vals = mem + n + 1;
}

static const char *param_of(const char **keys, const char **vals, const char *key) {
    for (int i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return vals[i];
    return NULL;
}

/* libpq's connect_timeout parameter in seconds (0: not given): a key of its own, else one
 * inside the conninfo string or URL given as dbname (which the connect expands). */
static int conninfo_timeout(const char **keys, const char **vals) {
    const char *ct = param_of(keys, vals, "connect_timeout");
    if (ct)
        return atoi(ct);
    const char *db = param_of(keys, vals, "dbname");
    if (!db || !(strchr(db, '=') || strncmp(db, "postgresql://", 13) == 0 ||
                 strncmp(db, "postgres://", 11) == 0))
        return 0;
    PQconninfoOption *opts = PQconninfoParse(db, NULL); /* (a bad one fails the connect) */
    int s = 0;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val)
            s = atoi(o->val);
    PQconninfoFree(opts);
    return s;
}

/* A connect's timeout: the option, else libpq's connect_timeout parameter, else the
 * server's socket_connect_timeout. */
static uint64_t connect_ms(lua_State *L, ls_vm *vm, int opts, const char **keys,
                           const char **vals) {
    int ct = conninfo_timeout(keys, vals);
    uint64_t dflt = vm->server->settings.socket_connect_timeout_ms;
    if (ct > 0)
        dflt = (uint64_t)ct * 1000;
    return opt_seconds(L, opts, "connect_timeout", dflt);
}

/* db:connect(params[, opts]) */
static int l_connect(lua_State *L) {
    ls_pgdb *db = check_db(L);
    int opts = lua_istable(L, 3) ? 3 : 0;
    if (db->c || ls_waiting(&db->waiter) || db->acquiring)
        return fail(L, "the connection object is in use");
    ls_wait_check(L, "db:connect()");
    ls_client *client = client_of(db->vm);
    if (!client)
        return fail(L, "no event loop yet");
    const char **keys, **vals;
    conn_params(L, 2, &keys, &vals);
    uint64_t cms = connect_ms(L, db->vm, opts, keys, vals);
    db->query_ms = opt_seconds(L, opts, "query_timeout",
                               db->vm->server->settings.socket_read_timeout_ms);
    char err[512];
    ls_pgconn *c = ls_pgconn_connect(db->vm->loop, &client->resolver, keys, vals, cms,
                                     on_connected, db, err, sizeof err);
    if (!c)
        return fail(L, err);
    db->c = c;
    db->pool = NULL;
    ls_own(ls_owner_of(L), &db->owned);
    db_list_add(db);
    return ls_wait(L, &db->waiter, "db:connect()");
}

static ls_lpool *check_pool(lua_State *L, int idx);

/* db:acquire(pool) */
static int l_acquire(lua_State *L) {
    ls_pgdb *db = check_db(L);
    ls_lpool *lp = check_pool(L, 2);
    if (db->c || ls_waiting(&db->waiter) || db->acquiring)
        return fail(L, "the connection object is in use");
    if (!lp->p)
        return fail(L, "the pool is closed");
    ls_wait_check(L, "pool:acquire()");
    char err[512];
    ls_pgconn *c = NULL;
    int r = ls_pgpool_acquire(lp->p, &db->pw, &c, err, sizeof err);
    if (r < 0)
        return fail(L, err);
    db->pool = lp->p;
    db->query_ms = lp->query_ms;
    ls_own(ls_owner_of(L), &db->owned);
    db_list_add(db);
    if (r == 1) {
        db->c = c;
        c->data = db;
        lua_pushboolean(L, 1);
        return 1;
    }
    db->pw.got = on_pool_got;
    db->acquiring = 1;
    return ls_wait(L, &db->waiter, "pool:acquire()");
}

static int starts_with_word(const char *s, const char *word) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(word);
    if (strncasecmp(s, word, n) != 0)
        return 0;
    char next = s[n];
    return next == '\0' || next == ' ' || next == '\t' || next == '\n' || next == '\r' ||
           next == ';' || next == '"';
}

static int run(lua_State *L, int script) {
    ls_pgdb *db = check_db(L);
    const char *sql = luaL_checkstring(L, 2);
    if (ls_waiting(&db->waiter) || db->acquiring)
        return fail(L, "the connection is busy with another call");
    if (!db->c)
        return fail(L, "closed");
    const char *call = script ? "db:exec()" : "db:query()";
    ls_wait_check(L, call);
    params p;
    p.n = 0;
    p.values = NULL;
    p.lengths = p.formats = NULL;
    if (!script)
        gather(L, 3, &p);
    if (starts_with_word(sql, "LISTEN"))
        db->listening = 1;
    int r = ls_pgconn_query(db->c, sql, script ? -1 : p.n, p.values, p.lengths, p.formats,
                            db->query_ms, on_query_done);
    if (r < 0) {
        ls_pgconn *c = db->c;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ls_pgconn_error(c));
        if (c->state == LS_PGCONN_DEAD) {
            let_go(db, 0);
            luaL_pushfail(L);
            lua_pushfstring(L, "closed: %s", msg);
            return 2;
        }
        return fail(L, msg);
    }
    return ls_wait(L, &db->waiter, call);
}

static int l_query(lua_State *L) { return run(L, 0); }
static int l_exec(lua_State *L) { return run(L, 1); }

static void push_notification(lua_State *L, PGnotify *n) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, n->relname);
    lua_setfield(L, -2, "channel");
    lua_pushstring(L, n->extra ? n->extra : "");
    lua_setfield(L, -2, "payload");
    lua_pushinteger(L, n->be_pid);
    lua_setfield(L, -2, "pid");
    PQfreemem(n);
}

static void push_notified(lua_State *L, void *ctx) {
    ls_pgdb *db = ctx;
    PGnotify *n = db->note;
    db->note = NULL;
    if (db->status == LS_PG_OK && n) {
        push_notification(L, n);
        return;
    }
    if (n)
        PQfreemem(n);
    luaL_pushfail(L);
    if (db->status == LS_PG_TIMEOUT)
        lua_pushliteral(L, "timeout");
    else
        lua_pushfstring(L, "closed: %s", db->err);
}

static void on_notified(ls_pgconn *c, int status) {
    ls_pgdb *db = c->data;
    db->status = status;
    db->note = c->notify;
    c->notify = NULL;
    if (status == LS_PG_CLOSED || c->state == LS_PGCONN_DEAD) {
        snprintf(db->err, sizeof db->err, "%s", ls_pgconn_error(c));
        let_go(db, 0);
    }
    ls_wake(&db->waiter, push_notified, db);
}

/* db:wait_for_notification([timeout]) */
static int l_wait_for_notification(lua_State *L) {
    ls_pgdb *db = check_db(L);
    uint64_t ms = lua_isnoneornil(L, 2) ? 0 : seconds_ms(L, 2, "timeout");
    if (ls_waiting(&db->waiter) || db->acquiring)
        return fail(L, "the connection is busy with another call");
    if (!db->c)
        return fail(L, "closed");
    PGnotify *n = ls_pgconn_notification(db->c);
    if (n) {
        push_notification(L, n);
        return 1;
    }
    if (db->c->state == LS_PGCONN_DEAD || PQstatus(db->c->pg) == CONNECTION_BAD) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ls_pgconn_error(db->c));
        let_go(db, 0);
        luaL_pushfail(L);
        lua_pushfstring(L, "closed: %s", msg);
        return 2;
    }
    ls_wait_check(L, "db:wait_for_notification()");
    if (ls_pgconn_wait_notify(db->c, ms, on_notified) < 0)
        return fail(L, "the connection is busy with another call");
    return ls_wait(L, &db->waiter, "db:wait_for_notification()");
}

/* db:release(): back to the pool (or closed, for a connection of its own) */
static int l_release(lua_State *L) {
    ls_pgdb *db = check_db(L);
    if (ls_waiting(&db->waiter))
        return fail(L, "the connection is busy with another call");
    let_go(db, 1);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_close(lua_State *L) {
    ls_pgdb *db = check_db(L);
    if (ls_waiting(&db->waiter))
        return fail(L, "the connection is busy with another call");
    let_go(db, 0);
    lua_pushboolean(L, 1);
    return 1;
}

/* db:settimeout(seconds): the query timeout */
static int l_settimeout(lua_State *L) {
    ls_pgdb *db = check_db(L);
    db->query_ms = seconds_ms(L, 2, "timeout");
    return 0;
}

static int escape(lua_State *L, int identifier) {
    ls_pgdb *db = check_db(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    if (!db->c || !db->c->pg || db->c->state == LS_PGCONN_DEAD)
        return fail(L, "closed");
    char *e = identifier ? PQescapeIdentifier(db->c->pg, s, len)
                         : PQescapeLiteral(db->c->pg, s, len);
    if (!e)
        return fail(L, PQerrorMessage(db->c->pg));
    lua_pushstring(L, e);
    PQfreemem(e);
    return 1;
}

static int l_escape_identifier(lua_State *L) { return escape(L, 1); }
static int l_escape_literal(lua_State *L) { return escape(L, 0); }

/* db:status(): "idle", "transaction", "failed transaction", "busy" or "closed" */
static int l_status(lua_State *L) {
    ls_pgdb *db = check_db(L);
    if (!db->c || db->c->state == LS_PGCONN_DEAD || !db->c->pg)
        lua_pushliteral(L, "closed");
    else if (db->c->state != LS_PGCONN_IDLE)
        lua_pushliteral(L, "busy");
    else
        switch (PQtransactionStatus(db->c->pg)) {
        case PQTRANS_IDLE:
            lua_pushliteral(L, "idle");
            break;
        case PQTRANS_INTRANS:
            lua_pushliteral(L, "transaction");
            break;
        case PQTRANS_INERROR:
            lua_pushliteral(L, "failed transaction");
            break;
        default:
            lua_pushliteral(L, "busy");
            break;
        }
    return 1;
}

static int l_backend_pid(lua_State *L) {
    ls_pgdb *db = check_db(L);
    if (!db->c || !db->c->pg || db->c->state == LS_PGCONN_DEAD)
        return fail(L, "closed");
    lua_pushinteger(L, PQbackendPID(db->c->pg));
    return 1;
}

static int l_db_gc(lua_State *L) {
    ls_pgdb **box = luaL_checkudata(L, 1, DB_MT);
    ls_pgdb *db = *box;
    if (!db)
        return 0;
    *box = NULL;
    ls_waiter_cancel(&db->waiter);
    let_go(db, 1);
    PQclear(db->result);
    if (db->note)
        PQfreemem(db->note);
    free(db);
    return 0;
}

/* core.db() (upvalue: the vm) */
static int l_db(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    ls_pgdb **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    ls_pgdb *db = calloc(1, sizeof *db);
    if (!db)
        return luaL_error(L, "out of memory");
    *box = db;
    luaL_setmetatable(L, DB_MT);
    db->vm = vm;
    db->owned.release = on_release;
    db->in_vm.release = on_stop;
    return 1;
}

/* ---------------------------------------------------------------- pools */

static ls_lpool *check_pool(lua_State *L, int idx) {
    ls_lpool **box = luaL_checkudata(L, idx, POOL_MT);
    if (!*box)
        luaL_error(L, "lunaserve.pg: the pool object was collected (used after its __gc)");
    return *box;
}

static void pool_close(ls_lpool *lp) {
    if (!lp->p)
        return;
    ls_pgpool *p = lp->p;
    lp->p = NULL;
    ls_disown(&lp->in_vm);
    ls_pgpool_close(p);
}

static size_t opt_count(lua_State *L, int idx, const char *key, size_t dflt, size_t min) {
    if (!idx)
        return dflt;
    lua_getfield(L, idx, key);
    size_t n = dflt;
    if (!lua_isnil(L, -1)) {
        lua_Integer v = luaL_checkinteger(L, -1);
        if (v < (lua_Integer)min || v > 1000000)
            luaL_error(L, "pool option %s out of range", key);
        n = (size_t)v;
    }
    lua_pop(L, 1);
    return n;
}

/* The server stops (or the state goes): the pool closes. */
static void pool_in_vm_release(ls_owned *o) {
    pool_close((ls_lpool *)((char *)o - offsetof(ls_lpool, in_vm)));
}

/* core.pool(params, opts) (upvalue: the vm) */
static int l_pool(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    int opts = lua_istable(L, 2) ? 2 : 0;
    const char **keys, **vals;
    conn_params(L, 1, &keys, &vals);
    ls_pgpool_config cfg;
    cfg.size = opt_count(L, opts, "size", 10, 1);
    cfg.backlog = opt_count(L, opts, "backlog", 1024, 0);
    cfg.connect_ms = connect_ms(L, vm, opts, keys, vals);
    cfg.wait_ms = opt_seconds(L, opts, "wait_timeout", 10000);
    cfg.idle_ms = opt_seconds(L, opts, "idle_timeout", 60000);
    uint64_t query_ms =
        opt_seconds(L, opts, "query_timeout", vm->server->settings.socket_read_timeout_ms);
    ls_lpool **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, POOL_MT);
    ls_client *client = client_of(vm);
    ls_lpool *lp = calloc(1, sizeof *lp);
    if (!lp)
        return luaL_error(L, "out of memory");
    lp->p = ls_pgpool_new(vm->loop, client ? &client->resolver : NULL, keys, vals, &cfg);
    if (!lp->p) {
        free(lp);
        return luaL_error(L, "out of memory");
    }
    *box = lp;
    lp->vm = vm;
    lp->query_ms = query_ms;
    lp->in_vm.release = pool_in_vm_release;
    ls_own(&vm->pg, &lp->in_vm);
    return 1;
}

static int l_pool_close(lua_State *L) {
    pool_close(check_pool(L, 1));
    return 0;
}

/* pool:stats(): {live =, idle =, waiting =} */
static int l_pool_stats(lua_State *L) {
    ls_lpool *lp = check_pool(L, 1);
    ls_pgpool_stats s = {0, 0, 0};
    if (lp->p)
        ls_pgpool_get_stats(lp->p, &s);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)s.live);
    lua_setfield(L, -2, "live");
    lua_pushinteger(L, (lua_Integer)s.idle);
    lua_setfield(L, -2, "idle");
    lua_pushinteger(L, (lua_Integer)s.waiting);
    lua_setfield(L, -2, "waiting");
    return 1;
}

static int l_pool_gc(lua_State *L) {
    ls_lpool **box = luaL_checkudata(L, 1, POOL_MT);
    ls_lpool *lp = *box;
    if (!lp)
        return 0;
    *box = NULL;
    pool_close(lp);
    free(lp);
    return 0;
}

void ls_pg_close_all(ls_vm *vm) { ls_release_all(&vm->pg); }

/* ---------------------------------------------------------------- the module */

static int l_open_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ls_pgconn_open_count());
    return 1;
}

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      lua_CFunction gc) {
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

static int open_pg_core(lua_State *L) {
    static const luaL_Reg db_methods[] = {
        {"connect", l_connect},
        {"acquire", l_acquire},
        {"query", l_query},
        {"exec", l_exec},
        {"wait_for_notification", l_wait_for_notification},
        {"release", l_release},
        {"close", l_close},
        {"settimeout", l_settimeout},
        {"escape_identifier", l_escape_identifier},
        {"escape_literal", l_escape_literal},
        {"status", l_status},
        {"backend_pid", l_backend_pid},
        {NULL, NULL},
    };
    static const luaL_Reg pool_methods[] = {
        {"close", l_pool_close},
        {"stats", l_pool_stats},
        {NULL, NULL},
    };
    const char *why = ls_libpq_load();
    if (why)
        return luaL_error(L, "lunaserve.pg: %s", why);
    ls_vm *vm = ls_vm_of(L);
    new_class(L, DB_MT, db_methods, l_db_gc);
    new_class(L, POOL_MT, pool_methods, l_pool_gc);
    luaL_newmetatable(L, BYTEA_MT); /* pg.bytea(s) values carry it */
    lua_pop(L, 1);
    lua_createtable(L, 0, 8);
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, l_db, 1);
    lua_setfield(L, -2, "db");
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, l_pool, 1);
    lua_setfield(L, -2, "pool");
    lua_pushcfunction(L, l_open_count);
    lua_setfield(L, -2, "open_connections");
    luaL_getmetatable(L, DB_MT);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "db_methods");
    lua_pop(L, 1);
    luaL_getmetatable(L, POOL_MT);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "pool_methods");
    lua_pop(L, 1);
    luaL_getmetatable(L, BYTEA_MT);
    lua_setfield(L, -2, "bytea_mt");
    return 1;
}

void ls_pg_preload(lua_State *L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_pg_core);
    lua_setfield(L, -2, "lunaserve.pg_core");
    lua_pop(L, 1);
}
