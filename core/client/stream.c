#include "stream.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

#define READ_AHEAD (64 * 1024) /* input gathered while no reader waits */

static const ls_proto stream_proto;
static const ls_proto discard_proto;

static ls_stream *of_rd(ls_deadline *d) {
    return (ls_stream *)((char *)d - offsetof(ls_stream, rd));
}
static ls_stream *of_wr(ls_deadline *d) {
    return (ls_stream *)((char *)d - offsetof(ls_stream, wr));
}

static void arm(ls_stream *s, ls_deadline *d, unsigned kind, uint64_t ms) {
    ls_io *io = s->client->io;
    if (ms)
        ls_deadline_set(&io->deadlines, d, kind, ls_io_now(io) + ms);
    else
        ls_deadline_clear(d);
}

/* Reading stays on while a reader waits, or while little input is gathered (replies that
 * come in bursts are taken in one go); never after the peer's end. */
static void update_reading(ls_stream *s) {
    ls_transport *t = s->t;
    if (!t || s->state != LS_STREAM_OPEN)
        return;
    ls_transport_read(t, !s->rerr && (s->want || t->in_len - s->off < READ_AHEAD));
}

void ls_stream_init(ls_stream *s, ls_client *c, const ls_stream_events *ev, void *ctx) {
    memset(s, 0, sizeof *s);
    s->client = c;
    s->ev = ev;
    s->ctx = ctx;
}

/* ---------------------------------------------------------------- connecting */

static void connect_failed(ls_stream *s, int err);
static int try_next(ls_stream *s);

static void drop_host(ls_stream *s) {
    free(s->host);
    s->host = NULL;
}

static void opened(ls_stream *s) {
    s->state = LS_STREAM_OPEN;
    ls_deadline_clear(&s->wr);
    free(s->addrs);
    s->addrs = NULL;
    drop_host(s);
    update_reading(s);
}

/* The name's addresses are known: connect to the first, then the next on failure. 0 when
 * a connect is under way, else the error of the last address. */
static int have_addrs(ls_stream *s) {
    s->state = LS_STREAM_CONNECTING;
    s->next_addr = 0;
    return try_next(s);
}

static void on_resolved(void *ctx, int err, const ls_addrs *addrs) {
    ls_stream *s = ctx;
    s->lookup = NULL;
    if (err) {
        connect_failed(s, err);
        return;
    }
    if (!s->addrs && !(s->addrs = malloc(sizeof *s->addrs))) {
        connect_failed(s, UV_ENOMEM);
        return;
    }
    *s->addrs = *addrs;
    int r = have_addrs(s);
    if (r < 0)
        connect_failed(s, r);
}

static int try_next(ls_stream *s) {
    int err = UV_ECONNREFUSED;
    while (s->addrs && s->next_addr < s->addrs->n) {
        const struct sockaddr *sa = (const struct sockaddr *)&s->addrs->addr[s->next_addr++];
        ls_transport *t = ls_transport_new_outbound(s->client->io, &stream_proto, s);
        if (!t) {
            err = UV_ENOMEM;
            break;
        }
        s->t = t;
        err = ls_transport_connect(t, sa);
        if (err == 0)
            return 0; /* on_connected tells */
        s->t = NULL;
        ls_transport_set_proto(t, &discard_proto, NULL);
        ls_transport_close(t, LS_CLOSE_PEER, 0);
    }
    return err;
}

static void on_connected(ls_transport *t, int status) {
    ls_stream *s = t->ctx;
    if (status == 0) {
        opened(s);
        s->ev->connected(s, 0);
        return;
    }
    /* this address failed: the next one, if any */
    s->t = NULL;
    ls_transport_set_proto(t, &discard_proto, NULL);
    ls_transport_close(t, LS_CLOSE_PEER, 0);
    if (s->addrs && s->next_addr < s->addrs->n && (status = try_next(s)) == 0)
        return;
    connect_failed(s, status);
}

/* Connecting ended without a connection. */
static void stop_connecting(ls_stream *s) {
    if (s->lookup) {
        ls_lookup_cancel(s->lookup);
        s->lookup = NULL;
    }
    if (s->state == LS_STREAM_QUEUED)
        ls_connpool_unwait(&s->waiter);
    if (s->t) {
        ls_transport *t = s->t;
        s->t = NULL;
        ls_transport_set_proto(t, &discard_proto, NULL);
        ls_transport_close(t, LS_CLOSE_PEER, 0);
    }
    if (s->pool && s->state != LS_STREAM_QUEUED)
        ls_connpool_count(s->pool, -1);
    s->pool = NULL;
    free(s->addrs);
    s->addrs = NULL;
    drop_host(s);
    ls_deadline_clear(&s->wr);
    s->state = LS_STREAM_NONE;
}

static void connect_failed(ls_stream *s, int err) {
    stop_connecting(s);
    s->ev->connected(s, err);
}

