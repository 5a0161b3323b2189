/* lunaserve.sleep(ms) suspends the calling coroutine on a libuv timer, so a handler can wait
 * without blocking the loop. */
#include "binding.h"

#include <stdlib.h>

typedef struct ls_sleep {
    uv_timer_t timer;
    ls_vm *vm;
    ls_waiter waiter;
    struct ls_sleep *prev, *next;
} ls_sleep;

static void unlink_sleep(ls_sleep *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        s->vm->sleeps = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void on_sleep_closed(uv_handle_t *h) {
    ls_sleep *s = h->data;
    ls_vm *vm = s->vm;
    free(s);
    ls_vm_unref(vm);
}

static void on_sleep_done(uv_timer_t *t) {
    ls_sleep *s = t->data;
    unlink_sleep(s);
    uv_close((uv_handle_t *)t, on_sleep_closed);
    ls_wake(&s->waiter, NULL, NULL);
}

/* lunaserve.sleep(ms) (upvalue 1: the vm) */
int ls_l_sleep(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    lua_Number ms = luaL_checknumber(L, 1);
    luaL_argcheck(L, ms >= 0, 1, "must not be negative");
    ls_wait_check(L, "lunaserve.sleep()");
    ls_sleep *s = calloc(1, sizeof *s);
    if (!s)
        return luaL_error(L, "out of memory");
    s->vm = vm;
    vm->refs++;
    uv_timer_init(vm->loop, &s->timer);
    s->timer.data = s;
    /* At least 1 ms: libuv runs a 0 ms timer started from a timer callback in the same pass,
     * so a loop of sleep(0) calls would never let the loop reach the network. The loop's
     * clock is read first: its cached time is from the start of this loop turn, and a timer
     * counted from it could end before `ms` have passed since this call. */
    uv_update_time(vm->loop);
    uv_timer_start(&s->timer, on_sleep_done, ms < 1 ? 1 : (uint64_t)ms, 0);
    s->next = vm->sleeps;
    if (vm->sleeps)
        vm->sleeps->prev = s;
    vm->sleeps = s;
    return ls_wait(L, &s->waiter, "lunaserve.sleep()");
}

void ls_sleep_close_all(ls_vm *vm) {
    while (vm->sleeps) {
        ls_sleep *s = vm->sleeps;
        unlink_sleep(s);
        ls_waiter_cancel(&s->waiter);
        uv_close((uv_handle_t *)&s->timer, on_sleep_closed);
    }
}
