/* The coroutine driver (see driver.h): the one path that resumes a root, and the chain of
 * coroutines running now. */
#include "binding.h"

/* A thread's extra space says what it is to the driver: NULL (an ordinary coroutine), the
 * ls_root of a root, or &waiting_child for a coroutine suspended inside a wait below a root. */
static const char waiting_child;

static void **tag_of(lua_State *co) { return (void **)lua_getextraspace(co); }

ls_root *ls_root_of(lua_State *co) {
    void *p = *tag_of(co);
    return p == &waiting_child ? NULL : p;
}

void ls_mark_waiting(lua_State *co, int waiting) {
    *tag_of(co) = waiting ? (void *)&waiting_child : NULL;
}

int ls_is_waiting(lua_State *co) {
    void *p = *tag_of(co);
    /* A root only ever stops in a wait: it cannot yield otherwise (coroutines.c). */
    return p == &waiting_child || (p && lua_status(co) == LUA_YIELD);
}

int ls_chain_push(ls_chain *c, lua_State *co, lua_State *parent) {
    if (c->depth == LS_CHAIN_MAX)
        return 0;
    c->link[c->depth].co = co;
    c->link[c->depth].parent = parent;
    c->depth++;
    return 1;
}

void ls_chain_pop(ls_chain *c) { c->depth--; }

ls_root *ls_chain_root(lua_State *L, const char *call) {
    ls_chain *c = &ls_vm_of(L)->chain;
    int i = c->depth - 1;
    /* L must be the innermost running coroutine, and each link must have been resumed by the
     * one below it, down to a root: a coroutine made in a listener or at load time runs
     * over the main thread, which no event can resume. */
    if (i < 0 || c->link[i].co != L)
        goto outside;
    for (;; i--) {
        lua_State *co = c->link[i].co;
        if (!lua_isyieldable(co))
            luaL_error(L,
                       "%s cannot wait here: a C function that cannot yield is in the way "
                       "(a metamethod, or a callback such as table.sort's)",
                       call);
        if (!c->link[i].parent)
            return ls_root_of(co);
        if (i == 0 || c->link[i - 1].co != c->link[i].parent)
            goto outside;
    }
outside:
    luaL_error(L, "%s must run inside a request handler or a coroutine it created (it waits)",
               call);
    return NULL;
}

void ls_own(ls_owned **owner, ls_owned *o) {
    o->next = *owner;
    if (o->next)
        o->next->pprev = &o->next;
    o->pprev = owner;
    *owner = o;
}

void ls_disown(ls_owned *o) {
    if (!o->pprev)
        return;
    *o->pprev = o->next;
    if (o->next)
        o->next->pprev = o->pprev;
    o->next = NULL;
    o->pprev = NULL;
}

void ls_release_all(ls_owned **owner) {
    while (*owner) {
        ls_owned *o = *owner;
        ls_disown(o);
        o->release(o);
    }
}

ls_owned **ls_owner_of(lua_State *L) {
    ls_vm *vm = ls_vm_of(L);
    ls_chain *c = &vm->chain;
    int i = c->depth - 1;
    if (i < 0 || c->link[i].co != L)
        return &vm->owns;
    for (; c->link[i].parent; i--)
        if (i == 0 || c->link[i - 1].co != c->link[i].parent)
            return &vm->owns;
    ls_root *root = ls_root_of(c->link[i].co);
    /* What the app's load connects is the state's: handlers may use it until a reload. */
    return root && root != &vm->load_root ? &root->owns : &vm->owns;
}

/* Resumes the root's coroutine and settles what follows: suspended in a wait, returned, or
 * failed. Every resume of a root goes through here. */
static void drive(ls_root *root, int nargs) {
    ls_vm *vm = root->vm;
    lua_State *L = vm->L, *co = root->co;
    int nres;
    ls_budget_arm(co);
    int linked = ls_chain_push(&vm->chain, co, NULL);
    uint64_t saved = ls_budget_start(vm);
    int st = lua_resume(co, L, nargs, &nres);
    ls_budget_end(saved);
    if (linked)
        ls_chain_pop(&vm->chain);
    if (st == LUA_YIELD && root->waiter && ls_wait_yielded(co, nres)) {
        lua_pop(co, nres); /* suspended until the waiter's event */
    } else {
        const char *error = NULL;
        if (st == LUA_YIELD) { /* cannot happen: a root yields only to wait */
            lua_pop(co, nres);
            error = lua_pushliteral(L, "the handler's coroutine yielded outside a wait");
        } else if (st != LUA_OK) {
            const char *msg = lua_tostring(co, -1);
            luaL_traceback(L, co, msg ? msg : "(error object is not a string)", 0);
            error = lua_tostring(L, -1);
        }
        lua_settop(co, 0);
        *tag_of(co) = NULL;
        root->co = NULL;
        root->waiter = NULL;
        int was_failing = vm->failing;
        vm->failing = error != NULL; /* a release may say so (a WebSocket closes with 1011) */
        ls_release_all(&root->owns);
        vm->failing = was_failing;
        root->done(root, co, error);
        if (error)
            lua_pop(L, 1);
    }
    /* What the code queued (a finish, a write) goes out now. Inside a core callback the
     * core does this itself once the callback returns, and doing it here could advance the
     * very connection that called. */
    if (!vm->core_calls && vm->server)
        ls_server_run_pending(vm->server);
}

void ls_root_start(ls_root *root, lua_State *co, int nargs) {
    root->co = co;
    root->waiter = NULL;
    root->owns = NULL;
    *tag_of(co) = root;
    drive(root, nargs);
}

void ls_root_resume(ls_root *root, int nargs) { drive(root, nargs); }
