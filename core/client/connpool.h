/* Connection pools: idle outbound connections kept for reuse, keyed by "host:port" or a name
 * the caller gives, each pool bounded. An idle connection that receives anything (data the
 * caller never asked for, or the peer's FIN) is closed at once, and so is one idle for
 * longer than its keep-alive time.
 *
 * A pool also counts the live connections made under its key. With a backlog, that count
 * is bounded too: a connect past it waits in line (at most `backlog` waiters) until a
 * connection of the pool is closed or put back. */
#ifndef LS_CONNPOOL_H
#define LS_CONNPOOL_H

#include "client.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ls_connpool ls_connpool;
typedef struct ls_connpool_waiter ls_connpool_waiter;

/* A connect waiting for room in its pool: ready(w) runs once there is (the waiter is
 * unlinked; the caller then takes an idle connection or counts a new one). */
struct ls_connpool_waiter {
    ls_connpool_waiter *next, *prev;
    ls_connpool *pool;
    int where; /* 0: nowhere, 1: in its pool's line, 2: told, ready() on the next turn */
    void (*ready)(ls_connpool_waiter *w);
};

/* The pool of key, made if there is none (NULL: out of memory). */
ls_connpool *ls_connpool_get(ls_client *c, const char *key);
/* An idle connection of the pool, taken out of it (the caller sets its protocol), and how
 * many times it was reused before; NULL when none. */
ls_transport *ls_connpool_take(ls_connpool *p, unsigned *reused);
/* Puts an idle connection into the pool for at most idle_ms (0: no limit), keeping at most
 * size idle ones (the oldest goes). Its input must be empty. 0, or -1 when the pool cannot
 * take it (the caller closes it). */
int ls_connpool_put(ls_connpool *p, ls_transport *t, unsigned reused, uint64_t idle_ms, size_t size);

/* Live connections counted under the pool (connecting, busy or idle). */
void ls_connpool_count(ls_connpool *p, int delta);
size_t ls_connpool_live(const ls_connpool *p);
/* Waits for room in the pool: 0, or -1 when `backlog` waiters wait already. */
int ls_connpool_wait(ls_connpool *p, ls_connpool_waiter *w, size_t backlog);
/* Stops waiting (a timeout, a close); room it was told of goes to the next in line. */
void ls_connpool_unwait(ls_connpool_waiter *w);

/* The deadline kind of idle connections (for ls_client_init). */
unsigned ls_connpool_idle_kind(ls_deadlines *q);

#endif
