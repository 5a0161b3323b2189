#include "conn.h"

#include "date.h"
#include "keepalive.h"
#include "log.h"
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ST_HEAD, ST_ACTIVE, ST_LINGER, ST_CLOSING };

#define STOP_WAIT_MS 500 /* on shutdown: how long a connection may still show its request, or
                            linger */

/* A write and a shutdown are never in flight together (the shutdown waits for an empty
 * queue), so they share one allocation, made only by connections that need it: most
 * responses go out whole through uv_try_write. */
union conn_req {
    uv_write_t write;
    uv_shutdown_t shutdown;
};
enum { PAUSE_NONE, PAUSE_HEADERS, PAUSE_MESSAGE, PAUSE_CHUNK };

#define MAX_IOV 64
#define MIN_READ 16384 /* room offered to a read into the connection's own buffer */

struct ls_conn {
    ls_conn_node node; /* first: the server's links */
    uv_tcp_t tcp;
    ls_deadline deadline; /* the one timeout in force (timer_kind), on the server's lists */
    union conn_req *ioreq; /* the write or shutdown in flight; made on first need */
    uint8_t peer_family;   /* AF_INET or AF_INET6 (0: unknown) */
    uint8_t peer_addr[16]; /* the client's address, formatted when asked */
    uint8_t no_cork;       /* TCP_CORK failed on this socket (not TCP) */
    ls_server *server;
    llhttp_t *parser; /* while input is parsed; lent from a kit like the buffers below */
    int state;
    int pause_reason;
    int error_status; /* set by a parser callback to choose the error response */
    ls_request req;
    ls_response res;
    ls_outq out;
    size_t inflight; /* bytes handed to uv_write and not yet confirmed */
    char *in;        /* input not parsed yet (pipelined, or a partial head) */
    size_t in_len, in_cap;
    char *body; /* request body the application has not taken */
    size_t body_len, body_cap;
    void *ud; /* the application's request handle */
    uint64_t requests;
    uint64_t head_deadline;
    size_t head_bytes;      /* raw bytes of the request head so far */
    uint64_t wire_bytes;    /* bytes the kernel took on this connection */
    uint64_t head_wire_mark; /* wire_bytes beyond which the current head is on the wire */
    const char *head_mark;  /* where this execute's head bytes start */
    const char *exec_start, *exec_end; /* the input llhttp is executing */
    uint64_t linger_deadline;
    ls_close_reason close_reason;
    unsigned reading : 1;
    unsigned parser_paused : 1; /* llhttp waits for llhttp_resume() */
    unsigned parse_dead : 1;    /* input is no longer parsed (error or lingering) */
    unsigned msg_complete : 1;  /* the active request's body is complete */
    unsigned head_started : 1;  /* bytes of a new request head arrived */
    unsigned discarding : 1;    /* throwing away the unread body of a finished request */
    unsigned want_drain : 1;
    unsigned need_continue : 1; /* the client waits for 100 Continue */
    unsigned keepalive_final : 1;
    unsigned end_queued : 1;
    unsigned peer_eof : 1;
    unsigned protocol_error : 1;
    unsigned shutdown_sent : 1;
    unsigned in_head : 1;        /* between a request's first method byte and its head's end */
    unsigned in_trailers : 1;    /* between the last chunk's line and the trailer section's end */
    unsigned cr_pending : 1;     /* the head or trailer bytes checked so far end with a CR */
    unsigned crlf_check : 2;     /* bytes of the CRLF after chunk data still to verify */
    unsigned value_at_end : 1;   /* the last field value piece ended with the input */
    unsigned truncated : 1;      /* the response cannot be completed: close after the flush */
    unsigned keepalive_allowed : 1; /* what HTTP and the server allow this request */
    unsigned body_poke : 1;      /* tell the application about its body again */
    unsigned read_progress : 1;  /* bytes arrived since the timer was armed */
    unsigned write_progress : 1; /* the kernel took bytes since the timer was armed */
    unsigned timer_kind : 3;
};

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

static void conn_close(ls_conn *c, ls_close_reason why, int reset);
static void conn_input(ls_conn *c, const char *data, size_t len, int from_in);
static void conn_arm(ls_conn *c);
static void conn_update_reading(ls_conn *c);
static void conn_fail(ls_conn *c, int status, ls_close_reason why);
static void conn_linger(ls_conn *c, ls_close_reason why);
static void on_write(uv_write_t *w, int status);

static inline uint64_t now_ms(const ls_conn *c) { return uv_now(c->server->loop); }
static inline const ls_settings *cfg(const ls_conn *c) { return &c->server->settings; }
static inline size_t queued(const ls_conn *c) { return c->out.bytes + c->res.pre.bytes; }

/* ---------------------------------------------------------------- llhttp callbacks */

static int head_check(ls_conn *c) {
    if (ls_request_head_bytes(&c->req) > cfg(c)->max_header) {
        c->error_status = 431;
        return HPE_USER;
    }
    return 0;
}

/* Buffers past these sizes are not kept for others: a kit stays small. */
#define KIT_MAX_ARENA 8192
#define KIT_MAX_TABLE 64

/* Lends the connection a kit of buffers, if it has none and the server has one spare. */
static void kit_take(ls_conn *c) {
    ls_server *s = c->server;
    if (c->req.arena || !s->nkits)
        return;
    ls_kit *k = &s->kits[--s->nkits];
    c->req.arena = k->arena, c->req.acap = k->acap;
    c->req.fields = k->fields, c->req.fcap = k->fcap;
    k->arena = NULL, k->fields = NULL;
    if (!c->res.strings && !c->res.headers) {
        c->res.strings = k->strings, c->res.scap = k->scap;
        c->res.headers = k->headers, c->res.hcap = k->hcap;
        k->strings = NULL, k->headers = NULL;
    }
    if (!c->out.segs && !c->out.spare) {
        c->out.segs = k->segs, c->out.cap = k->segcap;
        c->out.spare = k->block;
        k->segs = NULL, k->block = NULL;
    }
    /* what the connection had already, its parser among them (rarely anything) */
    if (k->strings || k->headers || k->segs || k->block || k->parser)
        ls_kit_free(k);
}

/* Gives the connection's per-request buffers back (it is idle, or closing): to the server's
 * spare kits while there is room, else to malloc. Only call with nothing queued. */
