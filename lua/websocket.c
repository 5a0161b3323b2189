/* `lunaserve.websocket`: the opening handshake in a handler and the WebSocket object, with
 * lua-resty-websocket's server method names (recv_frame, send_text, ...). The protocol
 * itself is core/ws/wsconn.c; this file waits on it.
 *
 * Memory: the C object (ls_lws) lives until three things are over: the Lua handle (its
 * __gc), the connection (on_close) and the timeout timer's close. The handle is owned by the
 * root coroutine that upgraded (lua/driver.h): when that handler ends, the WebSocket closes
 * with 1000 (1011 when it ended with an error). */
#include "binding.h"
#include "deflate.h"
#include "frame_write.h"
#include "handshake.h"
#include "held_string.h"
#include "libcrypto.h"
#include "utf8.h"
#include "wsconn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LS_WS_MT "lunaserve.websocket"
/* The default bound of a WebSocket's queued output (opts.max_output; never above the
 * server's --max-output): a peer that lets more pile up is dropped. */
#define LS_WS_MAX_OUTPUT (1024 * 1024)

typedef struct ls_lws {
    ls_wsconn *ws; /* NULL before the hand-over and once closed */
    ls_vm *vm;
    ls_owned owned;
    ls_waiter reader; /* recv_frame() */
    ls_waiter writer; /* upgrade() until the hand-over; sends waiting for a drain */
    uv_timer_t *timer; /* the timeout of the wait in progress */
    uint64_t timeout_ms; /* set_timeout (0: none) */
    ls_ws_opts opts;
    int self_ref;     /* the handle, while upgrade() waits for the hand-over */
    size_t sent;      /* the payload length a send waiting for the drain returns */
    ls_owned **owner; /* the list of the root that upgraded: its sends wait for the drain */
    /* The peer's close (or its protocol error) when no recv_frame waited: the next one
     * returns it, once. */
    ls_ws_event last;
    uint8_t last_data[LS_WS_CONTROL_MAX];
    unsigned has_last : 1;
    unsigned closed : 1;   /* the connection is gone (or never came) */
    unsigned handle_gone : 1;
    unsigned timer_open : 1;
} ls_lws;

static void maybe_free(ls_lws *o) {
    if (o->closed && o->handle_gone && !o->timer_open)
        free(o);
}

static void timer_closed(uv_handle_t *h) {
    ls_lws *o = h->data;
    free(h);
    o->timer = NULL;
    o->timer_open = 0;
    maybe_free(o);
}

static void timer_stop(ls_lws *o) {
    if (o->timer)
        uv_timer_stop(o->timer);
}

/* recv_frame's failure: nil, nil, err (lua-resty-websocket's shape) */
static void push_fail(lua_State *L, void *ctx) {
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushstring(L, ctx);
}

/* upgrade's and the sends' failure: nil, err */
static void push_fail2(lua_State *L, void *ctx) {
    lua_pushnil(L);
    lua_pushstring(L, ctx);
}

/* ---------------------------------------------------------------- the protocol's events */

static void push_event(lua_State *L, void *ctx) {
    const ls_ws_event *ev = ctx;
    static const char *const names[] = {"continuation", "text", "binary"};
    switch (ev->type) {
    case LS_WS_EV_MESSAGE:
        lua_pushlstring(L, (const char *)ev->data, ev->len);
        lua_pushstring(L, names[ev->opcode == LS_WS_OP_TEXT ? 1 : 2]);
        lua_pushnil(L);
        break;
    case LS_WS_EV_FRAGMENT:
        lua_pushlstring(L, (const char *)ev->data, ev->len);
        lua_pushstring(L, ev->first ? names[ev->opcode == LS_WS_OP_TEXT ? 1 : 2] : names[0]);
        if (ev->last)
            lua_pushnil(L);
        else
            lua_pushliteral(L, "again");
        break;
    case LS_WS_EV_PING:
    case LS_WS_EV_PONG:
        lua_pushlstring(L, (const char *)ev->data, ev->len);
        lua_pushstring(L, ev->type == LS_WS_EV_PING ? "ping" : "pong");
        lua_pushnil(L);
        break;
    case LS_WS_EV_CLOSE:
        lua_pushlstring(L, (const char *)ev->data, ev->len);
        lua_pushliteral(L, "close");
        lua_pushinteger(L, ev->code);
        break;
    default:
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushfstring(L, "failed to receive frame: %s (close %d)", ev->error, (int)ev->code);
        break;
    }
}

