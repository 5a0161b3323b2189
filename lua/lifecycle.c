/* A request's life in the Lua state: the core's callbacks (a request starts, body arrives,
 * output drains, the response has gone out or the request was aborted), the handler's
 * coroutine as a root of the driver, and how long the request's Lua objects are kept. */
#include "binding.h"

#include "log.h"

#include <stddef.h>
#include <stdlib.h>

static ls_lreq *lreq_of_root(ls_root *root) {
    return (ls_lreq *)((char *)root - offsetof(ls_lreq, root));
}

void ls_lreq_log(ls_lreq *r, const char *what, const char *msg) {
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

void ls_lreq_release(ls_lreq *r) {
    if (r->conn || r->root.co || r->busy || r->self_ref == LUA_NOREF)
        return;
    luaL_unref(r->vm->L, LUA_REGISTRYINDEX, r->self_ref);
    r->self_ref = LUA_NOREF;
    ls_vm_unref(r->vm);
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
    ls_lreq_release(r);
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
}

/* ------------------------------------------------------------------ core callbacks */

/* The core runs its deferred work when a callback returns, so the driver must not while one
 * is in progress (see driver.c). */
static void core_enter(ls_vm *vm) { vm->core_calls++; }
static void core_leave(ls_vm *vm) { vm->core_calls--; }

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
    core_enter(vm);
    ls_root_start(&r->root, co, 2);
    core_leave(vm);
    return r;
}

static void vm_on_body(void *ud) {
    ls_lreq *r = ud;
    ls_vm *vm = r->vm;
    core_enter(vm);
    ls_req_on_body(r);
    core_leave(vm);
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
    ls_vm *vm = r->vm;
    core_enter(vm);
    ls_lreq_wake(r, WAIT_DRAIN, push_true);
    ls_emit(r, "res:drain", 0);
    core_leave(vm);
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
    ls_vm *vm = r->vm;
    core_enter(vm);
    r->finished = 1;
    r->busy = 1; /* keeps the userdata until the listeners have run */
    detach(r);
    ls_emit(r, "res:finish", 0);
    ls_emit(r, "req:close", 0);
    ls_emit(r, "res:close", 0);
    if (r->wait == WAIT_READ || r->wait == WAIT_BODY) /* the rest of the body is not read */
        ls_lreq_wake(r, r->wait, push_nil_closed);
    ls_lreq_wake(r, WAIT_DRAIN, push_true);
    r->busy = 0;
    ls_lreq_release(r);
    core_leave(vm);
}

static void vm_on_abort(void *ud) {
    ls_lreq *r = ud;
    ls_vm *vm = r->vm;
    core_enter(vm);
    r->aborted = !r->finished;
    r->busy = 1;
    detach(r);
    ls_emit(r, "req:close", 0);
    ls_emit(r, "res:close", 0);
    if (r->wait == WAIT_READ || r->wait == WAIT_BODY)
        ls_lreq_wake(r, r->wait, push_nil_aborted);
    ls_lreq_wake(r, WAIT_DRAIN, push_closed);
    r->busy = 0;
    ls_lreq_release(r);
    core_leave(vm);
}

const ls_app_iface ls_vm_iface = {
    .on_request = vm_on_request,
    .on_body = vm_on_body,
    .on_drain = vm_on_drain,
    .on_finish = vm_on_finish,
    .on_abort = vm_on_abort,
};