static void kit_give(ls_conn *c) {
    ls_server *s = c->server;
    ls_request *q = &c->req;
    ls_response *r = &c->res;
    ls_outq *o = &c->out;
    if (!q->arena || o->bytes || r->pre.bytes)
        return;
    /* the output queue may keep its emptied last block: that is the kit's block */
    char *block = o->spare;
    for (size_t i = 0; i < o->count; i++) {
        ls_seg *g = &o->segs[o->first + i];
        if (g->own && g->cap == LS_OUTQ_BLOCK && !block)
            block = g->own;
        else if (g->own)
            free(g->own);
    }
    ls_outq_free(&r->pre); /* empty: its segment table goes too */
    ls_kit k = {q->arena, q->acap, q->fields, q->fcap, r->strings, r->scap,
                r->headers, r->hcap, o->segs, o->cap, block, c->parser};
    c->parser = NULL; /* only given when idle: the next request starts a fresh parse */
    q->arena = NULL, q->acap = q->alen = 0, q->fields = NULL, q->fcap = q->nfields = 0;
    r->strings = NULL, r->scap = r->slen = 0, r->headers = NULL, r->hcap = r->nheaders = 0;
    r->reason = NULL;
    o->segs = NULL, o->cap = o->first = o->count = 0, o->spare = NULL;
    if (s->nkits < LS_KITS && k.acap <= KIT_MAX_ARENA && k.fcap <= KIT_MAX_TABLE &&
        k.hcap <= KIT_MAX_TABLE && k.scap <= KIT_MAX_ARENA && k.segcap <= KIT_MAX_TABLE) {
        s->kits[s->nkits++] = k;
        return;
    }
    ls_kit_free(&k);
}

static int on_message_begin(llhttp_t *p) {
    ls_conn *c = p->data;
    kit_take(c);
    ls_request_reset(&c->req);
    c->in_trailers = 0;
    c->head_started = 1;
    c->head_deadline = now_ms(c) + cfg(c)->header_timeout_ms;
    c->read_progress = 1; /* a new deadline */
    return 0;
}

static int on_method(llhttp_t *p, const char *at, size_t len) {
    ls_conn *c = p->data;
    (void)len;
    if (!c->in_head) { /* the first byte of a request head: count from here */
        c->in_head = 1;
        c->head_bytes = 0;
        c->head_mark = at;
        c->cr_pending = 0;
    }
    return 0;
}

/* RFC 9112 7.1: chunk-data is followed by CRLF. llhttp 8.1 skips those two bytes without
 * looking at them, so they are checked here, as far as this input goes (the rest at the
 * start of the next input). Returns 0, or -1 when they are not CRLF. */
static int check_crlf(ls_conn *c, const char *q, const char *end) {
    for (; c->crlf_check && q < end; q++, c->crlf_check--)
        if (*q != (c->crlf_check == 2 ? '\r' : '\n'))
            return -1;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
    ls_conn *c = p->data;
    if (ls_request_feed(&c->req, 0, at, len) < 0)
        return HPE_USER;
    if (c->req.url_len > cfg(c)->max_url) {
        c->error_status = 414;
        return HPE_USER;
    }
    return head_check(c);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
    ls_conn *c = p->data;
    if (ls_request_feed(&c->req, 1, at, len) < 0)
        return HPE_USER;
    return head_check(c);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
    ls_conn *c = p->data;
    /* llhttp hands a value over in two pieces only when the input ended between them, or
     * when an obs-fold (CRLF then SP/HTAB) sat between them: the second is refused with 400
     * (RFC 9112 5.2 lets a server reject it). */
    if (c->req.last == 2 && !(c->value_at_end && at == c->exec_start)) {
        c->error_status = 400;
        return HPE_USER;
    }
    c->value_at_end = at + len == c->exec_end;
    if (ls_request_feed(&c->req, 2, at, len) < 0)
        return HPE_USER;
    return head_check(c);
}

static int on_header_value_complete(llhttp_t *p) {
    ls_conn *c = p->data;
    ls_request_field_done(&c->req);
    if (c->req.head_done && c->req.bad_field) { /* a trailer field name that is no token */
        c->error_status = 400;
        return HPE_USER;
    }
    return head_check(c);
}

static int on_version_complete(llhttp_t *p) {
    ls_conn *c = p->data;
    if (p->http_major != 1 || p->http_minor > 1) {
        c->error_status = 505;
        return -1;
    }
    c->req.http_major = p->http_major; /* a version that is served: see error_status_for */
    c->req.http_minor = p->http_minor;
    return 0;
}

static int on_headers_complete(llhttp_t *p) {
    ls_conn *c = p->data;
    ls_request *r = &c->req;
    ls_request_head_done(r); /* fields from here on are trailers */
    r->method = llhttp_method_name((llhttp_method_t)p->method);
    r->is_head = p->method == HTTP_HEAD;
    r->is_connect = p->method == HTTP_CONNECT;
    r->http_major = p->http_major;
    r->http_minor = p->http_minor;
    if (p->flags & F_CONTENT_LENGTH)
        r->content_length = (int64_t)p->content_length;
    if (r->http_minor == 0) /* RFC 9110 10.1.1: expectations in HTTP/1.0 are ignored */
        r->expect_continue = r->bad_expect = 0;
    if (r->bad_field || r->bad_host) {
        c->error_status = 400;
        return -1;
    }
    if (r->unknown_coding) {
        c->error_status = 501; /* RFC 9112 6.1 */
        return -1;
    }
    if (r->http_minor >= 1 && r->hosts != 1) {
        c->error_status = 400; /* RFC 9112 3.2: exactly one Host */
        return -1;
    }
    if (r->bad_expect) {
        c->error_status = 417;
        return -1;
    }
    if (r->content_length > 0 && (uint64_t)r->content_length > cfg(c)->max_body) {
        c->error_status = 413;
        return -1;
    }
    /* a chunked body starts with a chunk-size line (llhttp reads no body after CONNECT) */
    r->chunk_line = (p->flags & F_CHUNKED) && !r->is_connect;
    c->pause_reason = PAUSE_HEADERS;
    return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
    ls_conn *c = p->data;
    c->req.body_received += len;
    if ((p->flags & F_CHUNKED) && p->content_length == 0) { /* the end of a chunk's data */
        c->crlf_check = 2;
        if (check_crlf(c, at + len, c->exec_end) < 0) {
            c->error_status = 400;
            return HPE_USER;
        }
    }
    if (c->state != ST_ACTIVE || !c->ud)
        return 0; /* a finished request's body, or nobody to read it: thrown away */
    if (c->req.body_received > cfg(c)->max_body) {
        c->error_status = 413;
        return HPE_USER;
    }
    if (c->body_len + len > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 16384;
        while (cap < c->body_len + len)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b)
            return HPE_USER;
        c->body = b, c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, at, len);
    c->body_len += len;
    return 0;
}

/* The end of a chunk (after its data's CRLF), or after the last chunk the end of the trailer
 * section: llhttp stops there, so that conn_input reads the next chunk-size line itself
 * (chunk_line) or checks the trailer section's last bytes. */
static int on_chunk_complete(llhttp_t *p) {
    ls_conn *c = p->data;
    if (!(p->flags & F_TRAILING))
        c->req.chunk_line = 1;
    c->pause_reason = PAUSE_CHUNK;
    return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *p) {
    ls_conn *c = p->data;
    c->req.body_done = 1; /* req.trailers may be read */
    if (c->state == ST_ACTIVE) {
        c->msg_complete = 1;
        c->pause_reason = PAUSE_MESSAGE;
        return HPE_PAUSED;
    }
    /* The end of a body we were discarding: go on with the next request. */
    c->discarding = 0;
    c->head_started = 0;
    return 0;
}