/* The protocol's callbacks come from inside the transport's work (a read, a deferred step, a
 * close): the code they wake must not run the server's pending work itself (drive does when
 * no core callback is in progress), or each message's answer would be written on its own and
 * the protocol re-entered while it parses. The transport runs it once the callback returns. */
#define IN_CORE(vm, call)                                                                      \
    do {                                                                                       \
        ls_vm *vm_ = (vm);                                                                     \
        vm_->core_calls++;                                                                     \
        call;                                                                                  \
        vm_->core_calls--;                                                                     \
    } while (0)

static void ev_event(void *ud, const ls_ws_event *ev) {
    ls_lws *o = ud;
    if (!ls_waiting(&o->reader)) { /* the close or the error, which come unasked */
        o->last = *ev;
        size_t n = ev->len < sizeof o->last_data ? ev->len : sizeof o->last_data;
        memcpy(o->last_data, ev->data, n);
        o->last.data = o->last_data, o->last.len = n; /* error: a static string */
        o->has_last = 1;
        return;
    }
    timer_stop(o);
    IN_CORE(o->vm, ls_wake(&o->reader, push_event, (void *)ev));
}

static void push_sent(lua_State *L, void *ctx) {
    lua_pushinteger(L, (lua_Integer)((ls_lws *)ctx)->sent);
}

static void ev_drain(void *ud) {
    ls_lws *o = ud;
    timer_stop(o);
    IN_CORE(o->vm, ls_wake(&o->writer, push_sent, o));
}

static void ev_close(void *ud) {
    ls_lws *o = ud;
    o->ws = NULL;
    o->closed = 1;
    timer_stop(o);
    ls_disown(&o->owned);
    /* The handle is alive here (its __gc detaches us first), so o is not freed now; a wake
     * below may end the handler and let the collector free o: o is not touched after them. */
    ls_root *r1 = ls_wait_take(&o->reader), *r2 = ls_wait_take(&o->writer);
    ls_vm *vm = o->vm;
    if (r1)
        IN_CORE(vm, ls_root_wake(r1, push_fail, "closed"));
    if (r2)
        IN_CORE(vm, ls_root_wake(r2, push_fail2, "closed"));
}

static const ls_ws_iface lws_iface = {ev_event, ev_drain, ev_close};

/* The handler that owned it ended: close normally, or with 1011 (internal error) when it
 * ended with an error (its budget stopped it, or its code raised). */
static void on_release(ls_owned *own) {
    ls_lws *o = (ls_lws *)((char *)own - offsetof(ls_lws, owned));
    if (o->ws && !ls_wsconn_closing(o->ws))
        ls_wsconn_close(o->ws, o->vm->failing ? 1011 : 1000, NULL, 0);
}

/* ---------------------------------------------------------------- waits with a timeout */

static void on_timer(uv_timer_t *t) {
    ls_lws *o = t->data;
    ls_root *r1 = ls_wait_take(&o->reader), *r2 = ls_wait_take(&o->writer);
    if (r1) {
        if (o->ws)
            ls_wsconn_want(o->ws, 0);
        ls_root_wake(r1, push_fail, "timeout");
    }
    if (r2)
        ls_root_wake(r2, push_fail2, "timeout");
}

static void timer_start(ls_lws *o) {
    if (!o->timeout_ms)
        return;
    if (!o->timer) {
        o->timer = malloc(sizeof *o->timer);
        if (!o->timer)
            return;
        uv_timer_init(o->vm->loop, o->timer);
        o->timer->data = o;
        o->timer_open = 1;
    }
    uv_timer_start(o->timer, on_timer, o->timeout_ms, 0);
}

/* ---------------------------------------------------------------- the handshake */

static ls_ws_value field(const ls_request *r, const char *name) {
    size_t nlen = strlen(name);
    ls_ws_value v = {NULL, 0};
    for (uint32_t i = 0; i < r->nhead; i++) {
        const ls_field *f = &r->fields[i];
        if (f->nlen == nlen && strncasecmp(ls_field_name(r, f), name, nlen) == 0) {
            v.s = ls_field_value(r, f), v.len = f->vlen;
            return v;
        }
    }
    return v;
}

/* Every field named `name`, joined with commas (RFC 9110 5.3: a list may come in several
 * fields): a string pushed on L's stack, which keeps it alive. */
static ls_ws_value field_list(lua_State *L, const ls_request *r, const char *name) {
    size_t nlen = strlen(name);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int n = 0;
    for (uint32_t i = 0; i < r->nhead; i++) {
        const ls_field *f = &r->fields[i];
        if (f->nlen == nlen && strncasecmp(ls_field_name(r, f), name, nlen) == 0) {
            if (n++)
                luaL_addchar(&b, ',');
            luaL_addlstring(&b, ls_field_value(r, f), f->vlen);
        }
    }
    luaL_pushresult(&b);
    ls_ws_value v = {NULL, 0};
    if (n)
        v.s = lua_tolstring(L, -1, &v.len);
    return v;
}

