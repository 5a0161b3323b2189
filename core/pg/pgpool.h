/* A pool of PostgreSQL connections for one loop: at most `size` live connections to one
 * server; a user past that waits in line (at most `backlog` of them, each for at most
 * `wait_ms`) until a connection comes back or room frees. A connection comes back into the
 * pool only when it is idle (no transaction open, no result pending, not broken); any other
 * is closed. Idle connections watch their socket and leave the pool when the server closes
 * them or when they have been idle for `idle_ms`.
 *
 * Everything the pool tells its users comes from the loop, never from inside their call. */
#ifndef LS_PGPOOL_H
#define LS_PGPOOL_H

#include "pgconn.h"

#include <stddef.h>

typedef struct ls_pgpool ls_pgpool;
typedef struct ls_pgpool_waiter ls_pgpool_waiter;

typedef struct ls_pgpool_config {
    size_t size;         /* live connections at most (> 0) */
    size_t backlog;      /* users waiting in line at most */
    uint64_t connect_ms; /* a connect's timeout (0: none) */
    uint64_t wait_ms;    /* a wait in line (0: none) */
    uint64_t idle_ms;    /* an idle connection's time in the pool (0: no limit) */
} ls_pgpool_config;

/* A user waiting for a connection. got() runs once: with a connection (now the user's, still
 * counted in the pool: give it back with ls_pgpool_release) and LS_PG_OK, or with NULL and
 * LS_PG_TIMEOUT (nothing came in time) or LS_PG_CLOSED (the connect failed, or the pool
 * closed: err says why). */
struct ls_pgpool_waiter {
    ls_pgpool_waiter *next, *prev;
    ls_pgpool *pool;
    ls_pgconn *conn;  /* the connect made for it */
    uint64_t until;   /* loop time its wait in line ends */
    int where;        /* 0: nowhere, 1: in line, 2: connecting */
    void (*got)(ls_pgpool_waiter *w, ls_pgconn *c, int status, const char *err);
};

/* A pool for the connection parameters (copied; as for ls_pgconn_connect). NULL: out of
 * memory. */
ls_pgpool *ls_pgpool_new(uv_loop_t *loop, ls_resolver *resolver, const char *const *keys,
                         const char *const *vals, const ls_pgpool_config *cfg);
/* Asks for a connection: 1 with *out set (an idle one, at once), 0 when w->got() will tell,
 * -1 with a message in err (the line is full, or the pool is closed). */
int ls_pgpool_acquire(ls_pgpool *p, ls_pgpool_waiter *w, ls_pgconn **out, char *err,
                      size_t errlen);
/* The user gives up waiting (got() will not run). */
void ls_pgpool_cancel(ls_pgpool_waiter *w);
/* Gives a connection back: kept if the user lets it be reused and it is reusable
 * (ls_pgconn_reusable), else closed. */
void ls_pgpool_release(ls_pgpool *p, ls_pgconn *c, int reusable);
/* Closes the idle connections; the users in line get LS_PG_CLOSED now. Connections still in
 * use are closed when they come back; the pool is freed after the last one. */
void ls_pgpool_close(ls_pgpool *p);

typedef struct ls_pgpool_stats {
    size_t live, idle, waiting;
} ls_pgpool_stats;
void ls_pgpool_get_stats(const ls_pgpool *p, ls_pgpool_stats *s);

#endif
