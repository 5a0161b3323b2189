/* An in-memory stand-in for core/conn.c and core/server.c (see fake_conn.h).
 *
 * The application-facing functions keep the semantics of core/conn.c: the same checks,
 * return codes and framing, the head emitted at the first write or at the deferred step
 * after finish, the same keep-alive decision. What is left out is everything that touches
 * a socket or a timer: reading and parsing (the request is filled once), the timeouts,
 * lingering close, and the kit of buffers lent to idle connections. */
#include "fake_conn.h"

#include "date.h"
#include "keepalive.h"
#include "log.h"
#include "response_head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FC_IDLE, FC_ACTIVE, FC_CLOSING };

struct ls_conn {
    ls_conn_node node; /* first, as in core/conn.c: the server's links */
    ls_server *server;
    int state;
    ls_request req;
    ls_response res;
    ls_outq out;
    void *ud;               /* the application's handle for the active request */
    uint64_t wire_bytes;    /* bytes "the kernel took" on this connection */
    uint64_t head_wire_mark; /* wire_bytes beyond which the head is on the wire */
    char *wire;             /* the bytes taken for the current request */
    size_t wire_len, wire_cap;
    fake_result result;
    unsigned msg_complete : 1;
    unsigned want_drain : 1;
    unsigned end_queued : 1;
    unsigned keepalive_final : 1;
    unsigned keepalive_allowed : 1;
    unsigned truncated : 1;
    unsigned body_poke : 1;
    unsigned need_continue : 1;
};

static inline const ls_settings *cfg(const ls_conn *c) { return &c->server->settings; }
static inline size_t queued(const ls_conn *c) { return c->out.bytes + c->res.pre.bytes; }
static inline int usable(const ls_conn *c) { return c->state == FC_ACTIVE; }
static int is_head(const ls_request *q) { return q->method && strcmp(q->method, "HEAD") == 0; }

const char *ls_strerror(int err) {
    switch (err) {
    case LS_ECLOSED: return "connection closed";
    case LS_EENDED: return "write after end";
    case LS_ELENGTH: return "body longer than the Content-Length set";
    case LS_EHEADERS_SENT: return "headers already sent";
    case LS_EBADNAME: return "invalid header name";
    case LS_EBADVALUE: return "invalid character in header value";
    case LS_ENOMEM: return "out of memory";
    case LS_EBADSTATUS: return "invalid status code";
    case LS_EBADLENGTH: return "invalid Content-Length";
    default: return "unknown error";
    }
}

/* ---------------------------------------------------------------- the server */

void fake_server_init(ls_server *s, uv_loop_t *loop, const ls_settings *settings,
                      const ls_app_iface *app, void *app_ctx) {
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->settings = *settings;
    s->app = app;
    s->app_ctx = app_ctx;
}

void ls_server_defer(ls_server *s, ls_conn *c) {
    if (c->node.pending)
        return;
    c->node.pending = 1;
    c->node.next_pending = s->pending;
    s->pending = c;
}

void ls_server_run_pending(ls_server *s) {
    if (s->depth)
        return; /* already running: what was deferred meanwhile is picked up below */
    s->depth++;
    while (s->pending) {
        ls_conn *list = s->pending;
        s->pending = NULL;
        while (list) {
            ls_conn *c = list;
            list = c->node.next_pending;
            c->node.next_pending = NULL;
            c->node.pending = 0;
            ls_conn_advance(c);
        }
    }
    s->depth--;
}

/* ---------------------------------------------------------------- the connection */

ls_conn *fake_conn_new(ls_server *s, const char *method, const char *url, int http_minor,
                       const char *const *fields) {
    ls_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->server = s;
    c->state = FC_IDLE;
    ls_request_init(&c->req);
    ls_response_init(&c->res);
    ls_outq_init(&c->out);
    /* What the llhttp callbacks of core/conn.c feed, in the same order. */
    ls_request *q = &c->req;
    int bad = ls_request_feed(q, 0, url, strlen(url)) < 0;
    for (size_t i = 0; !bad && fields && fields[i]; i += 2) {
        if (!fields[i + 1])
            bad = 1;
        else
            bad = ls_request_feed(q, 1, fields[i], strlen(fields[i])) < 0 ||
                  ls_request_feed(q, 2, fields[i + 1], strlen(fields[i + 1])) < 0;
        if (!bad)
            ls_request_field_done(q);
    }
    q->method = method;
    q->http_major = 1;
    q->http_minor = http_minor;
    if (http_minor == 0)
        q->expect_continue = q->bad_expect = 0;
    /* The heads the real server answers itself with an error never reach the application. */
    if (bad || q->bad_field || q->bad_host || q->unknown_coding || q->bad_expect ||
        (http_minor >= 1 && q->hosts != 1) || q->chunked || q->content_length > 0) {
        fake_conn_free(c);
        return NULL;
    }
    return c;
}

