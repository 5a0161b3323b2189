/* A request's life in the Lua state: the core's callbacks (a request starts, body arrives,
 * output drains, the response has gone out or the request was aborted), the handler's
 * coroutine as a root of the driver, and how long the request's Lua objects are kept.
 *
 * Holding a request. The res userdata is the request's memory, and the core keeps a pointer
 * to it until on_finish or on_abort. It is held (a registry reference) while something may
 * still finish the response: the handler's coroutine lives, a coroutine waits on it, the
 * core is calling in, the response has ended or the connection is closing (the core's call
 * is due), a req 'data'/'end' listener waits for the body, a res 'drain' listener for a
 * pending drain. Otherwise the app owes the response and only Lua references keep it: a
 * response stored on purpose (a stream, a long poll) stays the app's to finish. One that
 * nothing reaches any more can never be finished: its __gc answers 500 (or closes the
 * connection if the head is out), logs "handler returned without finishing" with the request
 * line, and disowns the connection's handle before the memory goes. A full collection is
 * asked for when a request first goes unheld, so that this happens soon even on an idle
 * server. An unheld userdata is found again through a weak-valued table when the core calls
 * in or the app calls on it; one that is already being finalized is left to its __gc. */
#include "binding.h"

#include "log.h"
#include "stats.h"

#include <stddef.h>
#include <stdlib.h>

static ls_lreq *lreq_of_root(ls_root *root) {
    return (ls_lreq *)((char *)root - offsetof(ls_lreq, root));
}

void ls_lreq_log(ls_lreq *r, const char *what, const char *msg) {
    ls_stat_add(&ls_stats_self->handler_errors, 1);
    if (r && r->conn) {
        const ls_request *q = ls_conn_request(r->conn);
        ls_log(LS_LOG_ERROR, "%s for %s %.*s: %s", what, q->method ? q->method : "?",
               (int)q->url_len, ls_request_url(q), msg);
    } else {
        ls_log(LS_LOG_ERROR, "%s: %s", what, msg);
    }
}

/* 500 if the head did not go out yet, else the connection is closed. Either way the server
 * goes on. */
void ls_lreq_fail(ls_lreq *r) {
    if (r && r->conn)
        ls_conn_respond_error(r->conn, 500);
}

void ls_lreq_wake(ls_lreq *r, int wait, ls_push_fn push) {
    if (ls_waiting(&r->waiter) && r->wait == wait)
        ls_wake(&r->waiter, push, r);
}

/* Pushes r's res userdata from the table of unheld ones; 0 (nothing pushed) if it is gone or
 * being finalized. */
static int push_unheld(lua_State *L, ls_lreq *r) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->vm->unheld_ref);
    int found = lua_rawgetp(L, -1, r) == LUA_TUSERDATA;
    lua_remove(L, -2);
    if (!found)
        lua_pop(L, 1);
    return found;
}

static int must_hold(const ls_lreq *r) {
    if (r->busy || r->root.co || ls_waiting(&r->waiter))
        return 1;
    if (!r->conn)
        return 0;
    if (!ls_conn_open(r->conn) || ls_conn_finished(r->conn))
        return 1; /* on_finish or on_abort is due, with 'finish' and 'close' listeners */
    if (r->body_listeners && !r->end_emitted)
        return 1; /* a 'data' or 'end' listener may finish it (Node style) */
    if (r->drain_listeners && r->drain_pending)
        return 1;
    return 0;
}

void ls_lreq_settle(ls_lreq *r) {
    ls_vm *vm = r->vm;
    lua_State *L = vm->L;
    if (must_hold(r)) {
        if (r->self_ref == LUA_NOREF && push_unheld(L, r))
            r->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        return;
    }
    if (r->self_ref != LUA_NOREF) {
        if (r->conn) { /* owed by the app: kept only by what Lua code keeps */
            lua_rawgeti(L, LUA_REGISTRYINDEX, vm->unheld_ref);
            lua_rawgeti(L, LUA_REGISTRYINDEX, r->self_ref);
            lua_rawsetp(L, -2, r);
            lua_pop(L, 1);
            if (!r->gc_asked) {
                r->gc_asked = 1;
                ls_vm_collect_soon(vm);
            }
        }
        luaL_unref(L, LUA_REGISTRYINDEX, r->self_ref);
        r->self_ref = LUA_NOREF;
    }
    if (!r->conn && r->counted) {
        r->counted = 0;
        ls_vm_unref(vm);
    }
}

