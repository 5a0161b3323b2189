#include "conn.h"

#include "access_log.h"
#include "stats.h"

#include "date.h"
#include "keepalive.h"
#include "log.h"
#include "parse.h"
#include "pool.h"
#include "response_body.h"
#include "server.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ST_HEAD, ST_ACTIVE, ST_LINGER };

#define STOP_WAIT_MS 500 /* on shutdown: how long a new connection may still show its request */

struct ls_conn {
    ls_conn_link link; /* first: the server's list */
    ls_transport *t;
    ls_parse *parse; /* lent from the pool while requests are parsed */
    ls_request req;
    ls_response res;
    char *body;      /* request body the application has not taken */
    size_t body_len, body_cap;
    void *ud; /* the application's request handle */
    ls_upgrade_fn upgrade_fn; /* ls_conn_upgrade: hand over once the 101 is queued */
    void *upgrade_arg;
    uint64_t requests;
    uint64_t head_deadline;
    uint64_t head_wire_mark; /* wire_bytes beyond which the current head is on the wire */
    uint64_t max_body;       /* the active request's body limit (the setting, or the app's) */
    uint64_t started_ms;     /* the first byte of the request, in the loop's time */
    uint64_t started_us;     /* the same from the clock, in microseconds (access log only) */
    uint8_t state;
    uint8_t gauge; /* the lunaserve_connections state it counts in (stats.h) */
    ls_keepalive ka; /* whether another request may follow this one */
    unsigned parser_paused : 1; /* llhttp waits at the end of the active request */
    unsigned parse_dead : 1;    /* input is no longer parsed (error or lingering) */
    unsigned msg_complete : 1;  /* the active request's body is complete */
    unsigned head_started : 1;  /* bytes of a new request head arrived */
    unsigned discarding : 1;    /* throwing away the unread body of a finished request */
    unsigned want_drain : 1;
    unsigned need_continue : 1; /* the client waits for 100 Continue */
    unsigned truncated : 1;     /* the response cannot be completed: close after the flush */
    unsigned body_poke : 1;     /* tell the application about its body again */
    unsigned limit_check : 1;   /* compare the body with its limit before anything goes out */
    unsigned too_large : 1;     /* the request failed because its body is over its limit */
    unsigned logged : 1;        /* the active request has its access log line */
};

static void conn_input(ls_conn *c, const char *data, size_t len, int from_in);
static void conn_arm(ls_conn *c);
static void conn_update_reading(ls_conn *c);
static void conn_fail(ls_conn *c, int status, ls_close_reason why);
static void conn_linger(ls_conn *c, ls_close_reason why);
static void conn_advance(ls_conn *c);
static void hand_over(ls_conn *c);
static void request_done(ls_conn *c, const char *closed, int cut);
static int body_over_limit(const ls_conn *c);
static void refuse_body(ls_conn *c);

/* The server whose io the transport shares (one pointer fewer in every connection). */
static inline ls_server *server_of(const ls_conn *c) {
    return (ls_server *)((char *)c->t->io - offsetof(ls_server, io));
}
static inline uint64_t now_ms(const ls_conn *c) { return ls_io_now(c->t->io); }
static inline const ls_settings *cfg(const ls_conn *c) { return &server_of(c)->settings; }
static inline size_t queued(const ls_conn *c) { return c->t->out.bytes + c->res.pre.bytes; }
static inline int closing(const ls_conn *c) { return c->t->closing; }
/* The request can still be answered (not closing, not yet detached). */
static inline int usable(const ls_conn *c) { return c->state == ST_ACTIVE && !c->t->closing; }
static void conn_close(ls_conn *c, ls_close_reason why, int reset) {
    ls_transport_close(c->t, why, reset);
}
static void conn_defer(ls_conn *c) { ls_transport_defer(c->t); }
/* Moves the connection to another state of the lunaserve_connections gauge. */
static void conn_gauge(ls_conn *c, int state) {
    if (c->t->io->uncounted)
        return;
    ls_stat_gauge_add(&ls_stats_self->conns[c->gauge], -1);
    ls_stat_gauge_add(&ls_stats_self->conns[state], 1);
    c->gauge = (uint8_t)state;
}

/* ---------------------------------------------------------------- parse events */

static void on_begin(void *ctx) {
    ls_conn *c = ctx;
    ls_pool_take(&server_of(c)->pool, &c->req, &c->res, &c->t->out);
    ls_request_reset(&c->req);
    c->head_started = 1;
    c->head_deadline = now_ms(c) + cfg(c)->header_timeout_ms;
    c->t->read_progress = 1; /* a new deadline */
    c->logged = 0;
    c->started_ms = now_ms(c);
    if (server_of(c)->access_log)
        c->started_us = uv_hrtime() / 1000;
    conn_gauge(c, LS_CONN_READING);
}

static int on_body(void *ctx, const char *at, size_t len) {
    ls_conn *c = ctx;
    if (c->state != ST_ACTIVE || !c->ud)
        return 0; /* a finished request's body, or nobody to read it: thrown away */
    if (c->req.body_received > c->max_body) {
        c->too_large = 1;
        return 413;
    }
    if (c->body_len + len > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 16384;
        while (cap < c->body_len + len)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b)
            return -1;
        c->body = b, c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, len);
    c->body_len += len;
    return 0;
}

static const ls_parse_events parse_events = {.on_begin = on_begin, .on_body = on_body};