/* Counts a new connection under the pool and starts it. 1 connected, 0 later, or error. */
static int start(ls_stream *s) {
    ls_connpool_count(s->pool, 1);
    if (s->port < 0) { /* a Unix socket: connects at once */
        /* (no longer QUEUED when it comes from the line: a failure gives the count back) */
        s->state = LS_STREAM_CONNECTING;
        ls_transport *t = ls_transport_new_outbound(s->client->io, &stream_proto, s);
        if (!t) {
            stop_connecting(s);
            return UV_ENOMEM;
        }
        s->t = t;
        int err = ls_transport_connect_unix(t, s->host);
        if (err) {
            stop_connecting(s);
            return err;
        }
        opened(s);
        return 1;
    }
    ls_addrs addrs;
    s->state = LS_STREAM_RESOLVING;
    int r = ls_resolve(&s->client->resolver, s->host, s->port, &addrs, &s->lookup, on_resolved, s);
    if (r < 0) {
        stop_connecting(s);
        return r;
    }
    if (r == 1) {
        if (!(s->addrs = malloc(sizeof *s->addrs))) {
            stop_connecting(s);
            return UV_ENOMEM;
        }
        *s->addrs = addrs;
        r = have_addrs(s);
        if (r < 0) {
            stop_connecting(s);
            return r;
        }
    }
    return 0;
}

/* Takes an idle connection of the pool: 1, or 0 when there is none. */
static int reuse(ls_stream *s) {
    unsigned reused;
    ls_transport *t = ls_connpool_take(s->pool, &reused);
    if (!t)
        return 0;
    ls_transport_set_proto(t, &stream_proto, s);
    s->t = t;
    s->reused = reused + 1;
    s->off = 0;
    s->rerr = 0;
    opened(s);
    return 1;
}

static void on_room(ls_connpool_waiter *w) {
    ls_stream *s = (ls_stream *)((char *)w - offsetof(ls_stream, waiter));
    if (reuse(s)) {
        s->ev->connected(s, 0);
        return;
    }
    int r = start(s);
    if (r == 1)
        s->ev->connected(s, 0);
    else if (r < 0)
        s->ev->connected(s, r);
}

int ls_stream_connect(ls_stream *s, const char *host, int port, const char *key,
                      size_t pool_size, size_t backlog) {
    if (s->state != LS_STREAM_NONE)
        return UV_EALREADY;
    if (s->client->stopping)
        return UV_ECANCELED;
    s->pool = ls_connpool_get(s->client, key);
    if (!s->pool)
        return UV_ENOMEM;
    s->reused = 0;
    s->off = 0;
    s->rerr = 0;
    if (reuse(s))
        return 1;
    s->host = strdup(host);
    if (!s->host) {
        s->pool = NULL;
        return UV_ENOMEM;
    }
    s->port = port;
    arm(s, &s->wr, s->client->kind_write, s->connect_ms);
    if (backlog > 0 && ls_connpool_live(s->pool) >= pool_size) {
        s->waiter.ready = on_room;
        if (ls_connpool_wait(s->pool, &s->waiter, backlog) != 0) {
            s->pool = NULL;
            stop_connecting(s);
            return LS_EBACKLOG;
        }
        s->state = LS_STREAM_QUEUED;
        return 0;
    }
    return start(s);
}

/* ---------------------------------------------------------------- input */

static void on_data(ls_transport *t, const char *data, size_t len, int from_in) {
    ls_stream *s = t->ctx;
    if (ls_transport_keep(t, data, len, from_in) != 0) {
        s->rerr = UV_ENOMEM;
        ls_transport_read(t, 0);
        if (s->want)
            s->ev->input(s, UV_ENOMEM);
        return;
    }
    if (s->want) {
        arm(s, &s->rd, s->client->kind_read, s->read_ms); /* progress: the wait starts again */
        s->ev->input(s, 0);
        /* That may have run the caller's code, which may have pooled, closed or freed s: then
         * t no longer leads to it. */
        if (t->proto != &stream_proto || t->ctx != s)
            return;
    }
    update_reading(s);
}

static void on_eof(ls_transport *t, int err) {
    ls_stream *s = t->ctx;
    s->rerr = err ? err : UV_EOF;
    ls_transport_read(t, 0);
    if (s->want) {
        s->want = 0;
        ls_deadline_clear(&s->rd);
        s->ev->input(s, s->rerr);
    }
}

void ls_stream_consume(ls_stream *s, size_t n) {
    ls_transport *t = s->t;
    if (!t)
        return;
    s->off += n;
    if (s->off >= t->in_len) {
        t->in_len = 0;
        s->off = 0;
    } else if (s->off > 4096 && s->off > t->in_len / 2) { /* the rest to the front */
        memmove(t->in, t->in + s->off, t->in_len - s->off);
        t->in_len -= s->off;
        s->off = 0;
    }
    update_reading(s);
}

void ls_stream_want(ls_stream *s) {
    s->want = 1;
    arm(s, &s->rd, s->client->kind_read, s->read_ms);
    update_reading(s);
}

void ls_stream_unwant(ls_stream *s) {
    s->want = 0;
    ls_deadline_clear(&s->rd);
    update_reading(s);
}