void fake_conn_free(ls_conn *c) {
    if (!c)
        return;
    ls_request_free(&c->req);
    ls_response_free(&c->res);
    ls_outq_free(&c->out);
    free(c->wire);
    free(c);
}

const char *fake_conn_output(const ls_conn *c, size_t *len) {
    *len = c->wire_len;
    return c->wire ? c->wire : "";
}

/* The connection ends: queued output goes, the request is aborted from the deferred step
 * (core/conn.c does it from the handles' close callback). */
static void conn_close(ls_conn *c, ls_close_reason why) {
    if (c->state == FC_CLOSING)
        return;
    c->state = FC_CLOSING;
    c->server->closes[why]++;
    ls_outq_clear(&c->out);
    ls_outq_clear(&c->res.pre);
    ls_server_defer(c->server, c);
}

/* What the kernel would take: everything queued, copied out. */
static void flush(ls_conn *c) {
    uv_buf_t bufs[64];
    while (c->out.bytes) {
        size_t n = ls_outq_bufs(&c->out, bufs, 64), total = 0;
        for (size_t i = 0; i < n; i++)
            total += bufs[i].len;
        if (c->wire_len + total > c->wire_cap) {
            size_t cap = c->wire_cap ? c->wire_cap : 4096;
            while (cap < c->wire_len + total)
                cap *= 2;
            char *w = realloc(c->wire, cap);
            if (!w) {
                conn_close(c, LS_CLOSE_LIMIT);
                return;
            }
            c->wire = w, c->wire_cap = cap;
        }
        for (size_t i = 0; i < n; i++) {
            memcpy(c->wire + c->wire_len, bufs[i].base, bufs[i].len);
            c->wire_len += bufs[i].len;
        }
        ls_outq_consume(&c->out, total);
        c->wire_bytes += total;
    }
}

static int queue_bytes(ls_outq *q, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    int r = rel ? ls_outq_append_ref(q, data, len, rel, ctx) : ls_outq_append(q, data, len);
    return r < 0 ? LS_ENOMEM : LS_OK;
}

/* "<hex length>\r\n" */
static int queue_chunk_size(ls_conn *c, size_t len) {
    char buf[20];
    size_t n = 0;
    int shift = 0;
    while (shift < 60 && (len >> shift) >> 4)
        shift += 4;
    for (; shift >= 0; shift -= 4)
        buf[n++] = "0123456789abcdef"[(len >> shift) & 15];
    buf[n++] = '\r';
    buf[n++] = '\n';
    return ls_outq_append(&c->out, buf, n) < 0 ? LS_ENOMEM : LS_OK;
}

/* The end of the body, once, after the head. */
static void queue_end(ls_conn *c) {
    if (c->end_queued)
        return;
    c->end_queued = 1;
    if (c->res.framing.framing == LS_FRAME_CHUNKED)
        ls_outq_append(&c->out, "0\r\n\r\n", 5);
    else if (c->res.framing.framing == LS_FRAME_LENGTH &&
             c->res.body_bytes < c->res.framing.length)
        c->keepalive_final = 0; /* fewer bytes than announced: the connection must end */
}

/* The request body is unread beyond what a keep-alive connection would drain. The fake
 * requests have no body, but the rule is kept with the rest of the decision. */
static int unread_body_over_limit(const ls_conn *c) {
    if (c->msg_complete)
        return 0;
    if (c->req.chunked)
        return 1;
    if (c->req.content_length < 0)
        return 0;
    return (uint64_t)c->req.content_length - c->req.body_received > cfg(c)->discard_limit;
}

