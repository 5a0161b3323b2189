/* The Lua state: one per loaded app (a reload makes a new one), with the libraries, the
 * binding's types and the `lunaserve` module in it. */
#include "binding.h"
#include "modules.h"

#include <lualib.h>
#include <stdlib.h>

/* package.preload's loader of a built-in module (upvalue: its ls_lua_module). */
static int load_module(lua_State *L) {
    const ls_lua_module *m = lua_touserdata(L, lua_upvalueindex(1));
    if (luaL_loadbuffer(L, m->source, m->len, m->chunkname) != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, m->name);
    lua_call(L, 1, 1);
    return 1;
}

static void preload_modules(lua_State *L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const ls_lua_module *m = ls_lua_modules; m->name; m++) {
        lua_pushlightuserdata(L, (void *)m);
        lua_pushcclosure(L, load_module, 1);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
}

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
    *(void **)lua_getextraspace(L) = NULL; /* new threads copy it: not a root (driver.c) */
    luaL_openlibs(L);
    ls_coroutines_open(L);
    /* Incremental, a cycle once the heap is 1.3x what the last one kept: per-request
     * garbage is reclaimed steadily, so memory follows the live connections. (Lua's
     * generational mode let it pile up to twice the live heap here: 0.2 KiB more for each
     * idle keep-alive connection, at no gain in speed.) An app may choose otherwise with
     * collectgarbage(). */
    lua_gc(L, LUA_GCINC, 130, 200, 0);
    ls_budget_arm(L); /* threads inherit it */
    ls_req_open(L);
    ls_res_open(L);
    ls_file_open(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, ls_open_lunaserve, 1);
    lua_setfield(L, -2, "lunaserve");
    lua_pop(L, 1);
    preload_modules(L);
    ls_http_parser_preload(L);
    ls_crypto_preload(L);
    ls_metrics_preload(L);
    ls_pg_preload(L);
    ls_websocket_preload(L, vm);
    ls_lifecycle_open(L, vm);
    vm->handler_ref = vm->app_ref = LUA_NOREF;
    return vm;
}

void ls_vm_free(ls_vm *vm) {
    if (!vm)
        return;
    ls_release_all(&vm->load_root.owns); /* a load still waiting */
    ls_release_all(&vm->owns);
    lua_close(vm->L);
    free(vm);
}

void ls_vm_unref(ls_vm *vm) {
    if (--vm->refs == 0 && vm->retired && vm->host)
        ls_host_collect_soon(vm->host);
}

void ls_vm_collect_soon(ls_vm *vm) {
    if (vm->host)
        ls_host_gc_soon(vm->host);
}

/* The allocator's user data is the vm (ls_vm_new), so any thread leads back to it. */
ls_vm *ls_vm_of(lua_State *L) {
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}