static llhttp_settings_t parser_settings;

static void parser_settings_init(void) {
    static int done;
    if (done)
        return;
    llhttp_settings_init(&parser_settings);
    parser_settings.on_message_begin = on_message_begin;
    parser_settings.on_method = on_method;
    parser_settings.on_url = on_url;
    parser_settings.on_header_field = on_header_field;
    parser_settings.on_header_value = on_header_value;
    parser_settings.on_header_value_complete = on_header_value_complete;
    parser_settings.on_version_complete = on_version_complete;
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_chunk_complete = on_chunk_complete;
    parser_settings.on_message_complete = on_message_complete;
    done = 1;
}

/* Gives the connection a parser at the start of a request: the spare kit's, or a new one. */
static int parser_take(ls_conn *c) {
    ls_server *s = c->server;
    ls_kit *k = s->nkits ? &s->kits[s->nkits - 1] : NULL;
    if (k && k->parser) {
        c->parser = k->parser;
        k->parser = NULL;
    } else if (!(c->parser = malloc(sizeof *c->parser))) {
        return -1;
    }
    llhttp_init(c->parser, HTTP_REQUEST, &parser_settings);
    /* Whether the connection goes on after a message is the keepalive module's call. Left
     * to itself, llhttp 8.1 would also decide, from flags that trailer fields can set too
     * (a trailer "Connection: close"), and then swallow every later byte in silence. */
    llhttp_set_lenient_keep_alive(c->parser, 1);
    c->parser->data = c;
    return 0;
}

/* ---------------------------------------------------------------- accept and close */

static void on_handle_closed(uv_handle_t *h) {
    ls_conn *c = h->data;
    ls_server *s = c->server;
    void *ud = c->ud;
    c->ud = NULL;
    s->closes[c->close_reason]++;
    if (ud)
        s->app->on_abort(ud);
    ls_server_forget(s, c);
    ls_outq_clear(&c->out);
    ls_outq_clear(&c->res.pre);
    kit_give(c);
    ls_request_free(&c->req);
    ls_response_free(&c->res);
    ls_outq_free(&c->out);
    free(c->in);
    free(c->body);
    free(c->ioreq);
    free(c->parser);
    free(c);
    ls_server_run_pending(s);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    ls_conn *c = h->data;
    ls_server *s = c->server;
    if (c->in_len == 0 || c->state == ST_LINGER) {
        *buf = uv_buf_init(s->readbuf, (unsigned)s->readbuf_size);
        return;
    }
    if (c->in_cap - c->in_len < MIN_READ) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 2 * MIN_READ;
        while (cap - c->in_len < MIN_READ)
            cap *= 2;
        char *in = realloc(c->in, cap);
        if (!in) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
            return;
        }
        c->in = in, c->in_cap = cap;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_eof(ls_conn *c) {
    c->peer_eof = 1;
    switch (c->state) {
    case ST_HEAD:
        if (c->discarding || c->head_started || c->in_len)
            conn_close(c, LS_CLOSE_PEER, 0);
        else
            conn_close(c, LS_CLOSE_IDLE, 0);
        break;
    case ST_ACTIVE:
        /* A response that is complete still goes out (the client may only have half-closed);
         * otherwise the client is gone: the request is aborted, as in Node.js. */
        if (c->res.ended) {
            conn_update_reading(c);
            ls_server_defer(c->server, c);
        } else {
            conn_close(c, LS_CLOSE_PEER, c->out.bytes || c->inflight);
        }
        break;
    case ST_LINGER:
        conn_close(c, c->close_reason, 0);
        break;
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    ls_conn *c = stream->data;
    ls_server *s = c->server;
    if (nread == 0 || c->state == ST_CLOSING)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            on_eof(c);
        else
            conn_close(c, c->state == ST_HEAD && !c->head_started ? LS_CLOSE_IDLE : LS_CLOSE_PEER,
                       1);
        ls_server_run_pending(s);
        return;
    }
    c->read_progress = 1;
    if (c->state == ST_LINGER) {
        conn_arm(c); /* discarded; the idle bound starts again */
        return;
    }
    if (buf->base == s->readbuf) {
        conn_input(c, buf->base, (size_t)nread, 0);
    } else {
        c->in_len += (size_t)nread;
        conn_input(c, c->in, c->in_len, 1);
    }
    if (c->state != ST_CLOSING) {
        conn_update_reading(c);
        conn_arm(c);
    }
    ls_server_run_pending(s);
}

void ls_conn_timeout(ls_deadline *d) {
    ls_conn *c = (ls_conn *)((char *)d - offsetof(ls_conn, deadline));
    ls_server *s = c->server;
    switch (c->state) {
    case ST_HEAD:
        if (c->discarding)
            conn_close(c, LS_CLOSE_BODY_TIMEOUT, 1);
        else if (c->head_started || c->in_len)
            conn_fail(c, 408, LS_CLOSE_HEADER_TIMEOUT);
        else /* FIN, then lingering: a request that crosses it is dropped, not reset */
            conn_linger(c, c->requests ? LS_CLOSE_IDLE : LS_CLOSE_HEADER_TIMEOUT);
        break;
    case ST_ACTIVE:
        if (c->out.bytes || c->inflight) {
            LS_LOG(LS_LOG_DEBUG, "%s: send timeout", ls_conn_remote_address(c));
            conn_close(c, LS_CLOSE_SEND_TIMEOUT, 1);
        } else if (!c->msg_complete) {
            if (!c->res.frozen && !c->res.head_sent)
                conn_fail(c, 408, LS_CLOSE_BODY_TIMEOUT);
            else
                conn_close(c, LS_CLOSE_BODY_TIMEOUT, 1);
        }
        break;
    case ST_LINGER:
        conn_close(c, c->close_reason, 0);
        break;
    }
    ls_server_run_pending(s);
}

/* Sets up an accepted socket (c->tcp already initialised and connected). */
static void conn_start(ls_server *s, ls_conn *c) {
    uv_tcp_nodelay(&c->tcp, 1);
    ls_request_init(&c->req);
    ls_response_init(&c->res);
    ls_outq_init(&c->out);
    c->state = ST_HEAD;
    c->head_deadline = uv_now(s->loop) + s->settings.header_timeout_ms;

    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        c->peer_family = (uint8_t)ss.ss_family;
        if (ss.ss_family == AF_INET6)
            memcpy(c->peer_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        else
            memcpy(c->peer_addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    }
    ls_server_add(s, c);
    conn_update_reading(c);
    conn_arm(c);
}

static void free_unstarted(uv_handle_t *h) { free(h->data); }

static ls_conn *conn_new(ls_server *s) {
    ls_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    parser_settings_init();
    c->server = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    return c;
}

void ls_conn_accept(ls_server *s) {
    ls_conn *c = conn_new(s);
    if (!c)
        return;
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, free_unstarted);
        return;
    }
    conn_start(s, c);
}

