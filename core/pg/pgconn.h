/* A PostgreSQL connection on the event loop: libpq's asynchronous API (PQconnectPoll,
 * PQsendQueryParams, PQconsumeInput, PQgetResult) driven by a poll handle on the
 * connection's socket, so that nothing waits for the server inside the loop.
 *
 * - A connect resolves the server's name through the client's resolver first (libpq would
 *   call getaddrinfo itself, blocking), then lets libpq step through its handshake.
 * - One operation at a time: a connect, a query, or a wait for a notification. Each ends
 *   with its callback, from the loop, never from inside the call that started it.
 * - A query that outlives its timeout is cancelled: PQcancel blocks while it connects, so it
 *   runs in libuv's thread pool. The query's callback gets LS_PG_TIMEOUT at once; the
 *   connection then drains what the server still sends for the cancelled query, and a query
 *   asked for meanwhile is held and sent when the drain ends (its timeout runs from when it
 *   was asked for).
 * - An open connection watches its socket for input all along: what the server sends
 *   between queries is read into libpq at once, and its closing is noticed.
 * - A connection handed to a pool is "parked": it also has an idle timeout, and tells its
 *   pool through lost() when it breaks or that time ends. */
#ifndef LS_PGCONN_H
#define LS_PGCONN_H

#include "resolver.h"

#include "libpq.h"
#include <stdint.h>
#include <uv.h>

/* How an operation ended. */
enum {
    LS_PG_OK = 0,
    LS_PG_ERROR = -1,   /* the server refused it: the result (or the message) says why */
    LS_PG_TIMEOUT = -2, /* its timeout ran out */
    LS_PG_CLOSED = -3,  /* the connection broke or was never made: ls_pgconn_error says why */
};

enum {
    LS_PGCONN_RESOLVING,
    LS_PGCONN_CONNECTING,
    LS_PGCONN_IDLE,
    LS_PGCONN_QUERY,     /* a query's results arrive */
    LS_PGCONN_DRAINING,  /* a cancelled query's results arrive, to be dropped */
    LS_PGCONN_WAITING,   /* waits for a notification */
    LS_PGCONN_DEAD,      /* broken: only ls_pgconn_close remains */
};

typedef struct ls_pgconn ls_pgconn;
typedef void (*ls_pgconn_fn)(ls_pgconn *c, int status);

struct ls_pgconn {
    PGconn *pg;
    uv_loop_t *loop;
    struct ls_pg_poll *poll;   /* on the socket, while libpq has one */
    struct ls_pg_timer *timer; /* the operation's timeout, or a parked connection's idle */
    int fd;
    int state;
    int watching;        /* the poll's events */
    ls_pgconn_fn done;   /* the operation in progress' callback */
    void *data;          /* the owner's */
    PGresult *result;    /* a query's outcome: its last result, or its first error */
    PGnotify *notify;    /* a wait's notification (the taker frees it with PQfreemem) */
    char *error;         /* why the connection failed, when no result says it */
    struct ls_pg_held *held;  /* a query asked for while draining */
    struct ls_pg_cancel *cancel; /* the cancel request in the thread pool */
    uint64_t op_ms;           /* the operation's timeout (a drain may take as long) */
    ls_lookup *lookup;        /* the name lookup in flight */
    ls_addrs *addrs;          /* the name's addresses, known at once (the cache) */
    char **keys, **vals;      /* the connect's parameters, until libpq has them */
    /* parked (in a pool): lost() runs when it breaks or its idle time ends */
    void (*lost)(ls_pgconn *c);
    uint64_t idle_ms;
    ls_pgconn *next, *prev; /* the pool's idle list */
    unsigned parked : 1;
    unsigned deferred : 1; /* the connect starts on the loop's next turn */
    unsigned drained : 1;  /* a cancelled query's results ended */
    unsigned failed : 1;   /* the connect failed before it started (c->error says why) */
};

/* Starts connecting with libpq's parameters (NULL-terminated arrays; "dbname" may be a whole
 * URL or keyword string, which is expanded), within timeout_ms (0: none). Returns the
 * connection, whose done(c, status) follows; or NULL with a message in err (bad parameters,
 * out of memory). */
ls_pgconn *ls_pgconn_connect(uv_loop_t *loop, ls_resolver *resolver, const char *const *keys,
                             const char *const *vals, uint64_t timeout_ms, ls_pgconn_fn done,
                             void *data, char *err, size_t errlen);

/* Sends a query: with nparams >= 0 one statement with its parameters sent apart (values[i]
 * NULL: SQL NULL; formats[i] 1: binary, with lengths[i]), with nparams < 0 a script of
 * statements without parameters. Results are text. 0: done() follows; -1: it could not be
 * sent (the connection is not idle, or broke: ls_pgconn_error says why). */
int ls_pgconn_query(ls_pgconn *c, const char *sql, int nparams, const char *const *values,
                    const int *lengths, const int *formats, uint64_t timeout_ms,
                    ls_pgconn_fn done);
/* The query's result, handed over (the caller PQclears it); NULL when there is none. */
PGresult *ls_pgconn_take_result(ls_pgconn *c);

/* A notification already received, or NULL (reads what the socket has, without waiting). The
 * caller frees it with PQfreemem. */
PGnotify *ls_pgconn_notification(ls_pgconn *c);
/* Waits for the next notification, for at most timeout_ms (0: no limit); done(c, 0) when it
 * came (take it from c->notify). -1 when the connection is not idle. */
int ls_pgconn_wait_notify(ls_pgconn *c, uint64_t timeout_ms, ls_pgconn_fn done);

/* Whether the connection can serve a next user as it is: idle (or draining a cancelled
 * query), no transaction open, not broken. */
int ls_pgconn_reusable(const ls_pgconn *c);
/* Parks an idle connection for a pool (see above); idle_ms 0: no limit. */
void ls_pgconn_park(ls_pgconn *c, uint64_t idle_ms, void (*lost)(ls_pgconn *c));
void ls_pgconn_unpark(ls_pgconn *c);

/* Why the connection failed (a line of text, never NULL). */
const char *ls_pgconn_error(const ls_pgconn *c);
/* Closes the connection (no callback follows) and frees it. A query still running on the
 * server is cancelled (from the thread pool, as on a timeout). */
void ls_pgconn_close(ls_pgconn *c);

/* Connections open now (in this process), for tests of leaks. */
size_t ls_pgconn_open_count(void);

#endif