/* ---------------------------------------------------------------- the access log */

/* The value of the request's head field `name` (lower case), or NULL. */
static const char *head_field(const ls_request *r, const char *name, size_t nlen, size_t *vlen) {
    size_t n = r->head_done ? r->nhead : r->nfields;
    for (size_t i = 0; i < n; i++) {
        const ls_field *f = &r->fields[i];
        if (f->nlen == nlen && strncasecmp(ls_field_name(r, f), name, nlen) == 0) {
            *vlen = f->vlen;
            return ls_field_value(r, f);
        }
    }
    *vlen = 0;
    return NULL;
}

/* The active request is over: its response is out (or cut short: the connection ended
 * first; a response not begun is nginx's 499). Counted for the metrics, and logged. */
static void request_done(ls_conn *c, const char *closed, int cut) {
    if (c->logged)
        return;
    c->logged = 1;
    const ls_request *r = &c->req;
    const ls_response *res = &c->res;
    int status = cut && !res->head_sent ? 499 : res->status;
    /* The metrics take the loop's time (milliseconds, as nginx's $request_time: no clock
     * read per request); the access log reads the clock for microseconds. */
    uint64_t us = (now_ms(c) - c->started_ms) * 1000;
    if (c->t->io->uncounted)
        return;
    ls_stats *st = ls_stats_self;
    int m = LS_METHOD_OTHER;
    if (r->method) {
        static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                            "OPTIONS"};
        for (int i = 0; i < LS_METHOD_OTHER; i++)
            if (strcmp(r->method, names[i]) == 0) {
                m = i;
                break;
            }
    }
    int cls = status / 100 - 1;
    ls_stat_add(&st->requests[m][cls < 0 ? 0 : cls > 4 ? 4 : cls], 1);
    static const uint64_t bounds_us[LS_DURATION_BUCKETS - 1] = {
        5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
    int b = 0;
    while (b < LS_DURATION_BUCKETS - 1 && us > bounds_us[b])
        b++;
    ls_stat_add(&st->duration_buckets[b], 1);
    ls_stat_add(&st->duration_us_sum, us);
    ls_stat_add(&st->duration_count, 1);
    if (!server_of(c)->access_log)
        return;
    uint64_t wire = 0;
    if (res->head_sent && c->t->wire_bytes > c->head_wire_mark)
        wire = c->t->wire_bytes - c->head_wire_mark;
    ls_access_entry e = {
        .addr = ls_access_log_addr(server_of(c)->access_log, c->t->peer_family, c->t->peer_addr),
        .method = r->method,
        .target = ls_request_url(r),
        .target_len = r->url_len,
        .http_major = r->http_major,
        .http_minor = r->http_minor,
        .status = status,
        .bytes = wire,
        .body_bytes = wire > res->head_len ? wire - res->head_len : 0,
        .time_us = uv_hrtime() / 1000 - c->started_us,
        .closed = closed,
    };
    e.referer = head_field(r, "referer", 7, &e.referer_len);
    e.user_agent = head_field(r, "user-agent", 10, &e.user_agent_len);
    e.authorization = head_field(r, "authorization", 13, &e.authorization_len);
    ls_access_log_add(server_of(c)->access_log, &e);
}

/* ---------------------------------------------------------------- the transport's events */

static void on_data(ls_transport *t, const char *data, size_t len, int from_in) {
    ls_conn *c = t->ctx;
    conn_input(c, data, len, from_in);
    if (!closing(c)) {
        conn_update_reading(c);
        conn_arm(c);
    }
}

static void on_eof(ls_transport *t, int err) {
    ls_conn *c = t->ctx;
    if (err) {
        conn_close(c, c->state == ST_HEAD && !c->head_started ? LS_CLOSE_IDLE : LS_CLOSE_PEER, 1);
        return;
    }
    switch (c->state) {
    case ST_HEAD:
        if (c->discarding || c->head_started || t->in_len)
            conn_close(c, LS_CLOSE_PEER, 0);
        else
            conn_close(c, LS_CLOSE_IDLE, 0);
        break;
    case ST_ACTIVE:
        /* A response that is complete still goes out (the client may only have half-closed);
         * otherwise the client is gone: the request is aborted, as in Node.js. */
        if (c->res.ended) {
            ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
            conn_update_reading(c);
            conn_defer(c);
        } else {
            conn_close(c, LS_CLOSE_PEER, ls_transport_busy(t));
        }
        break;
    }
}

static void on_sent(ls_transport *t) { conn_advance(t->ctx); }
static void on_deferred(ls_transport *t) { conn_advance(t->ctx); }

/* Leaves the server's list, lends the buffers back to the pool and frees c (its transport
 * has closed, or another protocol has it). */
static void conn_free(ls_conn *c, ls_server *s, ls_transport *t) {
    ls_server_forget(s, c);
    ls_pool_give(&s->pool, &c->req, &c->res, &t->out, c->parse);
    ls_request_free(&c->req);
    ls_response_free(&c->res);
    free(c->body);
    free(c);
}

