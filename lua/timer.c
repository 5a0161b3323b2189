/* lunaserve.timer: at(delay, fn, ...) and every(interval, fn, ...) call fn(premature, ...)
 * later, as OpenResty's ngx.timer.at and ngx.timer.every do; running_count() and
 * pending_count() say how many there are.
 *
 * Each call runs in a coroutine of its own, a root of the driver, so it may wait (sleep, and
 * the outbound calls) under the same CPU budget as a handler; an error in it is logged with its
 * traceback and goes no further. What the call opened is released when it ends (driver.c).
 *
 * premature is true for the last call a timer gets when its code goes away: the app reloads
 * (the old state's timers, host.c) or the worker stops. Those calls come at once, in the state
 * the timer belongs to, and an `every` timer stops after it. A state that goes away no longer
 * takes timers with a delay: at(0) still runs (prematurely), anything else returns
 * nil, "process exiting", as in OpenResty.
 *
 * Timers pending or running in the worker are bounded by the setting max_timers: past it,
 * at/every return nil, "too many pending timers", and an `every` timer skips its run (logged).
 *
 * A timer holds a reference to its state (vm->refs) while it waits and each call while it
 * runs, so that a retired state lives until its timers are done. */
#include "binding.h"

#include "log.h"

#include <math.h>
#include <stdlib.h>

/* 1e12 s (some 31,000 years) keeps the milliseconds exact in a double and far from overflow. */
#define MAX_DELAY_S 1e12

/* A timer waiting to fire. Its coroutine holds fn and the arguments on its stack: an `at`
 * timer's call runs in it; an `every` timer's calls run in copies of it, except the last
 * (premature) one. */
typedef struct ls_timer {
    uv_timer_t handle;
    ls_vm *vm;                    /* NULL once dropped (ls_timers_cancel): no unref then */
    lua_State *co;                /* fn, args... */
    int co_ref;                   /* keeps co alive */
    uint64_t interval_ms;         /* every: the period; at: 0 */
    struct ls_timer *prev, *next; /* vm->timers, newest first */
} ls_timer;

/* One call of a timer's fn. */
typedef struct ls_timer_run {
    ls_root root; /* first: the driver's done() gets &root */
    int co_ref;   /* keeps root.co alive */
    struct ls_timer_run *prev, *next; /* vm->timer_runs */
} ls_timer_run;

/* In this process (one loop, every state): timers waiting to fire, and calls running (one
 * suspended in a wait counts as running). */
static size_t npending, nrunning;

size_t ls_timers_active(void) { return npending + nrunning; }

/* The state's code is going away: new timers are refused, calls are premature. */
static int exiting(const ls_vm *vm) { return vm->retired || vm->stopping; }

static uint64_t max_timers(const ls_vm *vm) {
    /* The server is set up before the app loads, with the command line's settings (the
     * app's table applies once its load has returned); without a server (api_bench before
     * its start), the default bound. */
    if (vm->server && vm->server->loop)
        return vm->server->settings.max_timers;
    ls_settings defaults;
    ls_settings_defaults(&defaults);
    return defaults.max_timers;
}

static void link_timer(ls_vm *vm, ls_timer *t) {
    t->prev = NULL;
    t->next = vm->timers;
    if (t->next)
        t->next->prev = t;
    vm->timers = t;
    npending++;
}

static void unlink_timer(ls_vm *vm, ls_timer *t) {
    if (t->prev)
        t->prev->next = t->next;
    else
        vm->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    npending--;
}

static void link_run(ls_vm *vm, ls_timer_run *r) {
    r->prev = NULL;
    r->next = vm->timer_runs;
    if (r->next)
        r->next->prev = r;
    vm->timer_runs = r;
    nrunning++;
}

static void unlink_run(ls_vm *vm, ls_timer_run *r) {
    if (r->prev)
        r->prev->next = r->next;
    else
        vm->timer_runs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    nrunning--;
}

/* ------------------------------------------------------------------ calls */

static void run_done(ls_root *root, lua_State *co, const char *error) {
    (void)co;
    ls_timer_run *r = (ls_timer_run *)root;
    ls_vm *vm = root->vm;
    if (error)
        ls_log(LS_LOG_ERROR, "timer error: %s", error);
    unlink_run(vm, r);
    luaL_unref(vm->L, LUA_REGISTRYINDEX, r->co_ref);
    free(r);
    ls_vm_unref(vm);
    if (vm->host)
        ls_host_timer_ended(vm->host);
}