void ls_conn_open_fd(ls_server *s, int fd) {
    ls_conn *c = conn_new(s);
    if (!c || uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        if (c)
            uv_close((uv_handle_t *)&c->tcp, free_unstarted);
        return;
    }
    conn_start(s, c);
}

/* The one way a connection ends. reset: RST instead of FIN (data unsent or unread). */
static void conn_close(ls_conn *c, ls_close_reason why, int reset) {
    if (c->state == ST_CLOSING)
        return;
    LS_LOG(LS_LOG_DEBUG, "%s: close (%s%s)", ls_conn_remote_address(c), ls_close_reason_names[why],
           reset && !c->shutdown_sent ? ", reset" : "");
    c->state = ST_CLOSING;
    c->close_reason = why;
    c->reading = 0;
    ls_outq_clear(&c->out);
    ls_outq_clear(&c->res.pre);
    if (!reset || c->shutdown_sent || uv_tcp_close_reset(&c->tcp, on_handle_closed) != 0)
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    ls_deadline_clear(&c->deadline);
}

/* ---------------------------------------------------------------- timers and reading */

/* Which bound the connection's deadline enforces now. A deadline of the same kind is left
 * alone unless the progress it measures happened, so busy connections do not move it on
 * every event. */
enum { T_NONE, T_IDLE, T_HEADER, T_BODY, T_SEND, T_LINGER };

static void conn_arm(ls_conn *c) {
    const ls_settings *s = cfg(c);
    uint64_t now = now_ms(c), at = 0;
    int kind = T_NONE, progress = c->read_progress;
    switch (c->state) {
    case ST_HEAD:
        if (c->discarding)
            kind = T_BODY, at = now + s->body_timeout_ms;
        else if (c->head_started || c->in_len || c->requests == 0)
            kind = T_HEADER, at = c->head_deadline;
        else
            kind = T_IDLE, at = now + ls_keepalive_idle_ms(s->keepalive_timeout_ms);
        break;
    case ST_ACTIVE:
        if (c->out.bytes || c->inflight)
            kind = T_SEND, at = now + s->send_timeout_ms, progress = c->write_progress;
        else if (!c->msg_complete && c->reading)
            kind = T_BODY, at = now + s->body_timeout_ms;
        break;
    case ST_LINGER:
        kind = T_LINGER;
        at = c->linger_deadline;
        if (at > now + s->linger_idle_ms)
            at = now + s->linger_idle_ms;
        break;
    default:
        return;
    }
    if (kind == T_IDLE)
        progress = 0; /* bytes that start no request (bare CRLFs) do not extend the idle time */
    if (kind == c->timer_kind && !progress && (kind == T_NONE || ls_deadline_armed(&c->deadline)))
        return;
    c->timer_kind = kind;
    c->read_progress = c->write_progress = 0;
    if (kind == T_NONE)
        ls_deadline_clear(&c->deadline);
    else
        ls_deadline_set(&c->server->deadlines, &c->deadline, kind, at > now ? at : now + 1);
}

