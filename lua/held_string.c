#include "held_string.h"

#include <stdlib.h>

typedef struct {
    ls_vm *vm;
    int ref;
} held;

static void release_held(void *ctx) {
    held *h = ctx;
    luaL_unref(h->vm->L, LUA_REGISTRYINDEX, h->ref);
    ls_vm_unref(h->vm);
    free(h);
}

int ls_hold_string(lua_State *L, int idx, ls_vm *vm, ls_release_fn *release, void **ctx) {
    held *h = malloc(sizeof *h);
    if (!h)
        return -1;
    lua_pushvalue(L, idx);
    h->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    h->vm = vm;
    vm->refs++;
    *release = release_held;
    *ctx = h;
    return 0;
}