/* Starts a call in co (fn and its arguments on its stack; co_ref is handed over), with
 * premature before the arguments. */
static void run(ls_vm *vm, lua_State *co, int co_ref, int premature) {
    ls_timer_run *r = calloc(1, sizeof *r);
    if (!r || !lua_checkstack(co, 1)) {
        ls_log(LS_LOG_ERROR, "timer: out of memory: a call was dropped");
        free(r);
        luaL_unref(vm->L, LUA_REGISTRYINDEX, co_ref);
        return;
    }
    r->root.vm = vm;
    r->root.done = run_done;
    r->co_ref = co_ref;
    link_run(vm, r);
    vm->refs++;
    lua_pushboolean(co, premature);
    lua_insert(co, 2);
    ls_root_start(&r->root, co, lua_gettop(co) - 1);
}

/* In protected mode (it allocates): a new coroutine with a copy of the stack of the one at
 * index 1 (light userdata); returns it and its registry reference. */
static int copy_call(lua_State *L) {
    lua_State *from = lua_touserdata(L, 1);
    int n = lua_gettop(from);
    lua_State *co = lua_newthread(L);
    if (!lua_checkstack(co, n + 1) || !lua_checkstack(from, 1))
        return luaL_error(L, "stack overflow");
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(from, i);
        lua_xmove(from, co, 1);
    }
    lua_pushvalue(L, -1);
    lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
    return 2;
}

static void on_timer_closed(uv_handle_t *h) {
    ls_timer *t = h->data;
    ls_vm *vm = t->vm;
    free(t);
    if (vm)
        ls_vm_unref(vm);
}

/* The timer is due (or its code goes away: premature). An `every` timer's regular call runs
 * in a copy of its coroutine and the uv timer repeats; the last call runs in the timer's own
 * coroutine, and the timer goes. */
static void fire(ls_timer *t, int premature) {
    ls_vm *vm = t->vm;
    lua_State *L = vm->L;
    if (t->interval_ms && !premature) {
        if (ls_timers_active() >= max_timers(vm)) {
            ls_log(LS_LOG_WARN, "timer: %zu timers pending or running (max_timers): a call of "
                                "an every() timer was skipped", ls_timers_active());
            return;
        }
        lua_pushcfunction(L, copy_call);
        lua_pushlightuserdata(L, t->co);
        if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
            ls_log(LS_LOG_ERROR, "timer: a call was dropped: %s", lua_tostring(L, -1));
            lua_pop(L, 1);
            return;
        }
        lua_State *co = lua_tothread(L, -2);
        int co_ref = (int)lua_tointeger(L, -1);
        lua_pop(L, 2);
        run(vm, co, co_ref, 0);
        return;
    }
    lua_State *co = t->co;
    int co_ref = t->co_ref;
    t->co = NULL;
    t->co_ref = LUA_NOREF;
    unlink_timer(vm, t);
    uv_close((uv_handle_t *)&t->handle, on_timer_closed);
    run(vm, co, co_ref, premature);
}

static void on_due(uv_timer_t *h) {
    ls_timer *t = h->data;
    fire(t, exiting(t->vm));
}

void ls_timers_expire(ls_vm *vm) {
    if (!vm->timers)
        return;
    /* Oldest first, up to the newest timer there is now: timers the calls make (at(0)) are
     * not called here but when they are due. Nothing else leaves the list meanwhile. */
    ls_timer *newest = vm->timers, *t = newest;
    while (t->next)
        t = t->next;
    for (;;) {
        ls_timer *newer = t->prev;
        int last = t == newest;
        fire(t, 1);
        if (last)
            break;
        t = newer;
    }
}

void ls_timers_cancel(ls_vm *vm) {
    /* (refs are dropped directly: the state is being freed, or the host is closing) */
    while (vm->timers) {
        ls_timer *t = vm->timers;
        unlink_timer(vm, t);
        luaL_unref(vm->L, LUA_REGISTRYINDEX, t->co_ref);
        t->vm = NULL;
        vm->refs--;
        uv_close((uv_handle_t *)&t->handle, on_timer_closed);
    }
    /* A call that does not wait is running now, or about to be resumed: this comes from
     * inside its code (it woke a load that then failed, say). It is left to end by itself,
     * which frees it; freeing it here left its driver to write into freed memory. */
    ls_timer_run *r = vm->timer_runs;
    while (r) {
        if (!r->root.waiter) {
            r = r->next;
            continue;
        }
        unlink_run(vm, r);
        ls_waiter_cancel(r->root.waiter);
        ls_release_all(&r->root.owns);
        /* Still suspended, and never to be resumed: marked as a coroutine that waits below
         * a root, it no longer points at this memory and no Lua code may resume it. */
        if (r->root.co)
            ls_mark_waiting(r->root.co, 1);
        luaL_unref(vm->L, LUA_REGISTRYINDEX, r->co_ref);
        free(r);
        vm->refs--;
        r = vm->timer_runs; /* (the releases ran code that may have changed the list) */
    }
}