static void on_closed(ls_transport *t) {
    ls_conn *c = t->ctx;
    ls_server *s = server_of(c);
    if (c->state == ST_ACTIVE) /* a request the connection's end cut short */
        request_done(c, ls_close_reason_names[t->close_reason], 1);
    if (!t->io->uncounted)
        ls_stat_gauge_add(&ls_stats_self->conns[c->gauge], -1);
    void *ud = c->ud;
    c->ud = NULL;
    ls_outq_clear(&c->res.pre);
    if (ud)
        s->app->on_abort(ud);
    if (c->upgrade_fn) /* closed before the hand-over: the taker is told (no transport) */
        c->upgrade_fn(c->upgrade_arg, NULL, s);
    conn_free(c, s, t);
}

static const ls_proto http1_server = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_sent = on_sent,
    .on_deferred = on_deferred,
    .on_closed = on_closed,
};

/* ---------------------------------------------------------------- deadlines */

static ls_conn *conn_of(ls_deadline *d) { return ls_transport_of_deadline(d)->ctx; }

/* The whole head must arrive in time (also the first request of a new connection). */
static void on_header_timeout(ls_deadline *d) {
    ls_conn *c = conn_of(d);
    ls_io *io = c->t->io;
    if (c->state == ST_HEAD && (c->head_started || c->t->in_len))
        conn_fail(c, 408, LS_CLOSE_HEADER_TIMEOUT);
    else if (c->state == ST_HEAD) /* FIN, then lingering: a crossing request is dropped, not reset */
        conn_linger(c, c->requests ? LS_CLOSE_IDLE : LS_CLOSE_HEADER_TIMEOUT);
    if (!closing(c))
        conn_arm(c);
    ls_io_run_pending(io);
}

/* A keep-alive connection had no new request in time. */
static void on_idle_timeout(ls_deadline *d) {
    ls_conn *c = conn_of(d);
    ls_io *io = c->t->io;
    if (c->state == ST_HEAD && !c->head_started && !c->t->in_len)
        conn_linger(c, LS_CLOSE_IDLE);
    if (!closing(c))
        conn_arm(c);
    ls_io_run_pending(io);
}

/* The request body (read, or drained after the response) stalled. */
static void on_body_timeout(ls_deadline *d) {
    ls_conn *c = conn_of(d);
    ls_io *io = c->t->io;
    if (c->state == ST_HEAD && c->discarding)
        conn_close(c, LS_CLOSE_BODY_TIMEOUT, 1);
    else if (c->state == ST_ACTIVE && !c->msg_complete && !c->res.frozen && !c->res.head_sent)
        conn_fail(c, 408, LS_CLOSE_BODY_TIMEOUT);
    else if (c->state == ST_ACTIVE && !c->msg_complete)
        conn_close(c, LS_CLOSE_BODY_TIMEOUT, 1);
    if (!closing(c))
        conn_arm(c);
    ls_io_run_pending(io);
}

void ls_conn_init_kinds(ls_server *s) {
    s->kind_header = ls_deadline_kind(&s->io.deadlines, on_header_timeout);
    s->kind_idle = ls_deadline_kind(&s->io.deadlines, on_idle_timeout);
    s->kind_body = ls_deadline_kind(&s->io.deadlines, on_body_timeout);
}

/* Which bound is in force now (the transport's own, lingering and send, come first). */
static void conn_arm(ls_conn *c) {
    ls_server *srv = server_of(c);
    ls_transport *t = c->t;
    unsigned kind = LS_DEADLINE_NONE;
    int progress = 1;
    switch (c->state) {
    case ST_HEAD:
        if (c->discarding) {
            kind = srv->kind_body;
        } else if (c->head_started || t->in_len || c->requests == 0) {
            kind = srv->kind_header;
        } else {
            kind = srv->kind_idle;
            progress = 0; /* bytes that start no request (bare CRLFs) do not extend it */
        }
        break;
    case ST_ACTIVE:
        if (!c->msg_complete && t->reading)
            kind = srv->kind_body;
        break;
    }
    if (ls_transport_armed_as(t, kind, progress))
        return;
    const ls_settings *s = cfg(c);
    uint64_t at = 0;
    if (kind == srv->kind_body)
        at = now_ms(c) + s->body_timeout_ms;
    else if (kind == srv->kind_header)
        at = c->head_deadline;
    else if (kind == srv->kind_idle)
        at = now_ms(c) + ls_keepalive_idle_ms(s->keepalive_timeout_ms);
    ls_transport_arm(t, kind, at, progress);
}

static void conn_update_reading(ls_conn *c) {
    const ls_settings *s = cfg(c);
    switch (c->state) {
    case ST_HEAD:
        ls_transport_read(c->t, 1);
        break;
    case ST_ACTIVE:
        /* Hold back while the application has a high-water mark of body unread, or while
         * pipelined input waits for this response to finish. */
        ls_transport_read(c->t, !c->parse_dead && c->body_len < s->high_water &&
                                    c->t->in_len < s->max_header + s->high_water);
        break;
    }
}

/* ---------------------------------------------------------------- start and stop */

void ls_conn_start(ls_server *s, ls_transport *t) {
    ls_conn *c = calloc(1, sizeof *c);
    if (!c) {
        ls_transport_close(t, LS_CLOSE_LIMIT, 1); /* no protocol: nothing is called */
        return;
    }
    c->t = t;
    ls_request_init(&c->req);
    ls_response_init(&c->res);
    ls_keepalive_begin(&c->ka, 1, 1, 0, 0);
    c->state = ST_HEAD;
    c->gauge = LS_CONN_IDLE;
    if (!t->io->uncounted)
        ls_stat_gauge_add(&ls_stats_self->conns[LS_CONN_IDLE], 1);
    c->head_deadline = ls_io_now(&s->io) + s->settings.header_timeout_ms;
    ls_transport_set_proto(t, &http1_server, c);
    ls_server_add(s, c);
    conn_update_reading(c);
    conn_arm(c);
}

