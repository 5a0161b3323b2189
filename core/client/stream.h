/* An outbound stream connection (what lunaserve.tcp() is in C): connect by name or address,
 * in a pool when one has an idle connection for the key; input gathered on a transport for
 * the caller to take apart; output queued and sent with a timeout; back into the pool or
 * closed.
 *
 * Timeouts run on the io's deadline timer: one for input (between two arrivals of data,
 * while a reader waits), one for a connect (name lookup and a wait for room in the pool
 * included) or a send (between two bits of progress). A read timeout leaves the stream
 * usable; every other failure closes it.
 *
 * Events come from the loop, never from inside a call the caller made. */
#ifndef LS_STREAM_H
#define LS_STREAM_H

#include "client.h"
#include "connpool.h"

/* Errors that are not libuv's. */
#define LS_EBACKLOG (-200001) /* too many connects wait for room in the pool */

typedef struct ls_stream ls_stream;

typedef struct ls_stream_events {
    /* A connect that returned 0 ended: 0, or an error (the stream is closed). */
    void (*connected)(ls_stream *s, int err);
    /* For a waiting reader (ls_stream_want): 0 more input, UV_EOF the peer's end, or an
     * error (the stream stays as it is: the caller closes it), or UV_ETIMEDOUT (the read
     * timeout: the reader no longer waits, the stream stays usable). */
    void (*input)(ls_stream *s, int status);
    /* A send that returned 0 ended: 0 (the kernel took it all) or an error (closed). */
    void (*sent)(ls_stream *s, int err);
    /* The connection closed under the stream (a write failed): its input went with it.
     * Not called for ls_stream_close. */
    void (*closed)(ls_stream *s);
} ls_stream_events;

enum {
    LS_STREAM_NONE,       /* no connection */
    LS_STREAM_QUEUED,     /* waits for room in its pool */
    LS_STREAM_RESOLVING,  /* waits for the name's addresses */
    LS_STREAM_CONNECTING, /* waits for the connect */
    LS_STREAM_OPEN,
};

struct ls_stream {
    ls_client *client;
    const ls_stream_events *ev;
    void *ctx;
    ls_transport *t;        /* the connection while there is one */
    ls_connpool *pool;          /* the pool it counts in, while it connects or is connected */
    ls_connpool_waiter waiter;  /* in the pool's line, while queued */
    ls_lookup *lookup;      /* the name lookup in flight */
    ls_addrs *addrs;        /* the addresses left to try, while connecting */
    int next_addr;
    int port;
    char *host;             /* while queued or resolving */
    ls_deadline rd, wr;     /* input; connect or send */
    uint64_t connect_ms, send_ms, read_ms;
    size_t off;             /* input taken from the front of t->in */
    int rerr;               /* why input ended (UV_EOF or an error), once it has */
    unsigned reused;        /* times the connection came out of a pool */
    unsigned state : 3;
    unsigned want : 1;      /* a reader waits for more input */
    unsigned sending : 1;   /* a send waits for the kernel */
};

/* Registers the stream's deadline kinds (ls_client_init calls it). */
void ls_stream_kinds(ls_client *c);

void ls_stream_init(ls_stream *s, ls_client *c, const ls_stream_events *ev, void *ctx);
/* Connects to host:port (or the Unix socket at path when port < 0), through the pool of key:
 * an idle connection there is taken at once. With backlog > 0 at most pool_size live
 * connections are made under key, and a connect past that waits in line. Returns 1 when
 * connected now, 0 when `connected` will tell, or an error. */
int ls_stream_connect(ls_stream *s, const char *host, int port, const char *key,
                      size_t pool_size, size_t backlog);
/* Input not yet taken. */
static inline const char *ls_stream_data(const ls_stream *s, size_t *len) {
    *len = s->t ? s->t->in_len - s->off : 0;
    return s->t ? s->t->in + s->off : NULL;
}
void ls_stream_consume(ls_stream *s, size_t n);
/* A reader waits for more input (`input` tells), or no longer does. */
void ls_stream_want(ls_stream *s);
void ls_stream_unwant(ls_stream *s);
/* The output queue to append to, then ls_stream_send. NULL when not connected. */
static inline ls_outq *ls_stream_outq(ls_stream *s) { return s->t ? &s->t->out : NULL; }
/* Sends what is queued: 1 when the kernel took it all now, 0 when `sent` will tell, or an
 * error (closed). */
int ls_stream_send(ls_stream *s);
/* Puts the connection into its pool for idle_ms, keeping at most size idle there. 0, or an
 * error: UV_EBUSY (a send or a read in progress), UV_EAGAIN (unread input: refused, the
 * stream stays as it is), UV_ENOTCONN. */
int ls_stream_keepalive(ls_stream *s, uint64_t idle_ms, size_t size);
/* Closes the connection, or stops connecting (reset: RST when input was left unread). No
 * event comes for it afterwards: the stream may be connected again, or freed, at once. */
void ls_stream_close(ls_stream *s, int reset);

#endif