/* The head goes into the output queue: framing, keep-alive, then the bytes. */
static void emit_head(ls_conn *c) {
    ls_response *res = &c->res;
    const ls_request *q = &c->req;
    ls_framing_in fi = {
        .status = res->status,
        .head_request = is_head(q),
        .http11 = q->http_major == 1 && q->http_minor >= 1,
        .ended = res->ended,
        .body_len = res->body_bytes,
        .user_length = res->user_length,
    };
    ls_framing_out fo = ls_framing_decide(&fi);
    ls_keepalive_in ki = {
        .wanted = res->keepalive && !res->user_close,
        .shutting_down = c->server->stopping,
        .at_request_limit = 1 >= cfg(c)->max_requests, /* the first request of a connection */
        .unread_body_over = unread_body_over_limit(c) || (c->need_continue && !c->msg_complete),
        .protocol_error = q->has_te && q->http_minor == 0,
        .close_delimited = fo.framing == LS_FRAME_CLOSE,
        .peer_done = 0,
    };
    int keep = ls_keepalive_decide(&ki);
    if (res->status < 200)
        keep = 0;
    if (res->ended && fo.framing == LS_FRAME_LENGTH && res->body_bytes < fo.length)
        keep = 0;
    if (res->status < 300 && q->method && strcmp(q->method, "CONNECT") == 0)
        keep = 0;
    c->keepalive_final = keep ? 1 : 0;
    ls_head h = {
        .status = res->status,
        .reason = res->reason,
        .rlen = res->rlen,
        .headers = res->headers,
        .nheaders = res->nheaders,
        .framing = fo,
        .keepalive = keep,
        .keepalive_timeout_s = (unsigned)(cfg(c)->keepalive_timeout_ms / 1000),
        .date = ls_date_now(),
    };
    char stack[2048], *buf = stack;
    size_t n = ls_head_serialize(&h, stack, sizeof stack);
    if (n > sizeof stack) {
        if (!(buf = malloc(n))) {
            conn_close(c, LS_CLOSE_LIMIT);
            return;
        }
        ls_head_serialize(&h, buf, n);
    }
    c->need_continue = 0;
    c->head_wire_mark = c->wire_bytes + c->out.bytes;
    ls_outq_append(&c->out, buf, n);
    if (buf != stack)
        free(buf);
    res->head_sent = res->frozen = 1;
    res->framing = fo;
    if (fo.framing == LS_FRAME_NONE) {
        ls_outq_clear(&res->pre);
    } else if (res->pre.bytes) {
        if (fo.framing == LS_FRAME_CHUNKED)
            queue_chunk_size(c, res->pre.bytes);
        ls_outq_move(&c->out, &res->pre);
        if (fo.framing == LS_FRAME_CHUNKED)
            ls_outq_append(&c->out, "\r\n", 2);
    }
    if (res->ended)
        queue_end(c);
}

/* Every byte is out: the request is detached and the connection is ready for the next. */
static void response_done(ls_conn *c) {
    void *ud = c->ud;
    c->ud = NULL;
    int keep = c->keepalive_final && !c->server->stopping && !unread_body_over_limit(c) &&
               !c->truncated;
    c->result = c->truncated ? FAKE_ABORTED : FAKE_FINISHED;
    if (ud) {
        if (c->truncated)
            c->server->app->on_abort(ud);
        else
            c->server->app->on_finish(ud);
    }
    if (c->state != FC_ACTIVE)
        return; /* closed meanwhile */
    if (!keep)
        c->server->closes[LS_CLOSE_FINISH]++;
    c->state = FC_IDLE;
    c->msg_complete = 0;
    ls_response_reset(&c->res, 0);
}

void ls_conn_advance(ls_conn *c) {
    ls_server *s = c->server;
    if (!s->depth) { /* the callbacks below must only run from the deferred-work list */
        fputs("fake_conn: ls_conn_advance called outside ls_server_run_pending\n", stderr);
        abort();
    }
    if (c->state == FC_CLOSING) {
        void *ud = c->ud;
        c->ud = NULL;
        c->result = FAKE_ABORTED;
        if (ud)
            s->app->on_abort(ud);
        return;
    }
    if (c->state != FC_ACTIVE)
        return;
    ls_response *res = &c->res;
    if (!res->head_sent && res->ended)
        emit_head(c);
    if (c->state != FC_ACTIVE)
        return;
    flush(c);
    if (c->state != FC_ACTIVE)
        return;
    if (c->body_poke && c->ud) {
        c->body_poke = 0;
        s->app->on_body(c->ud);
        if (c->state != FC_ACTIVE)
            return;
    }
    if (c->want_drain && queued(c) < cfg(c)->high_water && c->ud) {
        c->want_drain = 0;
        s->app->on_drain(c->ud);
        if (c->state != FC_ACTIVE)
            return;
    }
    if (res->ended && res->head_sent && c->out.bytes == 0)
        response_done(c);
}