void ls_conn_stop(ls_conn *c) {
    if (c->state == ST_ACTIVE)
        ls_keepalive_lower(&c->ka, LS_CLOSE_SHUTDOWN); /* it ends after this response */
    /* A lingering connection goes on draining: closing it now could reset a response the
     * client has not read yet. The shutdown timeout bounds it. */
    if (c->state != ST_HEAD || c->head_started || c->discarding || c->t->in_len)
        return; /* busy: its response will say Connection: close */
    if (c->requests == 0) {
        /* Accepted, nothing read yet: its request may already wait in the socket. It gets a
         * short while to show it (then it is served, with Connection: close). */
        uint64_t soon = now_ms(c) + STOP_WAIT_MS;
        if (c->head_deadline > soon)
            c->head_deadline = soon;
        c->t->read_progress = 1; /* the deadline changed */
        conn_arm(c);
    } else {
        /* Idle between requests: FIN now, and a short linger so that a request crossing it
         * is dropped rather than reset. */
        conn_linger(c, LS_CLOSE_SHUTDOWN);
    }
}

/* ---------------------------------------------------------------- parsing */

static void dispatch(ls_conn *c) {
    ls_server *s = server_of(c);
    const ls_request *r = &c->req;
    c->state = ST_ACTIVE;
    conn_gauge(c, LS_CONN_ACTIVE);
    c->head_started = 0;
    c->msg_complete = 0;
    c->want_drain = c->truncated = 0;
    c->need_continue = r->expect_continue;
    c->body_len = 0;
    /* The handler may change the limit in its first run (ls_conn_set_max_body); a declared
     * length is held against it right after that run, before anything goes out. */
    c->max_body = cfg(c)->max_body;
    c->too_large = c->limit_check = 0;
    /* What the handler sees as res.shouldKeepAlive: HTTP's answer, less what the server
     * already knows (the last request allowed, a shutdown). */
    ls_keepalive_begin(&c->ka, r->http_major, r->http_minor, r->conn_close, r->conn_keepalive);
    if (c->requests + 1 >= cfg(c)->max_requests)
        ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
    if (s->stopping)
        ls_keepalive_lower(&c->ka, LS_CLOSE_SHUTDOWN);
    ls_response_reset(&c->res);
    s->requests++;
    c->ud = s->app->on_request(s->app_ctx, c);
    if (usable(c) && body_over_limit(c))
        refuse_body(c);
}

/* Feeds input to the parser. data is either the shared read buffer or t->in (from_in). */
static void conn_input(ls_conn *c, const char *data, size_t len, int from_in) {
    size_t body_before = c->body_len;
    int body_news = 0;
    int kick = 0; /* after a head, parse once more even with no input: a request without a
                     body completes right there */
    if (!c->parse && len && !c->parse_dead) {
        if (!(c->parse = ls_pool_parse(&server_of(c)->pool))) {
            conn_close(c, LS_CLOSE_PEER, 1);
            return;
        }
        ls_parse_limits limits = {cfg(c)->max_header, cfg(c)->max_url};
        ls_parse_start(c->parse, &c->req, &parse_events, c, limits);
    }
    while ((len || kick) && !closing(c) && !c->parser_paused && !c->parse_dead) {
        kick = 0;
        size_t used;
        int r = ls_parse_execute(c->parse, data, len, &used);
        data += used, len -= used;
        if (r == LS_PARSE_MORE)
            break;
        if (r == LS_PARSE_ERROR) {
            LS_LOG(LS_LOG_DEBUG, "%s: bad request: %d (%s)", ls_transport_peer(c->t),
                   c->parse->error_status, ls_parse_error_text(c->parse));
            len = 0;
            conn_fail(c, c->parse->error_status, LS_CLOSE_PROTOCOL);
            break;
        }
        if (r == LS_PARSE_HEAD) {
            dispatch(c);
            kick = 1;
        } else if (c->state == ST_ACTIVE) { /* the end of the request: the next one waits */
            c->msg_complete = 1;
            c->parser_paused = 1;
            body_news = 1;
        } else { /* the end of a body thrown away: go on with the next request */
            c->discarding = 0;
            c->head_started = 0;
            ls_parse_resume(c->parse);
        }
    }
    if (closing(c))
        return;
    if (c->parse_dead)
        len = 0;
    if (ls_transport_keep(c->t, data, len, from_in) < 0) {
        conn_close(c, LS_CLOSE_PROTOCOL, 1);
        return;
    }
    if (c->state == ST_ACTIVE && c->ud && (body_news || c->body_len != body_before))
        server_of(c)->app->on_body(c->ud);
}

/* ---------------------------------------------------------------- responses */

static int unread_body_over_limit(const ls_conn *c) {
    if (c->msg_complete)
        return 0;
    if (c->req.chunked)
        return 1;
    if (c->req.content_length < 0)
        return 0;
    uint64_t left = (uint64_t)c->req.content_length - c->req.body_received;
    return left > cfg(c)->discard_limit;
}

