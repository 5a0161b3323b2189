/* Waits: a C function suspends the coroutine chain it runs in by yielding a private token;
 * each resumer between it and the root passes the token upward (coroutines.c), the driver
 * sees it arrive at the root, and the event resumes the root with its values, which travel
 * back down the chain (see waiter.h). */
#include "binding.h"

/* The token a wait yields: a light userdata no Lua code can make or see. */
static const char wait_token;

void ls_push_wait_token(lua_State *L) { lua_pushlightuserdata(L, (void *)&wait_token); }

int ls_wait_yielded(lua_State *co, int nres) {
    return nres == 1 && lua_touserdata(co, -1) == &wait_token;
}

void ls_wait_check(lua_State *L, const char *call) { (void)ls_chain_root(L, call); }

int ls_wait(lua_State *L, ls_waiter *w, const char *call) {
    ls_root *root = ls_chain_root(L, call);
    if (w->root || root->waiter)
        return luaL_error(L, "%s: something already waits here", call);
    w->root = root;
    root->waiter = w;
    ls_push_wait_token(L);
    return lua_yield(L, 1);
}

ls_root *ls_wait_take(ls_waiter *w) {
    ls_root *root = w->root;
    if (root) {
        w->root = NULL;
        root->waiter = NULL;
    }
    return root;
}

void ls_wake(ls_waiter *w, ls_push_fn push, void *ctx) {
    ls_root *root = ls_wait_take(w);
    if (root)
        ls_root_wake(root, push, ctx);
}

void ls_root_wake(ls_root *root, ls_push_fn push, void *ctx) {
    /* The values go onto the root's stack: each resumer in the chain hands them to the
     * coroutine it resumed, down to the one whose call waited. */
    lua_State *co = root->co;
    int top = lua_gettop(co);
    if (push) {
        lua_checkstack(co, 8);
        push(co, ctx);
    }
    ls_root_resume(root, lua_gettop(co) - top);
}

void ls_waiter_cancel(ls_waiter *w) {
    if (!w->root)
        return;
    w->root->waiter = NULL;
    w->root = NULL;
}