fake_result fake_conn_serve(ls_conn *c) {
    ls_server *s = c->server;
    /* A connection that was closed (destroyed) comes back as a new one. */
    ls_outq_clear(&c->out);
    ls_outq_clear(&c->res.pre);
    c->wire_len = 0;
    c->wire_bytes = c->head_wire_mark = 0;
    c->result = FAKE_PENDING;
    c->body_poke = c->want_drain = c->end_queued = c->keepalive_final = c->truncated = 0;
    c->msg_complete = 0;
    c->need_continue = c->req.expect_continue;
    /* core/conn.c's dispatch() */
    const ls_request *q = &c->req;
    int keep = ls_keepalive_initial(q->http_major, q->http_minor, q->conn_close,
                                    q->conn_keepalive);
    if (1 >= cfg(c)->max_requests || s->stopping)
        keep = 0;
    c->keepalive_allowed = keep ? 1 : 0;
    c->state = FC_ACTIVE;
    ls_response_reset(&c->res, keep);
    s->requests++;
    c->ud = s->app->on_request(s->app_ctx, c);
    /* llhttp, run once more after the head, completes a message without a body; the
     * connection then tells the application (from the read callback, after on_request). */
    if (c->state == FC_ACTIVE) {
        c->msg_complete = 1;
        if (c->ud)
            s->app->on_body(c->ud);
    }
    ls_server_run_pending(s);
    /* A handler that waits (lunaserve.sleep): the loop runs until the response is done. */
    while (c->result == FAKE_PENDING && s->loop && uv_loop_alive(s->loop)) {
        uv_run(s->loop, UV_RUN_ONCE);
        ls_server_run_pending(s);
    }
    return c->result;
}

/* ---------------------------------------------------------------- application API */

const ls_request *ls_conn_request(const ls_conn *c) { return &c->req; }
const ls_response *ls_conn_response(const ls_conn *c) { return &c->res; }
const char *ls_conn_remote_address(const ls_conn *c) {
    (void)c;
    return "127.0.0.1";
}
ls_server *ls_conn_server(const ls_conn *c) { return c->server; }

size_t ls_conn_body(const ls_conn *c, const char **data) {
    (void)c;
    *data = NULL;
    return 0; /* the fake requests have no body */
}

void ls_conn_body_take(ls_conn *c, size_t n) { (void)c, (void)n; }

int ls_conn_body_complete(const ls_conn *c) { return !usable(c) || c->msg_complete; }

void ls_conn_body_poke(ls_conn *c) {
    if (!usable(c))
        return;
    c->body_poke = 1;
    ls_server_defer(c->server, c);
}

void ls_conn_body_wanted(ls_conn *c) {
    if (!usable(c) || !c->need_continue || c->res.head_sent || c->msg_complete)
        return;
    c->need_continue = 0;
    ls_outq_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    ls_server_defer(c->server, c);
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

/* A Content-Length value: digits, optionally surrounded by blanks; -1 if not one. */
static int64_t content_length_of(const char *v, size_t n) {
    size_t i = 0;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (i == n || n - i > 18)
        return -1;
    int64_t x = 0;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* Whether a Connection value lists the token "close". */
static int says_close(const char *v, size_t n) {
    for (size_t p = 0; p + 5 <= n; p++)
        if (ls_name_is(v + p, 5, "close") && (p == 0 || v[p - 1] == ',' || v[p - 1] == ' ') &&
            (p + 5 == n || v[p + 5] == ',' || v[p + 5] == ' '))
            return 1;
    return 0;
}

/* The fields the engine reads back (Content-Length, Connection: close) after any change. */
static void fields_changed(ls_response *res) {
    res->user_length = -1;
    res->user_close = 0;
    long i = ls_response_find_header(res, "content-length", 14, 0);
    if (i >= 0)
        res->user_length = content_length_of(res->headers[i].value, res->headers[i].vlen);
    for (size_t k = 0; (i = ls_response_find_header(res, "connection", 10, k)) >= 0; k++)
        if (says_close(res->headers[i].value, res->headers[i].vlen))
            res->user_close = 1;
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
    if (nlen == 14 && ls_name_is(name, nlen, "content-length") &&
        content_length_of(value, vlen) < 0)
        return LS_EBADLENGTH;
    if (replace)
        ls_response_remove_header(&c->res, name, nlen);
    if (ls_response_add_header(&c->res, name, nlen, value, vlen) < 0)
        return LS_ENOMEM;
    fields_changed(&c->res);
    return LS_OK;
}

int ls_conn_remove_header(ls_conn *c, const char *name, size_t nlen) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.frozen)
        return LS_EHEADERS_SENT;
    ls_response_remove_header(&c->res, name, nlen);
    fields_changed(&c->res);
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
    if (c->res.head_sent)
        return c->keepalive_final;
    return c->res.keepalive && !c->res.user_close && !c->server->stopping;
}