/* Queues the end of the body, once; a body short of its Content-Length ends the connection. */
static void body_end(ls_conn *c) {
    if (!ls_body_end(&c->res, &c->t->out)) {
        LS_LOG(LS_LOG_WARN, "%s: response ended after %llu of %llu body bytes",
               ls_transport_peer(c->t), (unsigned long long)c->res.body_bytes,
               (unsigned long long)c->res.framing.length);
        ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
    }
}

/* Queues the head, then what the body holds so far, then `data` (the last piece of a
 * response that ends now, already counted in body_bytes; used in place with `rel`, else
 * copied, so a short body shares the head's buffer). */
static void emit_head(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    ls_response *res = &c->res;
    const ls_request *req = &c->req;
    ls_keepalive *ka = &c->ka;
    ls_framing_in fi = {
        .status = res->status,
        .head_request = req->is_head,
        .http11 = req->http_major == 1 && req->http_minor >= 1,
        .ended = res->ended,
        .body_len = res->body_bytes,
        .user_length = res->user_length,
    };
    ls_framing_out fo = ls_framing_decide(&fi);
    if (res->user_close) /* the handler's own Connection: close */
        ls_keepalive_lower(ka, LS_CLOSE_FINISH);
    if (server_of(c)->stopping)
        ls_keepalive_lower(ka, LS_CLOSE_SHUTDOWN);
    /* A body we will not read in full, or one the client still waits to be asked for
     * (Expect: 100-continue unanswered): it may or may not come, so the connection cannot be
     * trusted to be in step after this response. */
    if (unread_body_over_limit(c) || (c->need_continue && !c->msg_complete))
        ls_keepalive_lower(ka, LS_CLOSE_FINISH);
    /* RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing */
    if (req->has_te && req->http_minor == 0)
        ls_keepalive_lower(ka, LS_CLOSE_FINISH);
    if (fo.framing == LS_FRAME_CLOSE || c->t->peer_eof)
        ls_keepalive_lower(ka, LS_CLOSE_FINISH);
    /* A final status below 200 does not end the exchange for the client; end the
     * connection rather than leave it waiting. */
    if (res->status < 200)
        ls_keepalive_lower(ka, LS_CLOSE_FINISH);
    /* finish() came with fewer bytes than the Content-Length the handler set */
    if (res->ended && fo.framing == LS_FRAME_LENGTH && res->body_bytes < fo.length)
        ls_keepalive_lower(ka, LS_CLOSE_FINISH);
    /* A 2xx to CONNECT would start a tunnel, which this server does not do. */
    if (res->status < 300 && req->is_connect)
        ls_keepalive_lower(ka, LS_CLOSE_FINISH);
    ls_head h = {
        .status = res->status,
        .reason = res->reason,
        .rlen = res->rlen,
        .headers = res->headers,
        .nheaders = res->nheaders,
        .framing = fo,
        .keepalive = ls_keepalive_on(ka),
        .upgrade = c->upgrade_fn != NULL,
        .keepalive_timeout_s = (unsigned)(cfg(c)->keepalive_timeout_ms / 1000),
        .date = ls_date_now(),
    };
    /* An unanswered 100-continue: the client may still send the body; don't ask for it. */
    c->need_continue = 0;
    c->head_wire_mark = c->t->wire_bytes + c->t->out.bytes;
    if (ls_body_emit_head(res, &c->t->out, &h, data, len, rel, ctx) < 0) {
        conn_close(c, LS_CLOSE_LIMIT, 1);
        return;
    }
    if (res->ended)
        body_end(c);
}

/* The response is over and the connection ends: FIN after the last byte, then the client's
 * input is read and thrown away for a bounded time (the transport lingers). */
static void conn_linger(ls_conn *c, ls_close_reason why) {
    c->state = ST_LINGER;
    conn_gauge(c, LS_CONN_CLOSING);
    c->parse_dead = 1;
    c->body_len = 0;
    ls_transport_linger(c->t, why);
}

/* Every byte of the response is in the kernel: tell the application, then read the
 * keep-alive flag once, to serve the next request or to close. */
static void response_done(ls_conn *c) {
    ls_server *s = server_of(c);
    void *ud = c->ud;
    c->ud = NULL;
    c->requests++;
    if (c->t->peer_eof)
        ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
    if (s->stopping)
        ls_keepalive_lower(&c->ka, LS_CLOSE_SHUTDOWN);
    if (unread_body_over_limit(c))
        ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
    request_done(c, c->truncated         ? "truncated"
                       : ls_keepalive_on(&c->ka) ? NULL
                                                 : ls_close_reason_names[ls_keepalive_reason(&c->ka)],
                    0);
    if (ud) {
        if (c->truncated)
            s->app->on_abort(ud);
        else
            s->app->on_finish(ud);
    }
    if (c->state != ST_ACTIVE || closing(c))
        return; /* closed meanwhile */
    if (!ls_keepalive_on(&c->ka)) {
        conn_linger(c, ls_keepalive_reason(&c->ka));
        return;
    }
    c->state = ST_HEAD;
    conn_gauge(c, LS_CONN_IDLE);
    c->body_len = 0;
    c->discarding = !c->msg_complete;
    c->msg_complete = 0;
    ls_response_reset(&c->res);
    if (c->parser_paused) {
        c->parser_paused = 0;
        ls_parse_resume(c->parse);
    }
    conn_update_reading(c);
    if (c->t->in_len)
        conn_input(c, c->t->in, c->t->in_len, 1);
    else if (!c->discarding) { /* idle until the next request: keep nothing */
        ls_pool_give(&s->pool, &c->req, &c->res, &c->t->out, c->parse);
        c->parse = NULL;
    }
    if (!closing(c)) {
        conn_update_reading(c);
        conn_arm(c);
    }
}

