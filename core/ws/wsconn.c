#include "wsconn.h"

#include "close_code.h"
#include "deflate.h"
#include "utf8.h"
#include "frame_write.h"
#include "log.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

struct ls_wsconn {
    ls_conn_link link; /* first: the server's list of connections */
    ls_transport *t;
    ls_server *srv;
    unsigned kind;
    ls_ws_parser p;
    ls_ws_opts o;
    const ls_ws_iface *app;
    void *ud;
    uint64_t last_input; /* loop time of the last input (pings measure silence from it) */
    uint64_t ping_at;    /* when our unanswered ping went out */
    uint64_t close_at;   /* our close waits for the peer's until then */
    /* An event that came while the application was not waiting: a message or fragment (or a
     * ping, without auto_pong) waits here, and reading stops until it is taken; the newest
     * pong waits in its own slot, so heartbeats never stop reading. */
    ls_ws_event held;
    uint8_t *held_data;
    ls_ws_event held_pong;
    uint8_t pong_data[LS_WS_CONTROL_MAX];
    unsigned want : 1;
    unsigned has_held : 1;
    unsigned has_pong : 1;
    unsigned close_sent : 1;
    unsigned close_received : 1;
    unsigned failed : 1;
    unsigned want_drain : 1;
    unsigned ping_out : 1;
    unsigned linger_next : 1; /* linger once the queued output (our close) is out */
    unsigned linger_why : 5;
};

static void ws_arm(ls_wsconn *ws);

/* Input is read whether or not the application waits (pings are answered, the peer's close
 * is seen), except while a message it has not taken is held; after our close it is read
 * anyway (data is dropped then), so the peer's answer is seen. */
static int reading_wanted(const ls_wsconn *ws) {
    return !ws->close_received && !ws->failed && (!ws->has_held || ws->close_sent);
}

/* Reading and the deadline, from what the protocol waits for. Not while lingering: the
 * transport reads then (deferred work, run inside an application callback, may have started
 * the linger under a caller of this). */
static void update(ls_wsconn *ws) {
    if (ws->t->closing || ws->t->lingering)
        return;
    ls_transport_read(ws->t, reading_wanted(ws));
    ws_arm(ws);
}

/* The bound in force: our close awaiting the peer's, else the ping interval while reading. */
static void ws_arm(ls_wsconn *ws) {
    ls_transport *t = ws->t;
    unsigned kind = LS_DEADLINE_NONE;
    uint64_t at = 0;
    if (ws->close_sent && !ws->close_received) {
        kind = ws->kind, at = ws->close_at;
    } else if (ws->o.ping_interval_ms && reading_wanted(ws)) {
        kind = ws->kind;
        at = (ws->ping_out ? ws->ping_at : ws->last_input) + ws->o.ping_interval_ms;
    }
    ls_transport_arm(t, kind, at, 1);
}

static int queue(ls_wsconn *ws, const void *data, size_t len) {
    if (ls_outq_append(&ws->t->out, data, len) < 0) {
        ls_transport_close(ws->t, LS_CLOSE_LIMIT, 1);
        return LS_WS_ENOMEM;
    }
    ls_transport_defer(ws->t);
    return 0;
}

/* Queues our close frame, once, and starts waiting for the peer's. */
static int send_close(ls_wsconn *ws, unsigned code, const char *reason, size_t len) {
    if (ws->close_sent || ws->t->closing)
        return LS_WS_ECLOSED;
    uint8_t frame[LS_WS_CONTROL_FRAME_MAX];
    size_t n = ls_ws_frame_close(frame, code, reason, ls_ws_reason_cut(reason, len));
    if (!n)
        return LS_WS_EINVAL;
    ws->close_sent = 1;
    ws->close_at = ls_io_now(ws->t->io) + ws->o.close_timeout_ms;
    return queue(ws, frame, n);
}

/* After both closes: FIN once our close is on its way, then the transport's bounded linger. */
static void finish(ls_wsconn *ws, ls_close_reason why) {
    ws->linger_next = 1;
    ws->linger_why = why;
    ls_transport_defer(ws->t);
}

static void deliver(ls_wsconn *ws, const ls_ws_event *ev) {
    ws->want = 0;
    if (ws->app)
        ws->app->on_event(ws->ud, ev);
}

/* Keeps an event the application did not wait for (its payload is copied: the parser's
 * buffer or the input it points into is reused). 0, or -1 out of memory. */
static int hold(ls_wsconn *ws, const ls_ws_event *ev) {
    if (ev->type == LS_WS_EV_PONG) { /* only the newest pong is kept */
        ws->held_pong = *ev;
        memcpy(ws->pong_data, ev->data, ev->len);
        ws->held_pong.data = ws->pong_data;
        ws->has_pong = 1;
        return 0;
    }
    uint8_t *copy = malloc(ev->len ? ev->len : 1);
    if (!copy)
        return -1;
    memcpy(copy, ev->data, ev->len);
    ws->held = *ev;
    ws->held.data = copy;
    ws->held_data = copy;
    ws->has_held = 1;
    return 0;
}

