/* The Lua state and the coroutine driver: each request's handler runs in its own coroutine,
 * resumed from C when what it waits for arrives. */
#include "binding.h"

#include "log.h"

#include <lualib.h>
#include <stdlib.h>
#include <string.h>

static ls_lreq *lreq_of(lua_State *co) { return *(ls_lreq **)lua_getextraspace(co); }

static int new_request(lua_State *L);

ls_vm *ls_vm_new(uv_loop_t *loop, ls_server *server) {
    ls_vm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return NULL;
    vm->loop = loop;
    vm->server = server;
    vm->L = lua_newstate(ls_budget_alloc, vm);
    if (!vm->L) {
        free(vm);
        return NULL;
    }
    lua_State *L = vm->L;
    *(ls_lreq **)lua_getextraspace(L) = NULL;
    luaL_openlibs(L);
    /* Incremental, a cycle once the heap is 1.3x what the last one kept: per-request
     * garbage is reclaimed steadily, so memory follows the live connections. (Lua's
     * generational mode let it pile up to twice the live heap here: 0.2 KiB more for each
     * idle keep-alive connection, at no gain in speed.) An app may choose otherwise with
     * collectgarbage(). */
    lua_gc(L, LUA_GCINC, 130, 200, 0);
    ls_budget_arm(L); /* threads inherit it */
    ls_req_open(L);
    ls_res_open(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, ls_open_lunaserve, 1);
    lua_setfield(L, -2, "lunaserve");
    lua_pop(L, 1);
    lua_pushlightuserdata(L, vm);
    luaL_getmetatable(L, LS_RES_MT);
    luaL_getmetatable(L, LS_REQ_MT);
    lua_pushcclosure(L, new_request, 3);
    vm->new_request_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    vm->handler_ref = vm->app_ref = LUA_NOREF;
    return vm;
}

void ls_vm_free(ls_vm *vm) {
    if (!vm)
        return;
    lua_close(vm->L);
    free(vm);
}

void ls_vm_unref(ls_vm *vm) {
    if (--vm->refs == 0 && vm->retired && vm->host)
        ls_host_collect_soon(vm->host);
}

int ls_traceback(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ------------------------------------------------------------------ the driver */

void ls_vm_log_error(ls_lreq *r, const char *what, const char *msg) {
    if (r && r->conn) {
        const ls_request *q = ls_conn_request(r->conn);
        ls_log(LS_LOG_ERROR, "%s for %s %.*s: %s", what, q->method ? q->method : "?",
               (int)q->url_len, ls_request_url(q), msg);
    } else {
        ls_log(LS_LOG_ERROR, "%s: %s", what, msg);
    }
}

/* A handler raised an error: 500 if the head did not go out yet, else the connection is
 * closed. Either way the server goes on. */
void ls_vm_handler_failed(ls_lreq *r) {
    if (r && r->conn)
        ls_conn_respond_error(r->conn, 500);
}

void ls_vm_resume(ls_vm *vm, lua_State *co, int nargs) {
    ls_lreq *r = lreq_of(co);
    int nres;
    ls_budget_arm(co);
    uint64_t saved = ls_budget_start(vm);
    int st = lua_resume(co, vm->L, nargs, &nres);
    ls_budget_end(saved);
    if (st == LUA_YIELD) {
        lua_pop(co, nres);
        return;
    }
    if (st != LUA_OK) {
        const char *msg = lua_tostring(co, -1);
        luaL_traceback(vm->L, co, msg ? msg : "(error object is not a string)", 0);
        ls_vm_log_error(r, "handler error", lua_tostring(vm->L, -1));
        lua_pop(vm->L, 1);
        ls_vm_handler_failed(r);
    }
    lua_settop(co, 0);
    if (r && r->co == co) {
        /* The handler is over. A coroutine that ended well is kept for the next request
         * (a fresh one costs a stack and its bookkeeping); one that failed goes. */
        *(ls_lreq **)lua_getextraspace(co) = NULL;
        if (st == LUA_OK && vm->nspare < (int)(sizeof vm->spare / sizeof vm->spare[0]))
            vm->spare[vm->nspare++] = r->co_ref;
        else
            luaL_unref(vm->L, LUA_REGISTRYINDEX, r->co_ref);
        r->co_ref = LUA_NOREF;
        r->co = NULL;
        ls_vm_release(r);
    }
}

void ls_vm_release(ls_lreq *r) {
    if (r->conn || r->co || r->busy || r->self_ref == LUA_NOREF)
        return;
    luaL_unref(r->vm->L, LUA_REGISTRYINDEX, r->self_ref);
    r->self_ref = LUA_NOREF;
    ls_vm_unref(r->vm);
}

/* Wakes the coroutine blocked on `wait` (if any) with the values push() leaves on its
 * stack. */
void ls_vm_wake(ls_lreq *r, int wait, void (*push)(lua_State *co, ls_lreq *r)) {
    if (r->wait != wait || !r->waiter)
        return;
    lua_State *L = r->vm->L, *co = r->waiter;
    /* Anchor the coroutine on the main stack while it runs. */
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    if (r->waiter_ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, r->waiter_ref);
        r->waiter_ref = LUA_NOREF;
    }
    r->waiter = NULL;
    r->wait = WAIT_NONE;
    int top = lua_gettop(co);
    push(co, r);
    ls_vm_resume(r->vm, co, lua_gettop(co) - top);
    lua_pop(L, 1);
}