/* The body (as declared, or as received so far) is over the request's limit. */
static int body_over_limit(const ls_conn *c) {
    uint64_t n = c->req.content_length >= 0 ? (uint64_t)c->req.content_length
                                              : c->req.body_received;
    return n > c->max_body;
}

/* 413 for a body over its limit. A response the handler already made is replaced while none
 * of it is on the wire (its head may be queued); past that the connection is dropped. */
static void refuse_body(ls_conn *c) {
    c->too_large = 1;
    if (c->res.head_sent && !c->t->inflight && c->t->wire_bytes <= c->head_wire_mark) {
        ls_outq_clear(&c->t->out);
        ls_response_reset(&c->res);
    }
    conn_fail(c, 413, LS_CLOSE_PROTOCOL); /* as the parser's 413, 414 and 431 */
}

/* Deferred work and write completions: emit the head, flush, tell the application about
 * drain and body, complete the response. */
static void conn_advance(ls_conn *c) {
    if (usable(c) && c->limit_check) {
        c->limit_check = 0;
        if (body_over_limit(c)) {
            refuse_body(c);
            return;
        }
    }
    if (usable(c)) {
        ls_response *res = &c->res;
        ls_transport *t = c->t;
        if (!res->head_sent && res->ended)
            emit_head(c, NULL, 0, NULL, NULL);
        if (!usable(c))
            return;
        if (c->upgrade_fn && res->head_sent && c->msg_complete) {
            hand_over(c);
            return;
        }
        /* A complete response with the next request already read (pipelining): the answers
         * to what arrived together go out together, in as few packets as they fit. Each is
         * still handed to the kernel here ('finish' keeps its meaning); the cork comes off
         * before the loop waits again. */
        if (t->in_len && res->ended && t->out.bytes && !t->inflight)
            ls_transport_cork(t);
        ls_transport_flush(t);
        if (!usable(c))
            return;
        if (t->out.bytes > cfg(c)->max_output) {
            LS_LOG(LS_LOG_WARN, "%s: output over %zu bytes: dropped", ls_transport_peer(t),
                   cfg(c)->max_output);
            conn_close(c, LS_CLOSE_LIMIT, 1);
            return;
        }
        if (c->body_poke && c->ud) {
            c->body_poke = 0;
            server_of(c)->app->on_body(c->ud);
            if (!usable(c))
                return;
        }
        if (c->want_drain && queued(c) < cfg(c)->high_water && c->ud) {
            c->want_drain = 0;
            server_of(c)->app->on_drain(c->ud);
            if (!usable(c))
                return;
        }
        if (res->ended && res->head_sent && !ls_transport_busy(t))
            response_done(c);
    }
    if (!closing(c))
        conn_arm(c);
}

/* The 101 is queued: the transport goes to the protocol that took it over, with the input
 * already read past the request (kept in t->in, as for pipelining), and this object goes. */
static void hand_over(ls_conn *c) {
    ls_server *s = server_of(c);
    ls_transport *t = c->t;
    void *ud = c->ud;
    c->ud = NULL;
    ls_transport_flush(t);
    if (t->closing)
        return; /* on_closed frees it as usual */
    request_done(c, "upgrade", 0);
    if (ud)
        s->app->on_finish(ud);
    if (t->closing)
        return;
    if (!t->io->uncounted)
        ls_stat_gauge_add(&ls_stats_self->conns[c->gauge], -1);
    ls_upgrade_fn fn = c->upgrade_fn;
    void *arg = c->upgrade_arg;
    c->upgrade_fn = NULL;
    ls_transport_set_proto(t, NULL, NULL);
    /* Out of the server's list after the new protocol is in it (a stop in progress must not
     * see an empty list in between). */
    fn(arg, t, s);
    conn_free(c, s, t);
}

int ls_conn_upgrade(ls_conn *c, ls_upgrade_fn fn, void *arg) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.ended)
        return LS_EENDED;
    if (c->res.head_sent || c->res.frozen)
        return LS_EHEADERS_SENT;
    if (c->req.chunked || c->req.content_length > 0)
        return LS_ELENGTH;
    c->res.status = 101;
    c->upgrade_fn = fn;
    c->upgrade_arg = arg;
    int rc = ls_conn_finish(c, NULL, 0, NULL, NULL);
    return rc < 0 ? rc : LS_OK;
}

/* Fills the (reset) response with a short text answer of that status and ends it. */
static void error_response(ls_conn *c, int status) {
    c->res.status = status;
    const char *reason = ls_reason_phrase(status);
    char body[96];
    int n = snprintf(body, sizeof body, "%s\n", reason);
    ls_response_add_header(&c->res, "Content-Type", 12, "text/plain; charset=utf-8", 25);
    if (ls_status_allows_body(status)) {
        ls_outq_append(&c->res.pre, body, (size_t)n);
        c->res.body_bytes = (uint64_t)n;
    }
    c->res.ended = c->res.frozen = 1;
    conn_defer(c);
}

/* A protocol error or a limit: answer `status` with Connection: close if nothing was sent
 * yet, else drop the connection. Any request in progress is aborted. */