static void conn_update_reading(ls_conn *c) {
    int want;
    switch (c->state) {
    case ST_HEAD:
        want = !c->peer_eof;
        break;
    case ST_ACTIVE:
        /* Hold back while the application has a high-water mark of body unread, or while
         * pipelined input waits for this response to finish. */
        want = !c->peer_eof && !c->parse_dead && c->body_len < cfg(c)->high_water &&
               c->in_len < cfg(c)->max_header + cfg(c)->high_water;
        break;
    case ST_LINGER:
        want = !c->peer_eof;
        break;
    default:
        want = 0;
    }
    if (want && !c->reading)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    else if (!want && c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = want ? 1 : 0;
}

/* ---------------------------------------------------------------- parsing */

static int error_status_for(ls_conn *c, llhttp_errno_t err) {
    if (c->error_status)
        return c->error_status;
    switch (err) {
    /* llhttp 8.1 also reports a request line that does not end in CRLF (a bare CR after
     * the version) as an invalid version: after a version that was fine, it is a 400 */
    case HPE_INVALID_VERSION: return c->req.http_major ? 400 : 505;
    case HPE_INVALID_TRANSFER_ENCODING: return c->req.unknown_coding ? 501 : 400;
    default: return 400;
    }
}

static void dispatch(ls_conn *c) {
    ls_server *s = c->server;
    c->state = ST_ACTIVE;
    c->head_started = 0;
    c->msg_complete = 0;
    c->want_drain = c->end_queued = c->keepalive_final = c->truncated = 0;
    c->need_continue = c->req.expect_continue;
    c->body_len = 0;
    const ls_request *r = &c->req;
    /* What the handler sees as res.shouldKeepAlive: HTTP's answer, less what the server
     * already knows (the last request allowed, a shutdown). */
    int keep = ls_keepalive_initial(r->http_major, r->http_minor, r->conn_close, r->conn_keepalive);
    if (c->requests + 1 >= cfg(c)->max_requests || s->stopping)
        keep = 0;
    c->keepalive_allowed = keep ? 1 : 0;
    ls_response_reset(&c->res, keep);
    s->requests++;
    c->ud = s->app->on_request(s->app_ctx, c);
}

/* Keeps unparsed input for later: in c->in, at its start. */
static void keep_input(ls_conn *c, const char *data, size_t len, int from_in) {
    if (len == 0) {
        c->in_len = 0;
        return;
    }
    if (from_in) {
        if (data != c->in && len)
            memmove(c->in, data, len);
        c->in_len = len;
        return;
    }
    if (len > c->in_cap) {
        size_t cap = len < 2 * MIN_READ ? 2 * MIN_READ : len;
        char *in = realloc(c->in, cap);
        if (!in) {
            conn_close(c, LS_CLOSE_PROTOCOL, 1);
            return;
        }
        c->in = in, c->in_cap = cap;
    }
    memcpy(c->in, data, len);
    c->in_len = len;
}

/* RFC 9112 2.2: in the head and the trailer section a CR is only ever followed by LF. llhttp
 * 8.1 takes any byte after a CR at the start of a line (and after the CR of an empty field
 * value) as the LF, so a bare CR there could end the section early. The bytes llhttp took as
 * part of the section, [from, to), are checked here; a CR that ends one input is checked
 * against the start of the next. Returns -1 for a bare CR. */
static int bare_cr(ls_conn *c, const char *from, const char *to) {
    if (from == to)
        return 0;
    if (c->cr_pending && *from != '\n')
        return -1;
    c->cr_pending = 0;
    for (const char *q = from; (q = memchr(q, '\r', (size_t)(to - q))) != NULL; q++) {
        if (q + 1 == to)
            c->cr_pending = 1;
        else if (q[1] != '\n')
            return -1;
        else
            continue;
        break;
    }
    return 0;
}

/* The head's or the trailer section's bytes that llhttp took in this execute, [from, to):
 * each section is bounded by --max-header (431) and has no bare CR (400). Returns 0 or the
 * status to answer. */
static int section_bytes(ls_conn *c, const char *from, const char *to) {
    c->head_bytes += (size_t)(to - from);
    if (c->head_bytes > cfg(c)->max_header)
        return 431;
    return bare_cr(c, from, to) < 0 ? 400 : 0;
}

/* A chunk-size line at the start of data (RFC 9112 7.1). llhttp 8.1 refuses valid chunk
 * extensions with HPE_STRICT or HPE_INVALID_CHUNK_SIZE (BWS around ";" and "=", a
 * quoted-pair, any extension after a name=token one as in ";a=b;c"), accepts invalid ones
 * (";=v", ";a=" with no value, ";a;;b") and, built without LLHTTP_STRICT_MODE, takes any
 * byte after the line's CR as its LF. None of its lenient flags covers this (they are about
 * header values, Transfer-Encoding, Content-Length, keep-alive and the version), nor do its
 * on_chunk_extension_* callbacks, which only report what its own grammar accepted,
 * so the line is read here instead: ls_chunk_line_scan checks the whole line against the
 * grammar (and the extensions are then ignored: none is recognised, RFC 9112 7.1.1), and
 * llhttp is handed only the size digits and a CRLF, so that it still does all the chunk
 * framing (size overflow, chunk data, last chunk, trailer section). Returns the line's
 * length, 0 when the line has not all arrived (it stays in the input), -1 when it is invalid
 * or longer than --max-header. */
static long chunk_line(ls_conn *c, const char *data, size_t len) {
    ls_request *r = &c->req;
    long n = ls_chunk_line_scan(&r->chunk, data, len);
    size_t seen = n > 0 ? (size_t)n : len; /* the line, or what has arrived of it */
    if (n < 0 || seen > cfg(c)->max_header)
        return -1;
    if (n == 0)
        return 0;
    r->chunk_line = 0;
    c->exec_start = data;
    c->exec_end = data + r->chunk.hexlen;
    if (llhttp_execute(c->parser, data, r->chunk.hexlen) != HPE_OK ||
        llhttp_execute(c->parser, "\r\n", 2) != HPE_OK)
        return -1; /* a size that overflows */
    memset(&r->chunk, 0, sizeof r->chunk);
    if (c->parser->flags & F_TRAILING) { /* the last chunk: the trailer section follows */
        c->in_trailers = 1;
        c->head_bytes = 0;
        c->cr_pending = 0;
    }
    return n;
}

/* Feeds input to llhttp. data is either the shared read buffer or c->in (from_in). */
static void conn_input(ls_conn *c, const char *data, size_t len, int from_in) {
    size_t body_before = c->body_len;
    int body_news = 0;
    int kick = 0; /* after a head, run llhttp once more even with no input: a request
                     without a body completes right there */
    if (!c->parser && len && !c->parse_dead && parser_take(c) < 0) {
        conn_close(c, LS_CLOSE_PEER, 1);
        return;
    }
    while ((len || kick) && c->state != ST_CLOSING && !c->parser_paused && !c->parse_dead) {
        kick = 0;
        c->pause_reason = PAUSE_NONE;
        if (c->crlf_check && check_crlf(c, data, data + len) < 0) {
            conn_fail(c, 400, LS_CLOSE_PROTOCOL);
            break;
        }
        if (c->req.chunk_line) {
            long n = chunk_line(c, data, len);
            if (n < 0) {
                conn_fail(c, 400, LS_CLOSE_PROTOCOL);
                break;
            }
            if (n == 0)
                break; /* kept until the rest of the line arrives */
            data += n, len -= (size_t)n;
            continue;
        }
        if (c->in_head)
            c->head_mark = data;
        c->exec_start = data;
        c->exec_end = data + len;
        llhttp_errno_t err = llhttp_execute(c->parser, data, len);
        const char *stop = err == HPE_OK ? data + len : llhttp_get_error_pos(c->parser);
        if ((c->in_head || c->in_trailers) && (err == HPE_OK || err == HPE_PAUSED)) {
            int status = section_bytes(c, c->in_head ? c->head_mark : data, stop);
            if (c->pause_reason == PAUSE_HEADERS)
                c->in_head = 0;
            if (c->pause_reason == PAUSE_CHUNK)
                c->in_trailers = 0;
            if (status) {
                conn_fail(c, status, LS_CLOSE_PROTOCOL);
                break;
            }
        }
        if (err == HPE_OK) {
            data += len, len = 0;
            break;
        }
        if (err == HPE_PAUSED_UPGRADE) {
            /* Upgrade and CONNECT are not taken up: the connection stays HTTP/1.1
             * (RFC 9110 7.8) and the parser goes on with the next request. */
            len -= (size_t)(stop - data);
            data = stop;
            llhttp_resume_after_upgrade(c->parser);
            continue;
        }
        if (err != HPE_PAUSED) {
            const char *reason = llhttp_get_error_reason(c->parser);
            LS_LOG(LS_LOG_DEBUG, "%s: bad request: %s (%s)", ls_conn_remote_address(c), llhttp_errno_name(err),
                   reason ? reason : "");
            len = 0;
            conn_fail(c, error_status_for(c, err), LS_CLOSE_PROTOCOL);
            break;
        }
        len -= (size_t)(stop - data);
        data = stop;
        if (c->pause_reason == PAUSE_HEADERS) {
            llhttp_resume(c->parser);
            dispatch(c);
            kick = 1;
        } else if (c->pause_reason == PAUSE_CHUNK) {
            llhttp_resume(c->parser); /* a chunk-size line next, or the message's end */
            kick = 1;
        } else { /* PAUSE_MESSAGE: the next request waits for this response */
            c->parser_paused = 1;
            body_news = 1;
        }
    }
    if (c->state == ST_CLOSING)
        return;
    if (c->parse_dead)
        len = 0;
    keep_input(c, data, len, from_in);
    if (c->state == ST_ACTIVE && c->ud && (body_news || c->body_len != body_before))
        c->server->app->on_body(c->ud);
}

/* ---------------------------------------------------------------- responses */

static int queue_bytes(ls_outq *q, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    int r = rel ? ls_outq_append_ref(q, data, len, rel, ctx) : ls_outq_append(q, data, len);
    return r < 0 ? LS_ENOMEM : LS_OK;
}

static int queue_chunk_header(ls_conn *c, size_t len) {
    char line[24], *p = line + sizeof line;
    *--p = '\n';
    *--p = '\r';
    do
        *--p = "0123456789abcdef"[len & 15];
    while (len >>= 4);
    size_t n = (size_t)(line + sizeof line - p);
    return ls_outq_append(&c->out, p, n) < 0 ? LS_ENOMEM : LS_OK;
}

/* Queues the end of the body, once, after the head. */
static void queue_end(ls_conn *c) {
    if (c->end_queued)
        return;
    c->end_queued = 1;
    if (c->res.framing.framing == LS_FRAME_CHUNKED)
        ls_outq_append(&c->out, "0\r\n\r\n", 5);
    else if (c->res.framing.framing == LS_FRAME_LENGTH &&
             c->res.body_bytes < c->res.framing.length) {
        /* The handler promised more than it wrote: the body cannot be completed, so the
         * connection must end for the client to see the truncation. */
        LS_LOG(LS_LOG_WARN, "%s: response ended after %llu of %llu body bytes", ls_conn_remote_address(c),
               (unsigned long long)c->res.body_bytes,
               (unsigned long long)c->res.framing.length);
        c->keepalive_final = 0;
    }
}

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

/* Queues the head, then what the body holds so far: the pre-head queue, then `data` (the last
 * piece of a response that ends now, already counted in body_bytes; used in place with
 * `rel`, else copied, so a short body shares the head's buffer). */
static void emit_head(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    ls_response *res = &c->res;
    const ls_request *req = &c->req;
    int head_req = req->is_head;
    ls_framing_in fi = {
        .status = res->status,
        .head_request = head_req,
        .http11 = req->http_major == 1 && req->http_minor >= 1,
        .ended = res->ended,
        .body_len = res->body_bytes,
        .user_length = res->user_length,
    };
    ls_framing_out fo = ls_framing_decide(&fi);
    ls_keepalive_in ki = {
        .wanted = res->keepalive && !res->user_close,
        .shutting_down = c->server->stopping,
        .at_request_limit = c->requests + 1 >= cfg(c)->max_requests,
        /* A body we will not read in full, or one the client still waits to be asked for
         * (Expect: 100-continue unanswered): it may or may not come, so the connection
         * cannot be trusted to be in step after this response. */
        .unread_body_over = unread_body_over_limit(c) || (c->need_continue && !c->msg_complete),
        /* RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing */
        .protocol_error = c->protocol_error || (req->has_te && req->http_minor == 0),
        .close_delimited = fo.framing == LS_FRAME_CLOSE,
        .peer_done = c->peer_eof,
    };
    c->keepalive_final = ls_keepalive_decide(&ki);
    /* A final status below 200 does not end the exchange for the client; end the
     * connection rather than leave it waiting. */
    if (res->status < 200)
        c->keepalive_final = 0;
    /* finish() came with fewer bytes than the Content-Length the handler set */
    if (res->ended && fo.framing == LS_FRAME_LENGTH && res->body_bytes < fo.length)
        c->keepalive_final = 0;
    /* A 2xx to CONNECT would start a tunnel, which this server does not do. */
    if (res->status < 300 && req->is_connect)
        c->keepalive_final = 0;
    ls_head h = {
        .status = res->status,
        .reason = res->reason,
        .rlen = res->rlen,
        .headers = res->headers,
        .nheaders = res->nheaders,
        .framing = fo,
        .keepalive = c->keepalive_final,
        .keepalive_timeout_s = (unsigned)(cfg(c)->keepalive_timeout_ms / 1000),
        .date = ls_date_now(),
    };
    char stack[2048];
    size_t n = ls_head_serialize(&h, stack, sizeof stack);
    char *buf = stack;
    if (n > sizeof stack) {
        buf = malloc(n);
        if (!buf) {
            if (rel)
                rel(ctx);
            conn_close(c, LS_CLOSE_LIMIT, 1);
            return;
        }
        ls_head_serialize(&h, buf, n);
    }
    /* An unanswered 100-continue: the client may still send the body; don't ask for it. */
    c->need_continue = 0;
    c->head_wire_mark = c->wire_bytes + c->out.bytes;
    ls_outq_append(&c->out, buf, n);
    if (buf != stack)
        free(buf);
    res->head_sent = res->frozen = 1;
    res->framing = fo;
    if (fo.framing == LS_FRAME_NONE) {
        ls_outq_clear(&res->pre);
        if (rel)
            rel(ctx);
    } else if (res->pre.bytes || len) {
        if (fo.framing == LS_FRAME_CHUNKED)
            queue_chunk_header(c, res->pre.bytes + len);
        ls_outq_move(&c->out, &res->pre);
        if (len)
            queue_bytes(&c->out, data, len, rel, ctx);
        if (fo.framing == LS_FRAME_CHUNKED)
            ls_outq_append(&c->out, "\r\n", 2);
    } else if (rel) {
        rel(ctx);
    }
    if (res->ended)
        queue_end(c);
}

/* Holds small writes back in the kernel (TCP_CORK) until the server's deferred work is done. */
static void conn_cork(ls_conn *c) {
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one) == 0)
        ls_server_corked(c->server, c);
    else
        c->no_cork = 1; /* not TCP (a socket handed over by a test): never try again */
}