void ls_conn_set_keepalive(ls_conn *c, int keepalive) {
    if (!usable(c))
        return;
    if (c->res.head_sent) {
        if (!keepalive)
            c->keepalive_final = 0;
        return;
    }
    c->res.keepalive = keepalive && c->keepalive_allowed ? 1 : 0; /* only ever lowered */
}

/* Body bytes to the right queue, framed as the response says. */
static int body_append(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    ls_response *res = &c->res;
    if (!ls_status_allows_body(res->status) || is_head(&c->req) ||
        (res->head_sent && res->framing.framing == LS_FRAME_NONE)) {
        res->body_bytes += len; /* counted (a HEAD's Content-Length), never sent */
        if (rel)
            rel(ctx);
        return LS_OK;
    }
    if (res->user_length >= 0 && res->body_bytes + len > (uint64_t)res->user_length) {
        if (rel)
            rel(ctx);
        return LS_ELENGTH;
    }
    int r;
    if (!res->head_sent) {
        r = queue_bytes(&res->pre, data, len, rel, ctx);
    } else if (res->framing.framing == LS_FRAME_CHUNKED) {
        r = queue_chunk_size(c, len);
        if (r == LS_OK)
            r = queue_bytes(&c->out, data, len, rel, ctx);
        else if (rel)
            rel(ctx);
        if (r == LS_OK && ls_outq_append(&c->out, "\r\n", 2) < 0)
            r = LS_ENOMEM;
    } else {
        r = queue_bytes(&c->out, data, len, rel, ctx);
    }
    if (r == LS_OK)
        res->body_bytes += len;
    return r;
}

int ls_conn_write(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    if (!usable(c) || c->res.ended) {
        if (rel)
            rel(ctx);
        return usable(c) ? LS_EENDED : LS_ECLOSED;
    }
    if (!c->res.head_sent) { /* the first write commits the head */
        c->res.frozen = 1;
        emit_head(c);
        if (!usable(c)) {
            if (rel)
                rel(ctx);
            return LS_ECLOSED;
        }
    }
    if (len) {
        int r = body_append(c, data, len, rel, ctx);
        if (r < 0)
            return r;
    }
    if (queued(c) > cfg(c)->max_output) {
        conn_close(c, LS_CLOSE_LIMIT);
        return LS_ECLOSED;
    }
    ls_server_defer(c->server, c);
    if (queued(c) < cfg(c)->high_water)
        return 1;
    c->want_drain = 1;
    return 0;
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
    if (len) {
        int r = body_append(c, data, len, rel, ctx);
        if (r < 0)
            return r;
    }
    c->res.ended = c->res.frozen = 1;
    if (c->res.head_sent)
        queue_end(c);
    /* The head is built by the deferred step, as in core/conn.c: until the handler's call
     * returns, res.shouldKeepAlive still says what the handler may change. */
    ls_server_defer(c->server, c);
    return 1;
}

/* A short text answer of that status, ended; sent by the deferred step. */
static void error_response(ls_conn *c, int status) {
    char body[96];
    int n = snprintf(body, sizeof body, "%s\n", ls_reason_phrase(status));
    c->res.status = status;
    ls_response_add_header(&c->res, "Content-Type", 12, "text/plain; charset=utf-8", 25);
    if (ls_status_allows_body(status)) {
        ls_outq_append(&c->res.pre, body, (size_t)n);
        c->res.body_bytes = (uint64_t)n;
    }
    c->res.ended = c->res.frozen = 1;
    ls_server_defer(c->server, c);
}

void ls_conn_respond_error(ls_conn *c, int status) {
    if (!usable(c) || c->res.ended)
        return;
    int keep = c->res.keepalive && !c->res.user_close;
    if (c->res.head_sent) {
        if (c->wire_bytes > c->head_wire_mark) {
            /* part of the response is out: what is queued goes, then the connection ends */
            c->truncated = 1;
            c->res.ended = 1;
            c->end_queued = 1;
            c->keepalive_final = 0;
            ls_server_defer(c->server, c);
            return;
        }
        ls_outq_clear(&c->out); /* the head never left: it becomes a 500, then a close */
        keep = 0;
    }
    ls_response_reset(&c->res, keep);
    c->end_queued = 0;
    error_response(c, status);
}

void ls_conn_destroy(ls_conn *c) { conn_close(c, LS_CLOSE_DESTROY); }