static void conn_fail(ls_conn *c, int status, ls_close_reason why) {
    if (closing(c))
        return;
    c->parse_dead = 1;
    if (c->state == ST_LINGER || c->res.head_sent || ls_transport_busy(c->t)) {
        conn_close(c, why, 1);
        return;
    }
    void *ud = c->ud;
    c->ud = NULL;
    c->state = ST_ACTIVE;
    conn_gauge(c, LS_CONN_ACTIVE);
    c->msg_complete = 1; /* nothing more is read for this request */
    c->t->in_len = 0;
    c->body_len = 0;
    ls_response_reset(&c->res);
    /* whatever the request said: the connection ends, under this reason */
    ls_keepalive_begin(&c->ka, 1, 1, 0, 0);
    ls_keepalive_lower(&c->ka, why);
    error_response(c, status);
    if (ud)
        server_of(c)->app->on_abort(ud);
}

void ls_conn_respond_error(ls_conn *c, int status) {
    if (!usable(c) || c->res.ended)
        return;
    if (c->res.user_close)
        ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
    if (c->res.head_sent) {
        ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
        if (c->t->inflight || c->t->wire_bytes > c->head_wire_mark) {
            /* Part of the response is out: what is queued still goes, then a FIN. The client
             * sees the body end early (no last chunk, or fewer bytes than announced). */
            c->truncated = 1;
            c->res.ended = 1;
            c->res.end_queued = 1;
            conn_defer(c);
            return;
        }
        /* The head is queued but nothing reached the wire: it can still be a 500, though
         * the handler's state is unknown, so the connection ends after it. */
        ls_outq_clear(&c->t->out);
    }
    ls_response_reset(&c->res);
    error_response(c, status);
}

void ls_conn_disown(ls_conn *c) { c->ud = NULL; }

int ls_conn_set_max_body(ls_conn *c, uint64_t limit) {
    if (!usable(c))
        return LS_ECLOSED;
    c->max_body = limit;
    if (!body_over_limit(c))
        return LS_OK;
    c->limit_check = 1; /* already passed: 413 from deferred work (not inside this call) */
    conn_defer(c);
    return 1;
}

uint64_t ls_conn_max_body(const ls_conn *c) { return c->max_body; }

int ls_conn_body_too_large(const ls_conn *c) { return c->too_large; }

void ls_conn_destroy(ls_conn *c) {
    if (closing(c))
        return;
    int body_unread = c->state == ST_ACTIVE && !c->msg_complete &&
                      (c->req.chunked || c->req.content_length > 0);
    int unclean = ls_transport_busy(c->t) || c->t->in_len || body_unread;
    conn_close(c, LS_CLOSE_DESTROY, unclean);
}

/* ---------------------------------------------------------------- application API */

const ls_request *ls_conn_request(const ls_conn *c) { return &c->req; }
const ls_response *ls_conn_response(const ls_conn *c) { return &c->res; }
const char *ls_conn_remote_address(const ls_conn *c) { return ls_transport_peer(c->t); }
ls_server *ls_conn_server(const ls_conn *c) { return server_of(c); }

size_t ls_conn_body(const ls_conn *c, const char **data) {
    *data = c->body;
    return usable(c) ? c->body_len : 0;
}

void ls_conn_body_take(ls_conn *c, size_t n) {
    if (!usable(c) || n == 0)
        return;
    if (n > c->body_len)
        n = c->body_len;
    memmove(c->body, c->body + n, c->body_len - n);
    c->body_len -= n;
    if (!c->t->reading) {
        conn_update_reading(c);
        conn_arm(c);
    }
}

int ls_conn_body_complete(const ls_conn *c) { return !usable(c) || c->msg_complete; }

void ls_conn_body_poke(ls_conn *c) {
    if (!usable(c))
        return;
    c->body_poke = 1;
    conn_defer(c);
}

void ls_conn_body_wanted(ls_conn *c) {
    if (!usable(c) || !c->need_continue || c->res.head_sent || c->msg_complete)
        return;
    if (body_over_limit(c)) /* not asked for: a 413 follows (conn_advance) */
        return;
    c->need_continue = 0;
    ls_outq_append(&c->t->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    conn_defer(c);
}

int ls_conn_set_status(ls_conn *c, int status) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.frozen)
        return LS_EHEADERS_SENT;
    if (status < 100 || status > 999)
        return LS_EBADSTATUS;
    c->res.status = status;
    return LS_OK;
}

int ls_conn_set_reason(ls_conn *c, const char *reason, size_t len) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.frozen)
        return LS_EHEADERS_SENT;
    if (!ls_header_value_valid(reason, len))
        return LS_EBADVALUE;
    return ls_response_set_reason(&c->res, reason, len) < 0 ? LS_ENOMEM : LS_OK;
}

int ls_conn_set_header(ls_conn *c, const char *name, size_t nlen, const char *value,
                       size_t vlen, int replace) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.frozen)
        return LS_EHEADERS_SENT;
    if (!ls_header_name_valid(name, nlen))
        return LS_EBADNAME;
    if (!ls_header_value_valid(value, vlen))
        return LS_EBADVALUE;
    int64_t len;
    if (nlen == 14 && ls_name_is(name, nlen, "content-length") &&
        ls_response_parse_length(value, vlen, &len) < 0)
        return LS_EBADLENGTH;
    if (replace)
        ls_response_remove_header(&c->res, name, nlen);
    if (ls_response_add_header(&c->res, name, nlen, value, vlen) < 0)
        return LS_ENOMEM;
    ls_response_refresh_special(&c->res);
    return LS_OK;
}