void ls_conn_uncork(ls_conn *c) {
    uv_os_fd_t fd;
    int zero = 0;
    if (c->state != ST_CLOSING && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
}

static void conn_flush(ls_conn *c) {
    if (c->inflight || c->out.bytes == 0 || c->state == ST_CLOSING)
        return;
    /* A complete response with the next request already read (pipelining): the answers to
     * what arrived together go out together, in as few packets as they fit. Each is still
     * handed to the kernel here ('finish' keeps its meaning); the cork comes off before the
     * loop waits again. */
    if (c->in_len && c->res.ended && !c->node.corked && !c->no_cork)
        conn_cork(c);
    uv_buf_t bufs[MAX_IOV];
    size_t n = ls_outq_bufs(&c->out, bufs, MAX_IOV);
    int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)n);
    if (r > 0) {
        ls_outq_consume(&c->out, (size_t)r);
        c->wire_bytes += (uint64_t)r;
        c->write_progress = 1;
    }
    else if (r < 0 && r != UV_EAGAIN) {
        conn_close(c, LS_CLOSE_PEER, 1);
        return;
    }
    if (c->out.bytes == 0)
        return;
    n = ls_outq_bufs(&c->out, bufs, MAX_IOV);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += bufs[i].len;
    if (!c->ioreq && !(c->ioreq = malloc(sizeof *c->ioreq))) {
        conn_close(c, LS_CLOSE_LIMIT, 1);
        return;
    }
    c->ioreq->write.data = c;
    if (uv_write(&c->ioreq->write, (uv_stream_t *)&c->tcp, bufs, (unsigned)n, on_write) < 0) {
        conn_close(c, LS_CLOSE_PEER, 1);
        return;
    }
    c->inflight = total;
}

static void on_write(uv_write_t *w, int status) {
    ls_conn *c = w->data;
    size_t n = c->inflight;
    c->inflight = 0;
    if (status == UV_ECANCELED || c->state == ST_CLOSING)
        return;
    if (status < 0) {
        conn_close(c, LS_CLOSE_PEER, 1);
    } else {
        ls_outq_consume(&c->out, n);
        c->wire_bytes += n;
        c->write_progress = 1;
        ls_conn_advance(c);
    }
    ls_server_run_pending(c->server);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    ls_conn *c = req->data;
    if (status < 0 && status != UV_ECANCELED && c->state != ST_CLOSING)
        conn_close(c, LS_CLOSE_PEER, 0);
}