static int sha1(const void *data, size_t len, uint8_t out[20]) {
    return EVP_Digest(data, len, out, NULL, EVP_sha1(), NULL) == 1 ? 0 : -1;
}

static void push_handle(lua_State *L, void *ctx) {
    ls_lws *o = ctx;
    lua_rawgeti(L, LUA_REGISTRYINDEX, o->self_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, o->self_ref);
    o->self_ref = LUA_NOREF;
}

static void handed_over(void *arg, ls_transport *t, ls_server *s) {
    ls_lws *o = arg;
    if (t)
        o->ws = ls_wsconn_start(t, s, &o->opts, &lws_iface, o);
    if (!o->ws) {
        o->closed = 1;
        luaL_unref(o->vm->L, LUA_REGISTRYINDEX, o->self_ref);
        o->self_ref = LUA_NOREF;
        IN_CORE(o->vm, ls_wake(&o->writer, push_fail2, "closed"));
        return;
    }
    IN_CORE(o->vm, ls_wake(&o->writer, push_handle, o));
}

static lua_Integer opt_int(lua_State *L, int idx, const char *name, lua_Integer def) {
    if (lua_type(L, idx) != LUA_TTABLE)
        return def;
    lua_getfield(L, idx, name);
    lua_Integer v = lua_isnil(L, -1) ? def : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

static int opt_bool(lua_State *L, int idx, const char *name, int def) {
    if (lua_type(L, idx) != LUA_TTABLE)
        return def;
    lua_getfield(L, idx, name);
    int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A handshake that fails: the status, with Sec-WebSocket-Version for 426. */
static int refuse(lua_State *L, ls_conn *c, ls_ws_hs_result res) {
    int status = ls_ws_handshake_status(res);
    const char *why = ls_ws_handshake_error(res);
    ls_conn_set_status(c, status);
    if (status == 426)
        ls_conn_set_header(c, "Sec-WebSocket-Version", 21, "13", 2, 1);
    ls_conn_set_header(c, "Content-Type", 12, "text/plain; charset=utf-8", 25, 1);
    char body[128];
    size_t n = (size_t)snprintf(body, sizeof body, "%s\n", why);
    ls_conn_finish(c, body, n, NULL, NULL);
    lua_pushnil(L);
    lua_pushstring(L, why);
    return 2;
}

/* websocket.upgrade(req, res[, opts]) -> ws | nil, err  (upvalue 1: the vm) */
static int l_upgrade(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    ls_lreq *r = luaL_checkudata(L, 2, LS_RES_MT);
    if (!r->conn || !ls_conn_open(r->conn)) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    ls_conn *c = r->conn;
    if (ls_conn_headers_sent(c) || ls_conn_finished(c))
        return luaL_error(L, "websocket.upgrade: the response has already begun");
    ls_wait_check(L, "websocket.upgrade()");
    const ls_request *req = ls_conn_request(c);
    ls_ws_request wr = {
        .method = {req->method, req->method ? strlen(req->method) : 0},
        .http_major = req->http_major,
        .http_minor = req->http_minor,
        .upgrade = field_list(L, req, "upgrade"),
        .connection = field_list(L, req, "connection"),
        .version = field(req, "sec-websocket-version"),
        .key = field(req, "sec-websocket-key"),
    };
    ls_ws_hs_result res = ls_ws_handshake_check(&wr);
    if (res != LS_WS_HS_OK)
        return refuse(L, c, res);
    const char *err = ls_libcrypto_load();
    if (err)
        return luaL_error(L, "websocket.upgrade: %s", err);
    char accept[LS_WS_ACCEPT_LEN];
    if (ls_ws_accept(wr.key, sha1, accept) < 0)
        return luaL_error(L, "websocket.upgrade: SHA-1 failed");
    /* opts.protocols: the subprotocols the app speaks, in any order */
    int proto = -1;
    const char *protos[33] = {NULL};
    if (lua_type(L, 3) == LUA_TTABLE) {
        lua_getfield(L, 3, "protocols");
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_Integer n = luaL_len(L, -1);
            for (lua_Integer i = 1; i <= n && i <= 32; i++) {
                lua_rawgeti(L, -1, i);
                protos[i - 1] = luaL_checkstring(L, -1);
                lua_pop(L, 1); /* the table keeps the string alive */
            }
            proto = ls_ws_select_protocol(field_list(L, req, "sec-websocket-protocol"),
                                          protos);
        }
    }
    const ls_settings *cfg = &vm->server->settings;
    ls_lws *o = calloc(1, sizeof *o);
    if (!o)
        return luaL_error(L, "out of memory");
    o->vm = vm;
    o->self_ref = LUA_NOREF;
    o->owned.release = on_release;
    o->timeout_ms = (uint64_t)opt_int(L, 3, "timeout", 0);
    o->opts = (ls_ws_opts){
        .max_payload = (size_t)opt_int(L, 3, "max_payload", 65536),
        .fragments = opt_bool(L, 3, "fragments", 0),
        .auto_pong = opt_bool(L, 3, "auto_pong", 1),
        .close_timeout_ms = (uint64_t)opt_int(L, 3, "close_timeout", 5000),
        .ping_interval_ms = (uint64_t)opt_int(L, 3, "ping_interval", 0),
        .high_water = cfg->high_water,
        .max_output = (size_t)opt_int(L, 3, "max_output",
                                      (lua_Integer)(cfg->max_output < LS_WS_MAX_OUTPUT
                                                        ? cfg->max_output
                                                        : LS_WS_MAX_OUTPUT)),
    };
    /* opts.deflate: permessage-deflate, when the client offers it acceptably */
    char ext[LS_WS_DEFLATE_ANSWER_MAX];
    size_t ext_len = 0;
    if (opt_bool(L, 3, "deflate", 0)) {
        unsigned bits = 15;
        ext_len = ls_ws_deflate_negotiate(field_list(L, req, "sec-websocket-extensions"), ext,
                                          &bits);
        lua_pop(L, 1);
        o->opts.deflate = ext_len > 0;
        o->opts.deflate_bits = bits;
    }
    ls_lws **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = o;
    luaL_setmetatable(L, LS_WS_MT);
    ls_conn_set_header(c, "Upgrade", 7, "websocket", 9, 1);
    ls_conn_set_header(c, "Sec-WebSocket-Accept", 20, accept, LS_WS_ACCEPT_LEN, 1);
    if (proto >= 0)
        ls_conn_set_header(c, "Sec-WebSocket-Protocol", 22, protos[proto], strlen(protos[proto]),
                           1);
    if (ext_len)
        ls_conn_set_header(c, "Sec-WebSocket-Extensions", 24, ext, ext_len, 1);
    int rc = ls_conn_upgrade(c, handed_over, o);
    if (rc < 0) {
        o->closed = 1;
        lua_pushnil(L);
        lua_pushstring(L, ls_strerror(rc));
        return 2;
    }
    lua_pushvalue(L, -1);
    o->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    o->owner = ls_owner_of(L);
    ls_own(o->owner, &o->owned);
    return ls_wait(L, &o->writer, "websocket.upgrade()");
}

/* ---------------------------------------------------------------- methods */

static ls_lws *check(lua_State *L) {
    ls_lws **box = luaL_checkudata(L, 1, LS_WS_MT);
    if (!*box)
        luaL_error(L, "websocket: the object was collected");
    return *box;
}

static int fail(lua_State *L, const char *err) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
}