int ls_conn_remove_header(ls_conn *c, const char *name, size_t nlen) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.frozen)
        return LS_EHEADERS_SENT;
    ls_response_remove_header(&c->res, name, nlen);
    ls_response_refresh_special(&c->res);
    return LS_OK;
}

int ls_conn_freeze_head(ls_conn *c) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.frozen)
        return LS_EHEADERS_SENT;
    c->res.frozen = 1;
    return LS_OK;
}

int ls_conn_headers_sent(const ls_conn *c) { return c->res.frozen; }
int ls_conn_open(const ls_conn *c) { return usable(c); }
int ls_conn_finished(const ls_conn *c) { return c->res.ended; }

int ls_conn_keepalive(const ls_conn *c) {
    return ls_keepalive_on(&c->ka) && !c->t->peer_eof &&
           (c->res.head_sent || !c->res.user_close);
}

void ls_conn_set_keepalive(ls_conn *c, int keepalive) {
    /* Only ever lowered: HTTP's answer (a client's Connection: close, HTTP/1.0 without
     * keep-alive) and the server's state cannot be overridden (RFC 9112 9.6). Lowered after
     * the head went out, it is too late to say so, but the connection still ends after the
     * response. */
    if (usable(c) && !keepalive)
        ls_keepalive_lower(&c->ka, LS_CLOSE_FINISH);
}

/* Whether the keep-alive decision can be taken now: the request body is all in, or there is
 * none and no 100-continue is pending. (A handler that finishes inside on_request runs before
 * the parser has reached the end of the message; with a body to come, the head waits for the
 * deferred step, when what is unread is known.) */
static int body_settled(const ls_conn *c) {
    return c->msg_complete ||
           (!c->req.chunked && c->req.content_length <= 0 && !c->need_continue);
}

/* After body bytes were queued: bounds and backpressure. */
static int after_write(ls_conn *c) {
    if (queued(c) > cfg(c)->max_output) { /* a handler that ignores false: stop it here */
        LS_LOG(LS_LOG_WARN, "%s: output over %zu bytes: dropped", ls_transport_peer(c->t),
               cfg(c)->max_output);
        conn_close(c, LS_CLOSE_LIMIT, 1);
        return LS_ECLOSED;
    }
    conn_defer(c);
    if (queued(c) < cfg(c)->high_water)
        return 1;
    c->want_drain = 1;
    return 0;
}

/* The first write commits the head: the body is a stream from here on. */
static int write_begin(ls_conn *c, ls_release_fn rel, void *ctx) {
    if (!usable(c) || c->res.ended) {
        if (rel)
            rel(ctx);
        return usable(c) ? LS_EENDED : LS_ECLOSED;
    }
    if (!c->res.head_sent) {
        c->res.frozen = 1;
        emit_head(c, NULL, 0, NULL, NULL);
        if (!usable(c)) {
            if (rel)
                rel(ctx);
            return LS_ECLOSED;
        }
    }
    return LS_OK;
}

int ls_conn_write(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    int r = write_begin(c, rel, ctx);
    if (r < 0)
        return r;
    if (len) {
        r = ls_body_admit(&c->res, c->req.is_head, len, rel, ctx);
        if (r < 0)
            return r;
        if (r == 1 && (r = ls_body_append(&c->res, &c->t->out, data, len, rel, ctx)) < 0)
            return r;
    } else if (rel) {
        rel(ctx);
    }
    return after_write(c);
}

int ls_conn_write_file(ls_conn *c, int fd, int64_t pos, size_t len, ls_release_fn rel,
                       void *ctx) {
    int r = write_begin(c, rel, ctx);
    if (r < 0)
        return r;
    r = ls_body_admit(&c->res, c->req.is_head, len, rel, ctx);
    if (r < 0)
        return r;
    if (r == 1 && (r = ls_body_append_file(&c->res, &c->t->out, fd, pos, len, rel, ctx)) < 0)
        return r;
    return after_write(c);
}

int ls_conn_drain_wait(ls_conn *c) {
    if (!usable(c) || queued(c) < cfg(c)->high_water)
        return 1;
    c->want_drain = 1;
    return 0;
}

int ls_conn_finish(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    if (!usable(c) || c->res.ended) {
        if (rel)
            rel(ctx);
        return usable(c) ? 0 : LS_ECLOSED;
    }
    ls_response *res = &c->res;
    int r = ls_body_admit(res, c->req.is_head, len, rel, ctx);
    if (r < 0)
        return r;
    if (r == 0)
        len = 0, rel = NULL; /* released: no body on the wire */
    if (!res->head_sent && body_settled(c)) {
        /* The whole response is known: the head goes out with the body, in one buffer when
         * the body is short. */
        if (len)
            res->body_bytes += len;
        res->ended = res->frozen = 1;
        emit_head(c, data, len, rel, ctx);
        if (closing(c))
            return LS_ECLOSED; /* no memory for the head: the connection is dropped */
        conn_defer(c);
        return 1;
    }
    if ((len || rel) && (r = ls_body_append(res, &c->t->out, data, len, rel, ctx)) < 0)
        return r;
    res->ended = res->frozen = 1;
    if (res->head_sent)
        body_end(c);
    conn_defer(c);
    return 1;
}