/* The response is over and the connection ends: FIN after the last byte, then read and
 * throw away what the client still sends, within the lingering bounds, so that the client
 * can read the whole response before anything could reset the connection. */
static void conn_linger(ls_conn *c, ls_close_reason why) {
    c->close_reason = why;
    if (c->peer_eof) {
        conn_close(c, why, 0);
        return;
    }
    c->state = ST_LINGER;
    c->parse_dead = 1;
    c->in_len = 0;
    c->body_len = 0;
    if (!c->ioreq && !(c->ioreq = malloc(sizeof *c->ioreq))) {
        conn_close(c, why, 0);
        return;
    }
    c->ioreq->shutdown.data = c;
    if (uv_shutdown(&c->ioreq->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        conn_close(c, why, 0);
        return;
    }
    c->shutdown_sent = 1;
    c->linger_deadline = now_ms(c) + cfg(c)->linger_time_ms;
    if (c->server->stopping && cfg(c)->linger_time_ms > STOP_WAIT_MS)
        c->linger_deadline = now_ms(c) + STOP_WAIT_MS; /* exit is not held up for long */
    conn_update_reading(c);
    conn_arm(c);
}

static void response_done(ls_conn *c) {
    ls_server *s = c->server;
    void *ud = c->ud;
    c->ud = NULL;
    c->requests++;
    int keep = c->keepalive_final && !c->peer_eof && !s->stopping;
    if (keep && unread_body_over_limit(c))
        keep = 0;
    if (ud) {
        if (c->truncated)
            s->app->on_abort(ud);
        else
            s->app->on_finish(ud);
    }
    if (c->state != ST_ACTIVE)
        return; /* closed meanwhile */
    if (!keep || c->truncated) {
        /* an error response keeps the reason conn_fail gave (timeout, protocol error) */
        conn_linger(c, c->protocol_error ? c->close_reason : LS_CLOSE_FINISH);
        return;
    }
    c->state = ST_HEAD;
    c->body_len = 0;
    c->discarding = !c->msg_complete;
    c->msg_complete = 0;
    ls_response_reset(&c->res, 0);
    if (c->parser_paused) {
        c->parser_paused = 0;
        llhttp_resume(c->parser);
    }
    conn_update_reading(c);
    if (c->in_len)
        conn_input(c, c->in, c->in_len, 1);
    else if (!c->discarding)
        kit_give(c); /* idle until the next request: keep nothing */
    if (c->state != ST_CLOSING) {
        conn_update_reading(c);
        conn_arm(c);
    }
}

void ls_conn_advance(ls_conn *c) {
    if (c->state == ST_ACTIVE) {
        ls_response *res = &c->res;
        if (!res->head_sent && res->ended)
            emit_head(c, NULL, 0, NULL, NULL);
        if (c->state != ST_ACTIVE)
            return;
        conn_flush(c);
        if (c->state != ST_ACTIVE)
            return;
        if (c->out.bytes > cfg(c)->max_output) {
            LS_LOG(LS_LOG_WARN, "%s: output over %zu bytes: dropped", ls_conn_remote_address(c),
                   cfg(c)->max_output);
            conn_close(c, LS_CLOSE_LIMIT, 1);
            return;
        }
        if (c->body_poke && c->ud) {
            c->body_poke = 0;
            c->server->app->on_body(c->ud);
            if (c->state != ST_ACTIVE)
                return;
        }
        if (c->want_drain && queued(c) < cfg(c)->high_water && c->ud) {
            c->want_drain = 0;
            c->server->app->on_drain(c->ud);
            if (c->state != ST_ACTIVE)
                return;
        }
        if (res->ended && res->head_sent && c->out.bytes == 0 && !c->inflight)
            response_done(c);
    }
    if (c->state != ST_CLOSING)
        conn_arm(c);
}

static inline int usable(const ls_conn *c) { return c->state == ST_ACTIVE; }

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
    ls_server_defer(c->server, c);
}

/* A protocol error or a limit: answer `status` with Connection: close if nothing was sent
 * yet, else drop the connection. Any request in progress is aborted. */
static void conn_fail(ls_conn *c, int status, ls_close_reason why) {
    if (c->state == ST_CLOSING)
        return;
    c->parse_dead = 1;
    c->protocol_error = 1;
    c->close_reason = why;
    if (c->state == ST_LINGER || c->res.head_sent || c->out.bytes || c->inflight) {
        conn_close(c, why, 1);
        return;
    }
    void *ud = c->ud;
    c->ud = NULL;
    c->state = ST_ACTIVE;
    c->msg_complete = 1; /* nothing more is read for this request */
    c->in_len = 0;
    c->body_len = 0;
    ls_response_reset(&c->res, 0);
    c->res.status = status;
    c->end_queued = 0;
    error_response(c, status);
    if (ud)
        c->server->app->on_abort(ud);
}

void ls_conn_respond_error(ls_conn *c, int status) {
    if (!usable(c) || c->res.ended)
        return;
    int keep = c->res.keepalive && !c->res.user_close;
    if (c->res.head_sent) {
        if (c->inflight || c->wire_bytes > c->head_wire_mark) {
            /* Part of the response is out: what is queued still goes, then a FIN. The client
             * sees the body end early (no last chunk, or fewer bytes than announced). */
            c->truncated = 1;
            c->res.ended = 1;
            c->end_queued = 1;
            c->keepalive_final = 0;
            ls_server_defer(c->server, c);
            return;
        }
        /* The head is queued but nothing reached the wire: it can still be a 500, though
         * the handler's state is unknown, so the connection ends after it. */
        ls_outq_clear(&c->out);
        keep = 0;
    }
    ls_response_reset(&c->res, keep);
    c->end_queued = 0;
    error_response(c, status);
}


void ls_conn_stop(ls_conn *c) {
    /* A lingering connection goes on draining: closing it now could reset a response the
     * client has not read yet. The shutdown timeout bounds it. */
    if (c->state != ST_HEAD || c->head_started || c->discarding || c->in_len)
        return; /* busy: its response will say Connection: close */
    if (c->requests == 0) {
        /* Accepted, nothing read yet: its request may already wait in the socket. It gets a
         * short while to show it (then it is served, with Connection: close). */
        uint64_t soon = now_ms(c) + STOP_WAIT_MS;
        if (c->head_deadline > soon)
            c->head_deadline = soon;
        c->read_progress = 1; /* the deadline changed */
        conn_arm(c);
    } else {
        /* Idle between requests: FIN now, and a short linger so that a request crossing it
         * is dropped rather than reset. */
        conn_linger(c, LS_CLOSE_SHUTDOWN);
    }
}

/* ---------------------------------------------------------------- application API */