static int l_recv_frame(lua_State *L) {
    ls_lws *o = check(L);
    if (o->has_last) {
        o->has_last = 0;
        push_event(L, &o->last);
        return 3;
    }
    if (!o->ws) {
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 3;
    }
    if (ls_waiting(&o->reader))
        return luaL_error(L, "another coroutine already waits in ws:recv_frame()");
    ls_wait_check(L, "ws:recv_frame()");
    ls_wsconn_want(o->ws, 1);
    timer_start(o);
    return ls_wait(L, &o->reader, "ws:recv_frame()");
}

/* Sends the string at stack index 2 (data, len). */
static int ws_send(lua_State *L, ls_lws *o, unsigned opcode, const char *data, size_t len) {
    if (!o->ws)
        return fail(L, "closed");
    /* a long payload is queued in place: a broadcast to many peers holds it once */
    ls_release_fn release = NULL;
    void *ctx = NULL;
    if (len >= LS_HOLD_MIN)
        ls_hold_string(L, 2, o->vm, &release, &ctx);
    int rc = ls_wsconn_send(o->ws, opcode, 1, data, len, release, ctx);
    if (rc == LS_WS_ECLOSED)
        return fail(L, "closed");
    if (rc == LS_WS_EINVAL)
        return fail(L, "payload too long for a control frame");
    if (rc < 0)
        return fail(L, "out of memory");
    lua_pushinteger(L, (lua_Integer)len);
    /* Only the handler that upgraded waits for the drain: a send from elsewhere (a broadcast)
     * queues and returns, and a peer whose queue passes max_output is dropped. */
    if (rc == 1 || ls_waiting(&o->writer) || ls_owner_of(L) != o->owner)
        return 1;
    o->sent = len;
    /* Backpressure: wait for the drain, then return the count (or nil, "closed"/"timeout"). */
    timer_start(o);
    lua_pop(L, 1);
    return ls_wait(L, &o->writer, "ws:send()");
}