/* Hands held events to an application that waits: the pong first (it came first, or it is
 * the newest heartbeat), then the held message. */
static void deliver_held(ls_wsconn *ws) {
    if (ws->want && ws->has_pong) {
        ws->has_pong = 0;
        deliver(ws, &ws->held_pong);
    }
    if (ws->want && ws->has_held && !ws->t->closing) {
        ls_ws_event ev = ws->held;
        uint8_t *data = ws->held_data;
        ws->has_held = 0;
        ws->held_data = NULL;
        deliver(ws, &ev);
        free(data);
    }
}

/* The peer broke the protocol above the framing (a compressed message that does not inflate
 * or is not UTF-8): our close with code, then the same end as a framing error. */
static void protocol_fail(ls_wsconn *ws, unsigned code, const char *why) {
    LS_LOG(LS_LOG_DEBUG, "%s: websocket: %s (close %u)", ls_transport_peer(ws->t), why, code);
    ws->failed = 1;
    send_close(ws, code, NULL, 0);
    finish(ws, LS_CLOSE_PROTOCOL);
    ls_ws_event ev = {.type = LS_WS_EV_ERROR, .code = code, .error = why};
    deliver(ws, &ev);
}

/* A compressed message: its payload becomes the inflated bytes in z (the caller frees
 * z->data). 0, or -1 after failing the connection. */
static int inflate_message(ls_wsconn *ws, ls_ws_event *ev, ls_ws_zbuf *z) {
    int rc = ls_ws_inflate(ev->data, ev->len, ws->o.max_payload, z);
    if (rc == LS_WS_Z_TOO_BIG) {
        protocol_fail(ws, 1009, "inflated message over max_payload");
        return -1;
    }
    if (rc == LS_WS_Z_NOMEM) {
        protocol_fail(ws, 1011, "out of memory");
        return -1;
    }
    if (rc != LS_WS_Z_OK) {
        protocol_fail(ws, 1007, "compressed message does not inflate");
        return -1;
    }
    if (ev->opcode == LS_WS_OP_TEXT && !ls_utf8_valid(z->data, z->len)) {
        protocol_fail(ws, 1007, "text is not UTF-8");
        return -1;
    }
    ev->data = z->len ? z->data : (const uint8_t *)"";
    ev->len = z->len;
    ev->compressed = 0;
    return 0;
}

/* Parses what arrived (unless a message the application has not taken is held, or the
 * connection is past its close); keeps the rest. Data the application does not wait for is
 * held, which stops reading. */
static void process(ls_wsconn *ws, uint8_t *data, size_t len, int from_in) {
    ls_transport *t = ws->t;
    if (len)
        ws->last_input = ls_io_now(t->io), ws->ping_out = 0;
    while (len && !t->closing && !t->lingering && reading_wanted(ws)) {
        size_t used;
        ls_ws_event ev;
        ls_ws_event_type type = ls_ws_parse(&ws->p, data, len, &used, &ev);
        data += used, len -= used;
        switch (type) {
        case LS_WS_EV_NONE:
            break;
        case LS_WS_EV_PING:
            if (ws->close_sent)
                break;
            if (ws->o.auto_pong) {
                uint8_t frame[LS_WS_CONTROL_FRAME_MAX];
                queue(ws, frame, ls_ws_frame_control(frame, LS_WS_OP_PONG, ev.data, ev.len));
                break;
            }
            /* without auto_pong the application answers: as data */
            /* fall through */
        case LS_WS_EV_MESSAGE:
        case LS_WS_EV_FRAGMENT:
        case LS_WS_EV_PONG: {
            if (ws->close_sent)
                break; /* after our close: data is dropped */
            ls_ws_zbuf z = {0};
            if (ev.compressed && inflate_message(ws, &ev, &z) < 0) {
                free(z.data);
                len = 0;
                break;
            }
            if (ws->want)
                deliver(ws, &ev);
            else if (hold(ws, &ev) < 0)
                ls_transport_close(t, LS_CLOSE_LIMIT, 1);
            free(z.data);
            break;
        }
        case LS_WS_EV_CLOSE:
            ws->close_received = 1;
            if (!ws->close_sent) /* echo the code (an empty close for none) */
                send_close(ws, ev.code == 1005 ? 0 : ev.code, NULL, 0);
            finish(ws, LS_CLOSE_FINISH);
            deliver(ws, &ev); /* always: the application keeps it for its next read */
            len = 0;
            break;
        case LS_WS_EV_ERROR:
            LS_LOG(LS_LOG_DEBUG, "%s: websocket: %s (close %u)", ls_transport_peer(t), ev.error,
                   ev.code);
            ws->failed = 1;
            send_close(ws, ev.code, NULL, 0);
            finish(ws, LS_CLOSE_PROTOCOL);
            deliver(ws, &ev);
            len = 0;
            break;
        }
    }
    if (t->closing || t->lingering)
        return;
    if (ws->close_received || ws->failed)
        len = 0;
    if (ls_transport_keep(t, (const char *)data, len, from_in) < 0) {
        ls_transport_close(t, LS_CLOSE_LIMIT, 1);
        return;
    }
    update(ws);
}

