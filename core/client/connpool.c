#include "connpool.h"
#include "stats.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

/* An idle connection in a pool. */
typedef struct ls_idle {
    struct ls_idle *next, *prev; /* most recently put first */
    ls_connpool *pool;
    ls_transport *t;
    unsigned reused;
    ls_deadline deadline; /* its keep-alive time */
} ls_idle;

struct ls_connpool {
    ls_connpool *next;
    ls_client *client;
    ls_idle *idle, *oldest;
    size_t nidle;
    size_t live;
    ls_connpool_waiter *waiters, *last_waiter; /* first come, first served */
    size_t nwaiters;
    char key[];
};

/* ---------------------------------------------------------------- the client */

static void idle_unlink(ls_idle *e) {
    ls_connpool *p = e->pool;
    if (e->prev)
        e->prev->next = e->next;
    else
        p->idle = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        p->oldest = e->prev;
    e->next = e->prev = NULL;
    p->nidle--;
    ls_stat_gauge_add(&ls_stats_self->tcp_pool_idle, -1);
    ls_deadline_clear(&e->deadline);
}

void ls_client_close(ls_client *c, uv_close_cb cb, void *data) {
    for (ls_connpool *p = c->pools; p; p = p->next)
        while (p->idle) {
            ls_idle *e = p->idle;
            idle_unlink(e);
            ls_transport_close(e->t, LS_CLOSE_SHUTDOWN, 0);
        }
    c->idle.data = data;
    if (!uv_is_closing((uv_handle_t *)&c->idle))
        uv_close((uv_handle_t *)&c->idle, cb);
}

void ls_client_free(ls_client *c) {
    while (c->pools) {
        ls_connpool *p = c->pools;
        c->pools = p->next;
        free(p);
    }
    ls_resolver_free(&c->resolver);
}

/* ---------------------------------------------------------------- waiters */

static void unlink_waiter(ls_connpool_waiter **head, ls_connpool_waiter **tail, ls_connpool_waiter *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        *head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else if (tail)
        *tail = w->prev;
    w->next = w->prev = NULL;
}

static void on_idle(uv_idle_t *h) {
    ls_client *c = h->data;
    while (c->ready) {
        ls_connpool_waiter *w = c->ready;
        unlink_waiter(&c->ready, NULL, w);
        w->where = 0;
        w->pool = NULL;
        w->ready(w);
    }
    uv_idle_stop(h);
    ls_io_run_pending(c->io);
}

/* A connection of p went away or became idle: the first waiter may go, on the next turn
 * (this runs inside the calls that made the room). */
static void room(ls_connpool *p) {
    ls_connpool_waiter *w = p->waiters;
    if (!w)
        return;
    unlink_waiter(&p->waiters, &p->last_waiter, w);
    p->nwaiters--;
    ls_client *c = p->client;
    w->where = 2;
    w->next = c->ready;
    if (c->ready)
        c->ready->prev = w;
    c->ready = w;
    if (!uv_is_closing((uv_handle_t *)&c->idle))
        uv_idle_start(&c->idle, on_idle);
}

int ls_connpool_wait(ls_connpool *p, ls_connpool_waiter *w, size_t backlog) {
    if (p->nwaiters >= backlog)
        return -1;
    w->pool = p;
    w->where = 1;
    w->next = NULL;
    w->prev = p->last_waiter;
    if (p->last_waiter)
        p->last_waiter->next = w;
    else
        p->waiters = w;
    p->last_waiter = w;
    p->nwaiters++;
    return 0;
}

void ls_connpool_unwait(ls_connpool_waiter *w) {
    ls_connpool *p = w->pool;
    if (w->where == 1) {
        unlink_waiter(&p->waiters, &p->last_waiter, w);
        p->nwaiters--;
    } else if (w->where == 2) {
        unlink_waiter(&p->client->ready, NULL, w);
        room(p); /* the room it was told of goes to the next in line */
    }
    w->where = 0;
    w->pool = NULL;
}

/* ---------------------------------------------------------------- pools */

