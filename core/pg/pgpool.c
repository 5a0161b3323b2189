/* A pool of PostgreSQL connections (see pgpool.h). */
#include "pgpool.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ls_pgpool {
    uv_loop_t *loop;
    ls_resolver *resolver;
    char **keys, **vals;
    ls_pgpool_config cfg;
    size_t live, nidle, nwaiting;
    ls_pgconn *idle;                       /* most recently parked first */
    ls_pgpool_waiter *head, *tail;         /* the line, oldest first */
    uv_timer_t timer;                      /* the head's wait */
    uv_idle_t kick;                        /* serves the line on the next turn */
    int handles;                           /* open handles (freed once both closed) */
    unsigned closed : 1;
};

static void maybe_free(ls_pgpool *p);

static void handle_closed(uv_handle_t *h) {
    ls_pgpool *p = h->data;
    if (--p->handles > 0)
        return;
    for (size_t i = 0; p->keys[i]; i++) {
        free(p->keys[i]);
        free(p->vals[i]);
    }
    free(p->keys);
    free(p->vals);
    free(p);
}

static void maybe_free(ls_pgpool *p) {
    if (!p->closed || p->live > 0 || p->handles < 2 || uv_is_closing((uv_handle_t *)&p->timer))
        return;
    uv_close((uv_handle_t *)&p->timer, handle_closed);
    uv_close((uv_handle_t *)&p->kick, handle_closed);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

ls_pgpool *ls_pgpool_new(uv_loop_t *loop, ls_resolver *resolver, const char *const *keys,
                         const char *const *vals, const ls_pgpool_config *cfg) {
    size_t n = 0;
    while (keys[n])
        n++;
    ls_pgpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->keys = calloc(n + 1, sizeof *p->keys);
    p->vals = calloc(n + 1, sizeof *p->vals);
    int bad = !p->keys || !p->vals;
    for (size_t i = 0; !bad && i < n; i++) {
        p->keys[i] = dup_or_null(keys[i]);
        p->vals[i] = dup_or_null(vals[i] ? vals[i] : "");
        bad = !p->keys[i] || !p->vals[i];
    }
    if (bad) {
        for (size_t i = 0; p->keys && i < n; i++) {
            free(p->keys[i]);
            if (p->vals)
                free(p->vals[i]);
        }
        free(p->keys);
        free(p->vals);
        free(p);
        return NULL;
    }
    p->loop = loop;
    p->resolver = resolver;
    p->cfg = *cfg;
    if (p->cfg.size == 0)
        p->cfg.size = 1;
    uv_timer_init(loop, &p->timer);
    uv_idle_init(loop, &p->kick);
    p->timer.data = p->kick.data = p;
    p->handles = 2;
    return p;
}

/* ---------------------------------------------------------------- the line */

static void line_remove(ls_pgpool *p, ls_pgpool_waiter *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        p->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->tail = w->prev;
    w->next = w->prev = NULL;
    w->where = 0;
    p->nwaiting--;
}

static void on_wait_timeout(uv_timer_t *t);

static void arm_line(ls_pgpool *p) {
    if (!p->head || !p->cfg.wait_ms || p->closed) {
        uv_timer_stop(&p->timer);
        return;
    }
    uint64_t now = uv_now(p->loop);
    uv_timer_start(&p->timer, on_wait_timeout, p->head->until > now ? p->head->until - now : 0,
                   0);
}

static void on_wait_timeout(uv_timer_t *t) {
    ls_pgpool *p = t->data;
    uint64_t now = uv_now(p->loop);
    while (p->head && p->head->until <= now && !p->closed) {
        ls_pgpool_waiter *w = p->head;
        line_remove(p, w);
        w->got(w, NULL, LS_PG_TIMEOUT, "timeout waiting for a connection from the pool");
    }
    arm_line(p);
}

static void on_kick(uv_idle_t *h);

static void kick(ls_pgpool *p) {
    if (!p->closed && p->head)
        uv_idle_start(&p->kick, on_kick);
}

/* ---------------------------------------------------------------- connections */

static void lost(ls_pgconn *c);

static void park(ls_pgpool *p, ls_pgconn *c) {
    c->data = p;
    c->prev = NULL;
    c->next = p->idle;
    if (p->idle)
        p->idle->prev = c;
    p->idle = c;
    p->nidle++;
    ls_stat_gauge_add(&ls_stats_self->pg_pool_idle, 1);
    ls_pgconn_park(c, p->cfg.idle_ms, lost);
}

static void unlink_idle(ls_pgpool *p, ls_pgconn *c) {
    if (c->prev)
        c->prev->next = c->next;
    else
        p->idle = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    p->nidle--;
    ls_stat_gauge_add(&ls_stats_self->pg_pool_idle, -1);
}

static ls_pgconn *take_idle(ls_pgpool *p) {
    ls_pgconn *c = p->idle;
    if (!c)
        return NULL;
    unlink_idle(p, c);
    ls_pgconn_unpark(c);
    c->data = NULL;
    return c;
}

/* A parked connection broke, or its idle time ended. */
static void lost(ls_pgconn *c) {
    ls_pgpool *p = c->data;
    unlink_idle(p, c);
    ls_pgconn_close(c);
    p->live--;
    ls_stat_gauge_add(&ls_stats_self->pg_pool_live, -1);
    kick(p);
    maybe_free(p);
}

static void on_connected(ls_pgconn *c, int status) {
    ls_pgpool_waiter *w = c->data;
    ls_pgpool *p = w->pool;
    w->conn = NULL;
    w->where = 0;
    if (status == LS_PG_OK) {
        c->data = NULL;
        w->got(w, c, LS_PG_OK, NULL);
        return;
    }
    char err[512];
    snprintf(err, sizeof err, "%s", status == LS_PG_TIMEOUT ? "timeout" : ls_pgconn_error(c));
    ls_pgconn_close(c);
    p->live--;
    ls_stat_gauge_add(&ls_stats_self->pg_pool_live, -1);
    kick(p);
    w->got(w, NULL, status == LS_PG_TIMEOUT ? LS_PG_TIMEOUT : LS_PG_CLOSED, err);
}

/* Counts a new connection for w and starts it: 0, or -1 with err. */
static int connect_for(ls_pgpool *p, ls_pgpool_waiter *w, char *err, size_t errlen) {
    w->pool = p;
    ls_pgconn *c = ls_pgconn_connect(p->loop, p->resolver, (const char *const *)p->keys,
                                     (const char *const *)p->vals, p->cfg.connect_ms,
                                     on_connected, w, err, errlen);
    if (!c)
        return -1;
    p->live++;
    ls_stat_gauge_add(&ls_stats_self->pg_pool_live, 1);
    w->conn = c;
    w->where = 2;
    return 0;
}

/* Serves the line: idle connections first, then new ones while there is room. */
static void on_kick(uv_idle_t *h) {
    ls_pgpool *p = h->data;
    uv_idle_stop(h);
    while (p->head && !p->closed) {
        ls_pgpool_waiter *w = p->head;
        ls_pgconn *c = take_idle(p);
        if (c) {
            line_remove(p, w);
            w->got(w, c, LS_PG_OK, NULL);
            continue;
        }
        if (p->live >= p->cfg.size)
            break;
        line_remove(p, w);
        char err[512];
        if (connect_for(p, w, err, sizeof err) < 0)
            w->got(w, NULL, LS_PG_CLOSED, err);
    }
    arm_line(p);
}

int ls_pgpool_acquire(ls_pgpool *p, ls_pgpool_waiter *w, ls_pgconn **out, char *err,
                      size_t errlen) {
    *out = NULL;
    w->pool = p;
    w->conn = NULL;
    w->where = 0;
    w->next = w->prev = NULL;
    if (p->closed) {
        snprintf(err, errlen, "the pool is closed");
        return -1;
    }
    if (!p->head) {
        ls_pgconn *c = take_idle(p);
        if (c) {
            *out = c;
            return 1;
        }
        if (p->live < p->cfg.size)
            return connect_for(p, w, err, errlen);
    }
    if (p->nwaiting >= p->cfg.backlog) {
        snprintf(err, errlen, "too many waiting for a connection from the pool");
        return -1;
    }
    w->until = uv_now(p->loop) + p->cfg.wait_ms;
    w->prev = p->tail;
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    w->where = 1;
    p->nwaiting++;
    if (p->head == w)
        arm_line(p);
    return 0;
}

void ls_pgpool_cancel(ls_pgpool_waiter *w) {
    ls_pgpool *p = w->pool;
    if (w->where == 1) {
        int was_head = p->head == w;
        line_remove(p, w);
        if (was_head)
            arm_line(p);
    } else if (w->where == 2) {
        ls_pgconn_close(w->conn);
        w->conn = NULL;
        w->where = 0;
        p->live--;
        ls_stat_gauge_add(&ls_stats_self->pg_pool_live, -1);
        kick(p);
        maybe_free(p);
    }
}

void ls_pgpool_release(ls_pgpool *p, ls_pgconn *c, int reusable) {
    if (reusable && !p->closed && ls_pgconn_reusable(c)) {
        park(p, c);
    } else {
        ls_pgconn_close(c);
        p->live--;
        ls_stat_gauge_add(&ls_stats_self->pg_pool_live, -1);
    }
    kick(p);
    maybe_free(p);
}

void ls_pgpool_close(ls_pgpool *p) {
    if (p->closed)
        return;
    p->closed = 1;
    uv_timer_stop(&p->timer);
    uv_idle_stop(&p->kick);
    while (p->idle) {
        ls_pgconn *c = take_idle(p);
        ls_pgconn_close(c);
        p->live--;
        ls_stat_gauge_add(&ls_stats_self->pg_pool_live, -1);
    }
    while (p->head) {
        ls_pgpool_waiter *w = p->head;
        line_remove(p, w);
        w->got(w, NULL, LS_PG_CLOSED, "the pool is closed");
    }
    maybe_free(p);
}

void ls_pgpool_get_stats(const ls_pgpool *p, ls_pgpool_stats *s) {
    s->live = p->live;
    s->idle = p->nidle;
    s->waiting = p->nwaiting;
}