/* ---------------------------------------------------------------- the transport's events */

static void on_data(ls_transport *t, const char *data, size_t len, int from_in) {
    /* Both the shared read buffer and t->in are writable: unmasked in place. */
    process(t->ctx, (uint8_t *)(uintptr_t)data, len, from_in);
}

static void on_eof(ls_transport *t, int err) {
    ls_wsconn *ws = t->ctx;
    /* A FIN after both closes is the normal end; anything else is the peer leaving. */
    if (!err && ws->close_received) {
        finish(ws, LS_CLOSE_FINISH);
        return;
    }
    ls_transport_close(t, LS_CLOSE_PEER, err != 0 || ls_transport_busy(t));
}

static void advance(ls_wsconn *ws) {
    ls_transport *t = ws->t;
    if (t->closing || t->lingering)
        return;
    deliver_held(ws);
    if (t->closing || t->lingering)
        return;
    if (t->in_len && reading_wanted(ws))
        process(ws, (uint8_t *)t->in, t->in_len, 1);
    if (t->closing)
        return;
    ls_transport_flush(t);
    if (t->closing)
        return;
    if (ws->linger_next && !ls_transport_busy(t)) {
        ls_transport_linger(t, (ls_close_reason)ws->linger_why);
        return;
    }
    if (ws->want_drain && t->out.bytes < ws->o.high_water) {
        ws->want_drain = 0;
        if (ws->app)
            ws->app->on_drain(ws->ud);
        if (t->closing)
            return;
    }
    update(ws);
}

static void on_sent(ls_transport *t) { advance(t->ctx); }
static void on_deferred(ls_transport *t) { advance(t->ctx); }

static void on_closed(ls_transport *t) {
    ls_wsconn *ws = t->ctx;
    if (ws->srv)
        ls_server_forget(ws->srv, (ls_conn *)ws);
    const ls_ws_iface *app = ws->app;
    void *ud = ws->ud;
    ws->app = NULL;
    if (app)
        app->on_close(ud);
    ls_ws_parser_free(&ws->p);
    free(ws->held_data);
    free(ws);
}

static const ls_proto ws_proto = {
    .on_data = on_data,
    .on_eof = on_eof,
    .on_sent = on_sent,
    .on_deferred = on_deferred,
    .on_closed = on_closed,
};

/* ---------------------------------------------------------------- deadlines */

static void on_timeout(ls_deadline *d) {
    ls_transport *t = ls_transport_of_deadline(d);
    ls_wsconn *ws = t->ctx;
    ls_io *io = t->io;
    uint64_t now = ls_io_now(io);
    if (ws->close_sent && !ws->close_received) {
        if (now >= ws->close_at) /* the peer never answered our close */
            ls_transport_close(t, LS_CLOSE_CLOSE_TIMEOUT, 0);
    } else if (ws->o.ping_interval_ms && ws->ping_out) {
        if (now >= ws->ping_at + ws->o.ping_interval_ms) /* no pong, nothing at all */
            ls_transport_close(t, LS_CLOSE_PING_TIMEOUT, 0);
    } else if (ws->o.ping_interval_ms && now >= ws->last_input + ws->o.ping_interval_ms) {
        uint8_t frame[LS_WS_CONTROL_FRAME_MAX];
        queue(ws, frame, ls_ws_frame_control(frame, LS_WS_OP_PING, NULL, 0));
        ws->ping_out = 1;
        ws->ping_at = now;
    }
    if (!t->closing)
        ws_arm(ws);
    ls_io_run_pending(io);
}

unsigned ls_wsconn_kind(ls_deadlines *q) { return ls_deadline_kind(q, on_timeout); }

/* ---------------------------------------------------------------- the server's stop */

static void link_stop(ls_conn *c) { ls_wsconn_going_away((ls_wsconn *)c); }
static void link_destroy(ls_conn *c) { ls_wsconn_destroy((ls_wsconn *)c); }

/* ---------------------------------------------------------------- the application's calls */

