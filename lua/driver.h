/* The coroutine driver: runs the coroutines that C starts (roots: a request's handler) and
 * keeps the chain of coroutines running now (the root, then each coroutine resumed from the
 * one before it), so that a wait deep inside coroutines the handler created can suspend the
 * whole chain and the event that ends the wait can resume it. */
#ifndef LS_DRIVER_H
#define LS_DRIVER_H

#include <lua.h>

typedef struct ls_vm ls_vm;
typedef struct ls_waiter ls_waiter;
typedef struct ls_root ls_root;

/* Something Lua code owns that must not outlive its owner (an outbound socket, a database
 * connection): the root whose chain made it, or the state itself for what the app's load
 * made. When the owner ends, release() closes it (or lets it go back to its pool). */
typedef struct ls_owned {
    struct ls_owned *next, **pprev; /* pprev NULL: owned by nobody */
    void (*release)(struct ls_owned *o); /* o is unlinked already */
} ls_owned;

void ls_own(ls_owned **owner, ls_owned *o);
void ls_disown(ls_owned *o);
/* Releases everything on the list, including what a release adds while it runs. */
void ls_release_all(ls_owned **owner);

/* A coroutine that C starts and resumes. Its owner keeps the coroutine referenced for as
 * long as it lives and embeds this struct. */
struct ls_root {
    ls_vm *vm;
    lua_State *co;     /* the coroutine, NULL once it has ended */
    ls_waiter *waiter; /* the wait it is suspended in, NULL while it runs */
    ls_owned *owns;    /* released when the coroutine ends, before done() */
    /* The coroutine returned (error NULL) or failed (error: the message with a traceback,
     * valid during the call). co is settled (empty stack) and no longer a root. */
    void (*done)(ls_root *root, lua_State *co, const char *error);
};

/* The coroutines running now, innermost last. Nesting is bounded by Lua's C stack limit
 * (about 200 resumes deep), below LS_CHAIN_MAX. */
#define LS_CHAIN_MAX 256
typedef struct ls_chain {
    struct {
        lua_State *co;
        lua_State *parent; /* the coroutine that resumed co; NULL for a root */
    } link[LS_CHAIN_MAX];
    int depth;
} ls_chain;

/* Makes co (with a function and nargs arguments on its stack) the root's coroutine and runs
 * it until it waits, returns or fails. */
void ls_root_start(ls_root *root, lua_State *co, int nargs);
/* Resumes a root suspended in a wait with nargs values pushed on its stack. After the
 * resume, the server's deferred work runs (unless a core callback is in progress: the core
 * runs it when that returns). */
void ls_root_resume(ls_root *root, int nargs);
/* What a socket or connection made now by L belongs to: the root of the running chain (a
 * handler, a timer), else (the app's load, a listener) the state. */
ls_owned **ls_owner_of(lua_State *L);
/* The root whose coroutine co is, or NULL. */
ls_root *ls_root_of(lua_State *co);

/* Records that co runs now, resumed by parent. Returns 0 when the chain is full (co is then
 * not recorded and must not be popped). */
int ls_chain_push(ls_chain *c, lua_State *co, lua_State *parent);
void ls_chain_pop(ls_chain *c);
/* The root that a wait in the running coroutine L would suspend. Raises an error naming
 * `call` when L cannot wait: no request handler under it (a listener, load time), or a
 * C function in the way that cannot yield. */
ls_root *ls_chain_root(lua_State *L, const char *call);

/* Marks a coroutine that a wait suspended below a root (so that nothing else resumes it), or
 * clears the mark before its parent resumes it. */
void ls_mark_waiting(lua_State *co, int waiting);
/* co is suspended in a wait (a marked coroutine, or a suspended root). */
int ls_is_waiting(lua_State *co);

#endif
