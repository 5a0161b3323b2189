/* What handler code may spend: CPU time per resume (an instruction-count hook checks a
 * deadline) and memory (the Lua allocator counts the state's bytes and refuses to grow past
 * the limit while handler code runs). */
#include "binding.h"
#include "stats.h"

#include <stdlib.h>

/* One budget is timed at a time (Lua runs on one thread and calls do not overlap across
 * states), so the deadline is process-wide. */
#define BUDGET_HOOK_COUNT 10000
static uint64_t budget_deadline; /* uv_hrtime() value, 0 when no Lua call is timed */
static uint64_t budget_ms;
static int handler_depth; /* >0 while handler or listener code runs */

static void budget_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (budget_deadline && uv_hrtime() > budget_deadline) {
        /* From now on every instruction fails, so a pcall that catches this error cannot
         * keep the loop going: the next instruction after it fails again. */
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
        ls_stat_add(&ls_stats_self->budget_kills, 1);
        luaL_error(L, "handler ran for over %d ms without yielding: stopped", (int)budget_ms);
    }
}

void ls_budget_arm(lua_State *L) { lua_sethook(L, budget_hook, LUA_MASKCOUNT, BUDGET_HOOK_COUNT); }

uint64_t ls_budget_start(ls_vm *vm) {
    uint64_t saved = budget_deadline;
    handler_depth++;
    budget_ms = vm->server ? vm->server->settings.handler_budget_ms : 0;
    vm->mem_limit = vm->server ? vm->server->settings.max_lua_memory : 0;
    budget_deadline = budget_ms ? uv_hrtime() + budget_ms * 1000000u : 0;
    return saved;
}

void ls_budget_end(uint64_t saved) {
    budget_deadline = saved;
    handler_depth--;
}

/* Outside handler code (the binding's own glue) the allocator never refuses, so C never
 * meets an unprotected memory error. */
void *ls_budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    ls_vm *vm = ud;
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        vm->mem -= osize;
        ls_stat_add(&ls_stats_self->lua_memory, -(uint64_t)osize);
        return NULL;
    }
    if (nsize > osize && vm->mem_limit && handler_depth &&
        vm->mem + (nsize - osize) > vm->mem_limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p) {
        vm->mem = vm->mem - osize + nsize;
        ls_stat_add(&ls_stats_self->lua_memory, (uint64_t)nsize - (uint64_t)osize);
    }
    return p;
}