ls_connpool *ls_connpool_get(ls_client *c, const char *key) {
    for (ls_connpool **pp = &c->pools; *pp; pp = &(*pp)->next) {
        ls_connpool *p = *pp;
        if (strcmp(p->key, key) == 0) {
            *pp = p->next; /* most recently used first */
            p->next = c->pools;
            c->pools = p;
            return p;
        }
    }
    size_t len = strlen(key);
    ls_connpool *p = calloc(1, sizeof *p + len + 1);
    if (!p)
        return NULL;
    memcpy(p->key, key, len + 1);
    p->client = c;
    p->next = c->pools;
    c->pools = p;
    return p;
}

size_t ls_connpool_live(const ls_connpool *p) { return p->live; }

void ls_connpool_count(ls_connpool *p, int delta) {
    if (delta < 0 && p->live < (size_t)-delta)
        p->live = 0;
    else
        p->live += (size_t)(ssize_t)delta;
    if (delta < 0)
        room(p);
}

/* An idle connection heard from its peer (data it never asked for, or the end): it cannot be
 * reused. */
static void idle_data(ls_transport *t, const char *data, size_t len, int from_in) {
    (void)data, (void)len, (void)from_in;
    ls_idle *e = t->ctx;
    LS_LOG(LS_LOG_DEBUG, "pool %s: an idle connection received data: closed", e->pool->key);
    idle_unlink(e);
    ls_transport_close(t, LS_CLOSE_PEER, 1);
}

static void idle_eof(ls_transport *t, int err) {
    ls_idle *e = t->ctx;
    (void)err;
    idle_unlink(e);
    ls_transport_close(t, LS_CLOSE_PEER, 0);
}

static void idle_nothing(ls_transport *t) { (void)t; }

static void idle_closed(ls_transport *t) {
    ls_idle *e = t->ctx;
    ls_connpool *p = e->pool;
    if (e->next || e->prev || p->idle == e)
        idle_unlink(e);
    free(e);
    ls_connpool_count(p, -1);
}

static const ls_proto pooled_proto = {
    .on_data = idle_data,
    .on_eof = idle_eof,
    .on_sent = idle_nothing,
    .on_deferred = idle_nothing,
    .on_closed = idle_closed,
};

static void on_idle_timeout(ls_deadline *d) {
    ls_idle *e = (ls_idle *)((char *)d - offsetof(ls_idle, deadline));
    idle_unlink(e);
    ls_transport_close(e->t, LS_CLOSE_IDLE, 0);
}

unsigned ls_connpool_idle_kind(ls_deadlines *q) { return ls_deadline_kind(q, on_idle_timeout); }

ls_transport *ls_connpool_take(ls_connpool *p, unsigned *reused) {
    ls_idle *e = p->idle;
    if (!e)
        return NULL;
    idle_unlink(e);
    ls_transport *t = e->t;
    *reused = e->reused;
    free(e);
    ls_transport_set_proto(t, NULL, NULL);
    return t;
}

int ls_connpool_put(ls_connpool *p, ls_transport *t, unsigned reused, uint64_t idle_ms, size_t size) {
    if (size == 0 || t->closing || t->peer_eof || t->in_len)
        return -1;
    ls_idle *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    while (p->nidle >= size) { /* the least recently used makes room */
        ls_idle *old = p->oldest;
        idle_unlink(old);
        ls_transport_close(old->t, LS_CLOSE_IDLE, 0);
    }
    e->pool = p;
    e->t = t;
    e->reused = reused;
    e->next = p->idle;
    if (p->idle)
        p->idle->prev = e;
    else
        p->oldest = e;
    p->idle = e;
    p->nidle++;
    ls_stat_gauge_add(&ls_stats_self->tcp_pool_idle, 1);
    ls_transport_set_proto(t, &pooled_proto, e);
    ls_transport_read(t, 1);
    if (idle_ms)
        ls_deadline_set(&t->io->deadlines, &e->deadline, p->client->kind_idle,
                        ls_io_now(t->io) + idle_ms);
    room(p);
    return 0;
}