void ls_lreq_touch(ls_lreq *r) {
    if (r->self_ref == LUA_NOREF && r->conn)
        ls_lreq_settle(r);
}

void ls_lreq_collected(ls_lreq *r) {
    ls_conn *c = r->conn;
    ls_release_all(&r->root.owns); /* a root that never ended: its list goes with this memory */
    if (c) {
        r->conn = NULL;
        ls_conn_disown(c); /* this memory goes next: no callback may reach it */
        if (ls_conn_open(c) && !ls_conn_finished(c)) {
            /* answered as a handler error is: 500, or the connection closes */
            const ls_request *q = ls_conn_request(c);
            ls_log(LS_LOG_ERROR,
                   "handler returned without finishing for %s %.*s (nothing refers to its "
                   "response any more)",
                   q->method ? q->method : "?", (int)q->url_len, ls_request_url(q));
            ls_conn_respond_error(c, 500);
        }
    }
    free(r->acc);
    r->acc = NULL;
    if (r->counted) {
        r->counted = 0;
        ls_vm_unref(r->vm);
    }
}

/* The handler returned or failed. A coroutine that ended well is kept for the next request
 * (a fresh one costs a stack and its bookkeeping); one that failed goes. */
static void handler_done(ls_root *root, lua_State *co, const char *error) {
    (void)co;
    ls_lreq *r = lreq_of_root(root);
    ls_vm *vm = r->vm;
    if (error) {
        ls_lreq_log(r, "handler error", error);
        ls_lreq_fail(r);
    }
    if (!error && vm->nspare < (int)(sizeof vm->spare / sizeof vm->spare[0]))
        vm->spare[vm->nspare++] = r->co_ref;
    else
        luaL_unref(vm->L, LUA_REGISTRYINDEX, r->co_ref);
    r->co_ref = LUA_NOREF;
    ls_lreq_settle(r);
}

/* Makes the coroutine and the req/res pair for a request (in protected mode: it allocates).
 * Stack in: conn (light userdata); out: the coroutine, ready with handler, req, res. */
static int new_request(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    ls_conn *c = lua_touserdata(L, 1);
    lua_State *co = vm->nspare ? (lua_rawgeti(L, LUA_REGISTRYINDEX, vm->spare[vm->nspare - 1]),
                                  lua_tothread(L, -1))
                               : lua_newthread(L);
    ls_lreq *r = ls_res_new(L, vm, c, lua_upvalueindex(2), lua_upvalueindex(3)); /* co, res */
    r->root.vm = vm;
    r->root.done = handler_done;
    lua_rawgeti(co, LUA_REGISTRYINDEX, vm->handler_ref);
    lua_pushvalue(L, -1);
    lua_xmove(L, co, 1);                 /* handler, res */
    lua_getiuservalue(co, -1, SLOT_REQ); /* handler, res, req */
    lua_insert(co, -2);                  /* handler, req, res */
    return 2;
}