static void push_closed(lua_State *co, ls_lreq *r) {
    (void)r;
    lua_pushboolean(co, 0);
    lua_pushliteral(co, "closed");
}
static void push_nil_closed(lua_State *co, ls_lreq *r) {
    (void)r;
    lua_pushnil(co);
    lua_pushliteral(co, "closed");
}
static void push_nil_aborted(lua_State *co, ls_lreq *r) {
    (void)r;
    lua_pushnil(co);
    lua_pushliteral(co, "aborted");
}
static void push_true(lua_State *co, ls_lreq *r) {
    (void)r;
    lua_pushboolean(co, 1);
}

/* ------------------------------------------------------------------ core callbacks */

/* Makes the coroutine and the req/res pair for a request (in protected mode: it allocates).
 * Stack in: conn (light userdata); out: the coroutine, ready with handler, req, res. */
static int new_request(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    ls_conn *c = lua_touserdata(L, 1);
    lua_State *co = vm->nspare ? (lua_rawgeti(L, LUA_REGISTRYINDEX, vm->spare[vm->nspare - 1]),
                                  lua_tothread(L, -1))
                               : lua_newthread(L);
    ls_lreq *r = ls_res_new(L, vm, c, lua_upvalueindex(2), lua_upvalueindex(3)); /* co, res */
    r->co = co;
    *(ls_lreq **)lua_getextraspace(co) = r;
    lua_rawgeti(co, LUA_REGISTRYINDEX, vm->handler_ref);
    lua_pushvalue(L, -1);
    lua_xmove(L, co, 1);                 /* handler, res */
    lua_getiuservalue(co, -1, SLOT_REQ); /* handler, res, req */
    lua_insert(co, -2);                  /* handler, req, res */
    return 2;
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
    ls_vm_resume(vm, co, 2);
    return r;
}

static void vm_on_body(void *ud) { ls_req_on_body(ud); }

static void vm_on_drain(void *ud) {
    ls_lreq *r = ud;
    ls_vm_wake(r, WAIT_DRAIN, push_true);
    ls_emit(r, "res:drain", 0);
}

/* The core let go of the request: after this, both handles are dead. */
static void detach(ls_lreq *r) {
    lua_State *L = r->vm->L;
    if ((r->co || r->has_listeners) && r->self_ref != LUA_NOREF) {
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
    r->busy = 1; /* keeps the userdata until the listeners have run */
    detach(r);
    ls_emit(r, "res:finish", 0);
    ls_emit(r, "req:close", 0);
    ls_emit(r, "res:close", 0);
    if (r->wait == WAIT_READ || r->wait == WAIT_BODY) /* the rest of the body is not read */
        ls_vm_wake(r, r->wait, push_nil_closed);
    ls_vm_wake(r, WAIT_DRAIN, push_true);
    r->busy = 0;
    ls_vm_release(r);
}

static void vm_on_abort(void *ud) {
    ls_lreq *r = ud;
    r->aborted = !r->finished;
    r->busy = 1;
    detach(r);
    ls_emit(r, "req:close", 0);
    ls_emit(r, "res:close", 0);
    if (r->wait == WAIT_READ || r->wait == WAIT_BODY)
        ls_vm_wake(r, r->wait, push_nil_aborted);
    ls_vm_wake(r, WAIT_DRAIN, push_closed);
    r->busy = 0;
    ls_vm_release(r);
}

const ls_app_iface ls_vm_iface = {
    .on_request = vm_on_request,
    .on_body = vm_on_body,
    .on_drain = vm_on_drain,
    .on_finish = vm_on_finish,
    .on_abort = vm_on_abort,
};

int ls_vm_wait(lua_State *L, ls_lreq *r, int wait) {
    if (!lua_isyieldable(L))
        return luaL_error(L, "this call waits, so it must run inside a request handler "
                             "(a coroutine), not in a listener or at load time");
    r->wait = wait;
    r->waiter = L;
    if (L != r->co) {
        lua_pushthread(L);
        r->waiter_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return lua_yield(L, 0);
}
