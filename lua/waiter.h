/* A waiter: how a C event suspends Lua code and resumes it with values. A C object embeds one
 * per thing that can be awaited (a request's body, a drain, a timer; later a socket read or
 * write, a DNS answer, a database reply). A Lua function that must wait returns
 * ls_wait(L, &obj->waiter, "obj:call()"); the event calls ls_wake(&obj->waiter, push, ctx),
 * and the waiting call returns what push left on the stack.
 *
 * A wait may happen in the handler or in any coroutine it created (coroutine.resume or
 * coroutine.wrap, nested): the whole chain up to the handler is suspended and resumed in
 * order, so each coroutine in it sees plain calls and returns. */
#ifndef LS_WAITER_H
#define LS_WAITER_H

#include "driver.h"

struct ls_waiter {
    ls_root *root; /* the root suspended in this wait, NULL when nothing waits */
};

/* Pushes the values a waiting call returns onto L. */
typedef void (*ls_push_fn)(lua_State *L, void *ctx);

static inline int ls_waiting(const ls_waiter *w) { return w->root != NULL; }

/* Raises an error naming `call` unless the running coroutine L may wait now (a C function
 * calls this before it sets up what the event needs, so an error leaves nothing behind). */
void ls_wait_check(lua_State *L, const char *call);
/* Suspends L until ls_wake(w). Must be the C function's return expression, with nothing
 * waiting on w. Raises as ls_wait_check does. */
int ls_wait(lua_State *L, ls_waiter *w, const char *call);
/* Resumes what waits on w (nothing if nothing does); the waiting call returns the values
 * push(L, ctx) pushes (none if push is NULL). */
void ls_wake(ls_waiter *w, ls_push_fn push, void *ctx);
/* ls_wake in two steps, to end two waits of one object in a row: ls_wait_take takes the
 * root off w (NULL if nothing waits) without resuming it, ls_root_wake resumes it as ls_wake
 * would. Take both first: the first root's code may free the object (its socket collected),
 * and a root taken off its wait can be neither resumed nor abandoned by anything else. */
ls_root *ls_wait_take(ls_waiter *w);
void ls_root_wake(ls_root *root, ls_push_fn push, void *ctx);
/* Forgets the wait without resuming it (the server stops): the suspended coroutines stay
 * suspended and are collected with the state. */
void ls_waiter_cancel(ls_waiter *w);

/* Whether a coroutine's yield (nres values on top of co) is a wait, which its resumer must
 * pass upward rather than return. */
int ls_wait_yielded(lua_State *co, int nres);
/* Pushes the value a wait yields, for a resumer passing the wait upward. */
void ls_push_wait_token(lua_State *L);

#endif