void ls_lifecycle_open(lua_State *L, ls_vm *vm) {
    lua_pushlightuserdata(L, vm);
    luaL_getmetatable(L, LS_RES_MT);
    luaL_getmetatable(L, LS_REQ_MT);
    lua_pushcclosure(L, new_request, 3);
    vm->new_request_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    vm->unheld_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* ------------------------------------------------------------------ core callbacks */

/* A core callback begins: r is held while it runs, and the driver leaves the server's
 * deferred work to the core, which runs it once the callback returns (driver.c). Returns 0 if
 * r's userdata is already being finalized: its __gc disowns the connection, and the callback
 * must not touch Lua. */
static int enter(ls_lreq *r) {
    if (r->self_ref == LUA_NOREF) {
        lua_State *L = r->vm->L;
        if (!push_unheld(L, r))
            return 0;
        r->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    r->busy++;
    r->vm->core_calls++;
    return 1;
}

static void leave(ls_lreq *r) {
    ls_vm *vm = r->vm;
    r->busy--;
    ls_lreq_settle(r);
    vm->core_calls--;
}

static void *vm_on_request(void *app, ls_conn *c) {
    ls_vm *vm = app;
    lua_State *L = vm->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->new_request_ref);
    lua_pushlightuserdata(L, c);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
        ls_log(LS_LOG_ERROR, "cannot start a handler: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        ls_conn_respond_error(c, 500);
        return NULL;
    }
    ls_lreq *r = lua_touserdata(L, -1);
    r->self_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops res */
    lua_State *co = lua_tothread(L, -1);
    if (vm->nspare) { /* a reused coroutine keeps its reference */
        r->co_ref = vm->spare[--vm->nspare];
        lua_pop(L, 1);
    } else {
        r->co_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the coroutine */
    }
    vm->refs++;
    r->counted = 1;
    enter(r);
    ls_root_start(&r->root, co, 2);
    leave(r);
    /* Collected meanwhile (the handler returned unfinished and dropped it): answered, and
     * the core must not keep the handle. */
    return r->conn ? r : NULL;
}

static void vm_on_body(void *ud) {
    ls_lreq *r = ud;
    if (!enter(r))
        return;
    ls_req_on_body(r);
    leave(r);
}

static void push_true(lua_State *L, void *ctx) {
    (void)ctx;
    lua_pushboolean(L, 1);
}
static void push_closed(lua_State *L, void *ctx) {
    (void)ctx;
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "closed");
}
static void push_nil_closed(lua_State *L, void *ctx) {
    (void)ctx;
    lua_pushnil(L);
    lua_pushliteral(L, "closed");
}
static void push_nil_aborted(lua_State *L, void *ctx) {
    (void)ctx;
    lua_pushnil(L);
    lua_pushliteral(L, "aborted");
}

static void vm_on_drain(void *ud) {
    ls_lreq *r = ud;
    if (!enter(r))
        return;
    r->drain_pending = 0;
    ls_lreq_wake(r, WAIT_DRAIN, push_true);
    ls_emit(r, "res:drain", 0);
    leave(r);
}

/* The core let go of the request: after this, both handles are dead. */
static void detach(ls_lreq *r) {
    lua_State *L = r->vm->L;
    if ((r->root.co || r->has_listeners) && r->self_ref != LUA_NOREF) {
        /* The handler still runs, or listeners are about to: keep what req fields need. */
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->self_ref);
        ls_req_snapshot(L, r, lua_gettop(L));
        lua_pop(L, 1);
    }
    r->status = ls_conn_response(r->conn)->status;
    r->conn = NULL;
    free(r->acc); /* a body that will not be completed */
    r->acc = NULL;
    r->acc_len = r->acc_cap = 0;
}

static void vm_on_finish(void *ud) {
    ls_lreq *r = ud;
    r->finished = 1;
    if (!enter(r)) {
        r->conn = NULL; /* its __gc has nothing left to do but free */
        return;
    }
    detach(r);
    ls_emit(r, "res:finish", 0);
    ls_emit(r, "req:close", 0);
    ls_emit(r, "res:close", 0);
    if (r->wait == WAIT_READ || r->wait == WAIT_BODY) /* the rest of the body is not read */
        ls_lreq_wake(r, r->wait, push_nil_closed);
    ls_lreq_wake(r, WAIT_DRAIN, push_true);
    leave(r);
}

static void push_nil_too_large(lua_State *L, void *ctx) {
    (void)ctx;
    lua_pushnil(L);
    lua_pushliteral(L, "too large");
}

static void vm_on_abort(void *ud) {
    ls_lreq *r = ud;
    /* A body over its limit got 413: the client is still there, the handler is told why. */
    r->too_large = ls_conn_body_too_large(r->conn);
    r->aborted = !r->finished && !r->too_large;
    if (!enter(r)) {
        r->conn = NULL;
        return;
    }
    detach(r);
    ls_emit(r, "req:close", 0);
    ls_emit(r, "res:close", 0);
    if (r->wait == WAIT_READ || r->wait == WAIT_BODY)
        ls_lreq_wake(r, r->wait, r->too_large ? push_nil_too_large : push_nil_aborted);
    ls_lreq_wake(r, WAIT_DRAIN, push_closed);
    if (r->aborted) /* its client left: the sockets it holds close (waits on them: "closed") */
        ls_release_all(&r->root.owns);
    leave(r);
}

const ls_app_iface ls_vm_iface = {
    .on_request = vm_on_request,
    .on_body = vm_on_body,
    .on_drain = vm_on_drain,
    .on_finish = vm_on_finish,
    .on_abort = vm_on_abort,
};