static const char *opt_payload(lua_State *L, size_t *len) {
    if (lua_isnoneornil(L, 2)) {
        *len = 0;
        return "";
    }
    return luaL_checklstring(L, 2, len);
}

static int l_send_text(lua_State *L) {
    ls_lws *o = check(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    if (!ls_utf8_valid((const uint8_t *)s, len)) /* RFC 6455 8.1: the peer would fail us */
        return fail(L, "text is not valid UTF-8");
    return ws_send(L, o, LS_WS_OP_TEXT, s, len);
}

static int l_send_binary(lua_State *L) {
    ls_lws *o = check(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    return ws_send(L, o, LS_WS_OP_BINARY, s, len);
}

static int l_send_ping(lua_State *L) {
    ls_lws *o = check(L);
    size_t len;
    const char *s = opt_payload(L, &len);
    return ws_send(L, o, LS_WS_OP_PING, s, len);
}

static int l_send_pong(lua_State *L) {
    ls_lws *o = check(L);
    size_t len;
    const char *s = opt_payload(L, &len);
    return ws_send(L, o, LS_WS_OP_PONG, s, len);
}

/* ws:send_close([code, reason]) -> bytes | nil, err */
static int l_send_close(lua_State *L) {
    ls_lws *o = check(L);
    if (!o->ws)
        return fail(L, "closed");
    unsigned code = 0;
    size_t len = 0;
    const char *reason = NULL;
    if (!lua_isnoneornil(L, 2)) {
        code = (unsigned)luaL_checkinteger(L, 2);
        reason = luaL_optlstring(L, 3, "", &len);
    }
    int rc = ls_wsconn_close(o->ws, code, reason, len);
    if (rc == LS_WS_ECLOSED)
        return fail(L, "closed");
    if (rc == LS_WS_EINVAL)
        return fail(L, "invalid close code or reason");
    if (rc < 0)
        return fail(L, "out of memory");
    /* the close frame's payload: the code and the reason as it was cut */
    lua_pushinteger(L, code ? 2 + (lua_Integer)ls_ws_reason_cut(reason, len) : 0);
    return 1;
}

static int l_set_timeout(lua_State *L) {
    ls_lws *o = check(L);
    lua_Integer ms = luaL_checkinteger(L, 2);
    o->timeout_ms = ms > 0 ? (uint64_t)ms : 0;
    return 0;
}

static int l_gc(lua_State *L) {
    ls_lws **box = luaL_checkudata(L, 1, LS_WS_MT);
    ls_lws *o = *box;
    if (!o)
        return 0;
    *box = NULL;
    ls_disown(&o->owned);
    if (o->ws) { /* nothing can use it any more: close normally, without us */
        ls_wsconn_detach(o->ws);
        if (!ls_wsconn_closing(o->ws))
            ls_wsconn_close(o->ws, 1000, NULL, 0);
        o->ws = NULL;
        o->closed = 1;
    }
    if (o->timer && o->timer_open && !uv_is_closing((uv_handle_t *)o->timer))
        uv_close((uv_handle_t *)o->timer, timer_closed);
    o->handle_gone = 1;
    maybe_free(o);
    return 0;
}

static int open_websocket(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"recv_frame", l_recv_frame}, {"send_text", l_send_text},   {"send_binary", l_send_binary},
        {"send_ping", l_send_ping},   {"send_pong", l_send_pong},   {"send_close", l_send_close},
        {"set_timeout", l_set_timeout}, {NULL, NULL}};
    if (luaL_newmetatable(L, LS_WS_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushlightuserdata(L, lua_touserdata(L, lua_upvalueindex(1)));
    lua_pushcclosure(L, l_upgrade, 1);
    lua_setfield(L, -2, "upgrade");
    return 1;
}

void ls_websocket_preload(lua_State *L, ls_vm *vm) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, open_websocket, 1);
    lua_setfield(L, -2, "lunaserve.websocket");
    lua_pop(L, 1);
}