/* ------------------------------------------------------------------ the Lua functions */

static void push_fail(lua_State *L, const char *err) {
    lua_pushnil(L);
    lua_pushstring(L, err);
}

/* at(delay, fn, ...) and every(interval, fn, ...) (upvalue 1: the vm) */
static int make_timer(lua_State *L, int every) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    int top = lua_gettop(L);
    if (top < 2)
        return luaL_error(L, "expecting at least 2 arguments but got %d", top);
    lua_Number delay = luaL_checknumber(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    luaL_argcheck(L, delay >= 0, 1, "must be a number >= 0"); /* NaN too */
    luaL_argcheck(L, delay <= MAX_DELAY_S, 1, "too large");
    /* whole milliseconds, never less than asked for (the tiny slack absorbs the rounding of
     * decimal fractions like 0.3 * 1000) */
    uint64_t ms = (uint64_t)ceil(delay * 1000.0 - 1e-6);
    if (every && ms == 0)
        return luaL_error(L, "delay cannot be zero");
    if (exiting(vm) && (every || ms > 0)) {
        push_fail(L, "process exiting");
        return 2;
    }
    if (ls_timers_active() >= max_timers(vm)) {
        push_fail(L, "too many pending timers");
        return 2;
    }
    lua_State *co = lua_newthread(L);
    if (!lua_checkstack(co, top))
        return luaL_error(L, "too many arguments");
    lua_insert(L, 1);           /* co, delay, fn, args... */
    lua_xmove(L, co, top - 1);  /* co: fn, args... */
    lua_pushvalue(L, 1);
    int co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    ls_timer *t = calloc(1, sizeof *t);
    if (!t) {
        luaL_unref(L, LUA_REGISTRYINDEX, co_ref);
        return luaL_error(L, "out of memory");
    }
    t->vm = vm;
    t->co = co;
    t->co_ref = co_ref;
    t->interval_ms = every ? ms : 0;
    uv_timer_init(vm->loop, &t->handle);
    t->handle.data = t;
    /* The loop's time was read when this pass of the loop began, and code may have run
     * since: the time that passed (rounded up) is added, so the timer fires no earlier than
     * asked, without moving the loop's clock (which would let timers made in a timer's call
     * run in the same pass). At least 1 ms, so that a timer made by a timer's call waits for
     * the next pass: libuv 1.44 would run a 0 ms one at once, again and again. */
    uint64_t now = (uv_hrtime() + 999999u) / 1000000u, cached = uv_now(vm->loop);
    uint64_t timeout = ms + (now > cached ? now - cached : 0);
    uv_timer_start(&t->handle, on_due, timeout ? timeout : 1, t->interval_ms);
    link_timer(vm, t);
    vm->refs++;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_at(lua_State *L) { return make_timer(L, 0); }
static int l_every(lua_State *L) { return make_timer(L, 1); }

static int l_running_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)nrunning);
    return 1;
}

static int l_pending_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)npending);
    return 1;
}

/* lunaserve.exiting() (upvalue 1: the vm): true once this code's state is being replaced by a
 * reload or its worker stops, as OpenResty's ngx.worker.exiting(): a loop that waits in a
 * timer (a LISTEN, a subscription) checks it to end in time. */
static int l_exiting(lua_State *L) {
    lua_pushboolean(L, exiting(lua_touserdata(L, lua_upvalueindex(1))));
    return 1;
}

void ls_timer_open(lua_State *L, ls_vm *vm) {
    static const luaL_Reg funcs[] = {{"at", l_at},
                                     {"every", l_every},
                                     {"running_count", l_running_count},
                                     {"pending_count", l_pending_count},
                                     {NULL, NULL}};
    luaL_newlibtable(L, funcs);
    lua_pushlightuserdata(L, vm);
    luaL_setfuncs(L, funcs, 1);
    lua_setfield(L, -2, "timer");
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, l_exiting, 1);
    lua_setfield(L, -2, "exiting");
}