static void on_read_timeout(ls_deadline *d) {
    ls_stream *s = of_rd(d);
    ls_io *io = s->client->io;
    s->want = 0;
    update_reading(s);
    s->ev->input(s, UV_ETIMEDOUT);
    ls_io_run_pending(io);
}

/* ---------------------------------------------------------------- output */

int ls_stream_send(ls_stream *s) {
    ls_transport *t = s->t;
    if (!t || s->state != LS_STREAM_OPEN || t->closing)
        return UV_ENOTCONN;
    ls_transport_flush(t);
    if (t->closing)
        return UV_EPIPE; /* the write failed: the transport is closing */
    if (!ls_transport_busy(t))
        return 1;
    s->sending = 1;
    t->write_progress = 0;
    arm(s, &s->wr, s->client->kind_write, s->send_ms);
    return 0;
}

static void on_sent(ls_transport *t) {
    ls_stream *s = t->ctx;
    if (!s->sending)
        return;
    if (ls_transport_busy(t)) {
        arm(s, &s->wr, s->client->kind_write, s->send_ms); /* progress */
        return;
    }
    s->sending = 0;
    ls_deadline_clear(&s->wr);
    s->ev->sent(s, 0);
}

static void on_write_timeout(ls_deadline *d) {
    ls_stream *s = of_wr(d);
    ls_io *io = s->client->io;
    if (s->state != LS_STREAM_OPEN) { /* a connect (a lookup, a wait in line) took too long */
        connect_failed(s, UV_ETIMEDOUT);
    } else if (s->sending) {
        s->sending = 0;
        ls_stream_close(s, 1);
        s->ev->sent(s, UV_ETIMEDOUT);
    }
    ls_io_run_pending(io);
}

/* ---------------------------------------------------------------- pool and close */

int ls_stream_keepalive(ls_stream *s, uint64_t idle_ms, size_t size) {
    ls_transport *t = s->t;
    if (!t || s->state != LS_STREAM_OPEN || t->closing || s->rerr)
        return UV_ENOTCONN;
    if (s->sending || s->want)
        return UV_EBUSY;
    if (t->in_len > s->off)
        return UV_EAGAIN; /* refused; the input is still there to read */
    ls_deadline_clear(&s->rd);
    ls_deadline_clear(&s->wr);
    t->in_len = 0;
    s->off = 0;
    ls_connpool *p = s->pool;
    s->t = NULL;
    s->pool = NULL;
    s->state = LS_STREAM_NONE;
    if (ls_connpool_put(p, t, s->reused, idle_ms, size) != 0) {
        s->t = t; /* not kept: closed */
        s->pool = p;
        s->state = LS_STREAM_OPEN;
        ls_stream_close(s, 0);
    }
    return 0;
}

void ls_stream_close(ls_stream *s, int reset) {
    if (s->state != LS_STREAM_OPEN) {
        stop_connecting(s);
        return;
    }
    ls_transport *t = s->t;
    ls_deadline_clear(&s->rd);
    ls_deadline_clear(&s->wr);
    s->want = 0;
    s->sending = 0;
    s->state = LS_STREAM_NONE;
    s->t = NULL;
    s->off = 0;
    if (s->pool) {
        ls_connpool_count(s->pool, -1);
        s->pool = NULL;
    }
    if (t) { /* it closes on its own from here: nothing reaches the stream any more */
        ls_transport_set_proto(t, &discard_proto, NULL);
        ls_transport_close(t, LS_CLOSE_DESTROY, reset && t->in_len);
    }
}

/* The connection closed under the stream (a write failed). */
static void on_closed(ls_transport *t) {
    ls_stream *s = t->ctx;
    if (s->t != t)
        return;
    s->t = NULL;
    s->off = 0;
    s->state = LS_STREAM_NONE;
    ls_deadline_clear(&s->rd);
    ls_deadline_clear(&s->wr);
    s->want = 0;
    s->sending = 0;
    if (s->pool) {
        ls_connpool_count(s->pool, -1);
        s->pool = NULL;
    }
    s->ev->closed(s);
}

static void nothing(ls_transport *t) { (void)t; }

static const ls_proto stream_proto = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_sent = on_sent,
    .on_deferred = nothing,
    .on_closed = on_closed,
    .on_connected = on_connected,
};

/* A connect attempt given up: it closes without telling anyone. */
static void discard_data(ls_transport *t, const char *d, size_t n, int f) {
    (void)d, (void)n, (void)f;
    ls_transport_read(t, 0);
}
static void discard_eof(ls_transport *t, int err) { (void)t, (void)err; }
static void discard_connected(ls_transport *t, int status) { (void)t, (void)status; }

static const ls_proto discard_proto = {
    .on_data = discard_data,
    .on_eof = discard_eof,
    .on_sent = nothing,
    .on_deferred = nothing,
    .on_closed = nothing,
    .on_connected = discard_connected,
};

void ls_stream_kinds(ls_client *c) {
    c->kind_read = ls_deadline_kind(&c->io->deadlines, on_read_timeout);
    c->kind_write = ls_deadline_kind(&c->io->deadlines, on_write_timeout);
}