ls_wsconn *ls_wsconn_start(ls_transport *t, ls_server *s, const ls_ws_opts *o,
                           const ls_ws_iface *app, void *ud) {
    ls_wsconn *ws = calloc(1, sizeof *ws);
    if (!ws) {
        ls_transport_set_proto(t, NULL, NULL);
        ls_transport_close(t, LS_CLOSE_LIMIT, 1);
        return NULL;
    }
    ws->t = t;
    ws->srv = s;
    ws->kind = s->kind_ws;
    ws->o = *o;
    ws->app = app;
    ws->ud = ud;
    ws->last_input = ls_io_now(t->io);
    ls_ws_parser_init(&ws->p, o->max_payload, o->fragments);
    if (o->deflate)
        ls_ws_parser_allow_deflate(&ws->p);
    ls_transport_set_proto(t, &ws_proto, ws);
    ws->link.stop = link_stop;
    ws->link.destroy = link_destroy;
    ls_server_add(s, (ls_conn *)ws);
    ls_transport_defer(t); /* flushes the 101; parses what came with the request */
    update(ws);
    if (s->stopping)
        ls_wsconn_going_away(ws);
    return ws;
}

void ls_wsconn_want(ls_wsconn *ws, int want) {
    if (ws->t->closing)
        return;
    ws->want = want != 0;
    if (ws->want && (ws->has_pong || ws->has_held || ws->t->in_len))
        ls_transport_defer(ws->t);
    update(ws);
}

int ls_wsconn_send(ls_wsconn *ws, unsigned opcode, int fin, const void *data, size_t len,
                       ls_release_fn release, void *ctx) {
    int rc = LS_WS_ECLOSED;
    ls_ws_zbuf z = {0};
    if (ws->t->closing || ws->close_sent)
        goto out;
    rc = LS_WS_EINVAL;
    if (opcode >= LS_WS_OP_CLOSE && len > LS_WS_CONTROL_MAX)
        goto out;
    if (ws->t->out.bytes > ws->o.max_output) { /* a peer that does not read: let it go */
        LS_LOG(LS_LOG_INFO, "%s: websocket output over %zu bytes: dropped",
               ls_transport_peer(ws->t), ws->o.max_output);
        ls_transport_close(ws->t, LS_CLOSE_LIMIT, 1);
        rc = LS_WS_ECLOSED;
        goto out;
    }
    int rsv1 = 0;
    if (ws->o.deflate && fin && len >= LS_WS_DEFLATE_MIN &&
        (opcode == LS_WS_OP_TEXT || opcode == LS_WS_OP_BINARY) &&
        ls_ws_deflate(data, len, ws->o.deflate_bits, &z) == LS_WS_Z_OK && z.len < len) {
        data = z.data, len = z.len, rsv1 = 1;
    }
    uint8_t hdr[LS_WS_SERVER_HEADER_MAX];
    size_t n = ls_ws_frame_header(hdr, opcode, fin, len);
    if (rsv1)
        hdr[0] |= LS_WS_RSV1_BIT;
    rc = queue(ws, hdr, n);
    if (rc == 0 && len) {
        if (release && !rsv1) { /* the payload is used in place until it is sent */
            ls_release_fn r = release;
            release = NULL;
            if (ls_outq_append_ref(&ws->t->out, data, len, r, ctx) < 0) {
                ls_transport_close(ws->t, LS_CLOSE_LIMIT, 1);
                rc = LS_WS_ENOMEM;
            }
        } else {
            rc = queue(ws, data, len);
        }
    }
    if (rc == 0)
        rc = ls_wsconn_drain_wait(ws);
out:
    free(z.data);
    if (release)
        release(ctx);
    return rc;
}

int ls_wsconn_close(ls_wsconn *ws, unsigned code, const char *reason, size_t len) {
    int rc = send_close(ws, code, reason, len);
    if (rc < 0)
        return rc;
    update(ws);
    return ls_wsconn_drain_wait(ws);
}

int ls_wsconn_drain_wait(ls_wsconn *ws) {
    if (ws->t->out.bytes < ws->o.high_water)
        return 1;
    ws->want_drain = 1;
    return 0;
}

void ls_wsconn_destroy(ls_wsconn *ws) {
    ls_transport_close(ws->t, LS_CLOSE_DESTROY, ls_transport_busy(ws->t) || ws->t->in_len);
}

void ls_wsconn_detach(ls_wsconn *ws) { ws->app = NULL, ws->ud = NULL; }

void ls_wsconn_going_away(ls_wsconn *ws) {
    if (ws->t->closing)
        return;
    if (!ws->close_sent) {
        send_close(ws, 1001, NULL, 0);
        update(ws);
    }
}

int ls_wsconn_closing(const ls_wsconn *ws) {
    return ws->t->closing || ws->close_sent || ws->close_received;
}

