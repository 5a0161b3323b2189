/* What the outbound connections of one event loop share: the transports' io state, the
 * name resolver, the connection pools and their deadline kinds. The server embeds one (its
 * workers' handlers, timers and library clients all use it). */
#ifndef LS_CLIENT_H
#define LS_CLIENT_H

#include "resolver.h"
#include "transport.h"

typedef struct ls_client {
    ls_io *io;
    ls_resolver resolver;
    unsigned kind_read;  /* a receive waits for input */
    unsigned kind_write; /* a connect or a send waits */
    unsigned kind_idle;  /* a pooled connection waits to be reused */
    struct ls_connpool *pools; /* most recently used first */
    struct ls_connpool_waiter *ready; /* waiters whose pool has room, told on the next turn */
    uv_idle_t idle;               /* runs them */
    int stopping;                 /* the server stops: no new connections */
} ls_client;

/* Registers the deadline kinds on io; cache_ms: how long a resolved name is reused. */
void ls_client_init(ls_client *c, ls_io *io, uint64_t cache_ms);
/* Closes every pooled connection and the client's handle (the process stops); cb runs once
 * for the handle, with data. */
void ls_client_close(ls_client *c, uv_close_cb cb, void *data);
/* Frees what is left once the loop has ended. */
void ls_client_free(ls_client *c);

#endif