const ls_request *ls_conn_request(const ls_conn *c) { return &c->req; }
const ls_response *ls_conn_response(const ls_conn *c) { return &c->res; }
/* Formatted when asked (logs, req.remoteAddress) rather than kept in every connection. */
const char *ls_conn_remote_address(const ls_conn *c) {
    static char name[64];
    if ((c->peer_family != AF_INET && c->peer_family != AF_INET6) ||
        !inet_ntop(c->peer_family, c->peer_addr, name, sizeof name))
        strcpy(name, "?");
    return name;
}
ls_server *ls_conn_server(const ls_conn *c) { return c->server; }

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
    if (!c->reading) {
        conn_update_reading(c);
        conn_arm(c);
    }
}

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

static int parse_length(const char *v, size_t n, int64_t *out) {
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    if (n == 0 || n > 18)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return 0;
}

/* Keeps the response's view of the fields the engine interprets in step with the list. */
static void refresh_special(ls_response *res) {
    res->user_length = -1;
    res->user_close = 0;
    long i = ls_response_find_header(res, "content-length", 14, 0);
    if (i >= 0)
        parse_length(res->headers[i].value, res->headers[i].vlen, &res->user_length);
    for (size_t k = 0;; k++) {
        long j = ls_response_find_header(res, "connection", 10, k);
        if (j < 0)
            break;
        const ls_header *h = &res->headers[j];
        /* a token list; "close" anywhere in it ends the connection */
        for (size_t p = 0; p + 5 <= h->vlen; p++)
            if (ls_name_is(h->value + p, 5, "close") &&
                (p == 0 || h->value[p - 1] == ',' || h->value[p - 1] == ' ') &&
                (p + 5 == h->vlen || h->value[p + 5] == ',' || h->value[p + 5] == ' '))
                res->user_close = 1;
    }
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
        parse_length(value, vlen, &len) < 0)
        return LS_EBADLENGTH;
    if (replace)
        ls_response_remove_header(&c->res, name, nlen);
    if (ls_response_add_header(&c->res, name, nlen, value, vlen) < 0)
        return LS_ENOMEM;
    refresh_special(&c->res);
    return LS_OK;
}

int ls_conn_remove_header(ls_conn *c, const char *name, size_t nlen) {
    if (!usable(c))
        return LS_ECLOSED;
    if (c->res.frozen)
        return LS_EHEADERS_SENT;
    ls_response_remove_header(&c->res, name, nlen);
    refresh_special(&c->res);
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
        return c->keepalive_final && !c->peer_eof;
    return c->res.keepalive && !c->res.user_close && !c->server->stopping && !c->peer_eof;
}

void ls_conn_set_keepalive(ls_conn *c, int keepalive) {
    if (!usable(c))
        return;
    if (c->res.head_sent) {
        /* Too late to say so in the head; the connection still ends after the response. */
        if (!keepalive)
            c->keepalive_final = 0;
        return;
    }
    /* Only ever lowered: HTTP's answer (a client's Connection: close, HTTP/1.0 without
     * keep-alive) and the server's state cannot be overridden (RFC 9112 9.6). */
    c->res.keepalive = keepalive && c->keepalive_allowed ? 1 : 0;
}

/* Whether len more body bytes go on the wire: 1 yes; 0 no, the response has no body (they
 * are counted, for a HEAD's Content-Length, and released); LS_ELENGTH, more than the
 * Content-Length the handler set (released). */
static int body_admit(ls_conn *c, size_t len, ls_release_fn rel, void *ctx) {
    ls_response *res = &c->res;
    int r = 1;
    if (!ls_status_allows_body(res->status) || c->req.is_head ||
        (res->head_sent && res->framing.framing == LS_FRAME_NONE)) {
        res->body_bytes += len;
        r = 0;
    } else if (res->user_length >= 0 && res->body_bytes + len > (uint64_t)res->user_length) {
        r = LS_ELENGTH;
    }
    if (r != 1 && rel)
        rel(ctx);
    return r;
}

/* Appends body bytes to the right queue with the framing of the response. */
static int body_append(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    ls_response *res = &c->res;
    int r = body_admit(c, len, rel, ctx);
    if (r <= 0)
        return r;
    if (!res->head_sent) {
        r = queue_bytes(&res->pre, data, len, rel, ctx);
    } else if (res->framing.framing == LS_FRAME_CHUNKED) {
        r = queue_chunk_header(c, len);
        if (r == LS_OK)
            r = queue_bytes(&c->out, data, len, rel, ctx);
        else if (rel)
            rel(ctx);
        if (r == LS_OK)
            r = ls_outq_append(&c->out, "\r\n", 2) < 0 ? LS_ENOMEM : LS_OK;
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
    /* The first write commits the head: the body is a stream from here on. */
    if (!c->res.head_sent) {
        c->res.frozen = 1;
        emit_head(c, NULL, 0, NULL, NULL);
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
    if (queued(c) > cfg(c)->max_output) { /* a handler that ignores false: stop it here */
        LS_LOG(LS_LOG_WARN, "%s: output over %zu bytes: dropped", ls_conn_remote_address(c),
               cfg(c)->max_output);
        conn_close(c, LS_CLOSE_LIMIT, 1);
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

/* Whether the keep-alive decision can be taken now: the request body is all in, or there is
 * none and no 100-continue is pending. (A handler that finishes inside on_request runs before
 * llhttp has reached the end of the message; with a body to come, the head waits for the
 * deferred step, when what is unread is known.) */
static int body_settled(const ls_conn *c) {
    return c->msg_complete ||
           (!c->req.chunked && c->req.content_length <= 0 && !c->need_continue);
}

int ls_conn_finish(ls_conn *c, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    if (!usable(c) || c->res.ended) {
        if (rel)
            rel(ctx);
        return usable(c) ? 0 : LS_ECLOSED;
    }
    ls_response *res = &c->res;
    if (!res->head_sent && body_settled(c)) {
        /* The whole response is known: the head goes out with the body, in one buffer when
         * the body is short. */
        int r = body_admit(c, len, rel, ctx);
        if (r < 0)
            return r;
        if (r == 1)
            res->body_bytes += len;
        else
            len = 0, rel = NULL;
        res->ended = res->frozen = 1;
        emit_head(c, data, len, rel, ctx);
        if (c->state == ST_CLOSING)
            return LS_ECLOSED; /* no memory for the head: the connection is dropped */
        ls_server_defer(c->server, c);
        return 1;
    }
    if (len || rel) {
        int r = body_append(c, data, len, rel, ctx);
        if (r < 0)
            return r;
    }
    res->ended = res->frozen = 1;
    if (res->head_sent)
        queue_end(c);
    ls_server_defer(c->server, c);
    return 1;
}

void ls_conn_destroy(ls_conn *c) {
    if (c->state == ST_CLOSING)
        return;
    int body_unread = c->state == ST_ACTIVE && !c->msg_complete &&
                      (c->req.chunked || c->req.content_length > 0);
    int unclean = c->out.bytes || c->inflight || c->in_len || body_unread;
    conn_close(c, LS_CLOSE_DESTROY, unclean);
}
