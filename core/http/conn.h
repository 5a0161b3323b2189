/* The HTTP/1 server connection: one protocol on a transport (core/io/transport.h), the state
 * machine between the input, llhttp (through core/http/parse.h), the request handed to the
 * application layer and the response it writes back.
 *
 * States: HEAD (waiting for a request head; also draining the unread body of the previous
 * request), ACTIVE (a request was handed to the application; its response is being built and
 * written), LINGER (the last response is out: the transport lingers). A closing transport
 * (t->closing) overrides them all; memory goes in the transport's close callback.
 *
 * Calls into the application (ls_app_iface) happen only from libuv callbacks or from
 * deferred work, never from inside llhttp or from a call the application made, so an
 * application may call any ls_conn_* function at any time. */
#ifndef LS_CONN_H
#define LS_CONN_H

#include "outq.h"
#include "request.h"
#include "response.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ls_conn ls_conn;
typedef struct ls_server ls_server;

/* Every ls_conn starts with this: its links in the server's list of connections. */
typedef struct ls_conn_link {
    ls_conn *prev, *next;
    /* NULL for HTTP/1; set by a protocol that took a connection over (ls_conn_upgrade) and
     * keeps its place in the server's list: graceful stop, and the end of the grace time. */
    void (*stop)(ls_conn *c);
    void (*destroy)(ls_conn *c);
} ls_conn_link;

typedef struct ls_app_iface {
    /* A request head is complete and the handler may start. Returns the application's handle
     * for this request; the connection keeps it until on_finish or on_abort. */
    void *(*on_request)(void *app, ls_conn *c);
    /* Body bytes arrived, or the body is now complete (see ls_conn_body). */
    void (*on_body)(void *req);
    /* Queued output fell below the high-water mark after a write returned 0. */
    void (*on_drain)(void *req);
    /* Every byte of the response was handed to the kernel. The handle is detached. */
    void (*on_finish)(void *req);
    /* The connection went away, or gave up on the request, before the response finished.
     * The handle is detached. */
    void (*on_abort)(void *req);
    /* The server is stopping and every connection is closed: outbound work must end now
     * (the deadline timer and the pools close right after). May be NULL. */
    void (*on_drained)(void *app);
    /* The server stopped: every connection is closed. */
    void (*on_stopped)(void *app);
} ls_app_iface;

/* The LS_E codes of the calls below are in response.h. */

/* Adds the connection's deadline kinds (header, body, keep-alive idle) to the server's timer
 * (called once by the server). */
void ls_conn_init_kinds(ls_server *s);
/* Serves HTTP/1 on an accepted transport (called by the server). */
void ls_conn_start(ls_server *s, ls_transport *t);
/* Graceful stop: closes idle connections now, lets active ones finish (called by the server). */
void ls_conn_stop(ls_conn *c);

/* --- for the application layer --- */
const ls_request *ls_conn_request(const ls_conn *c);
const ls_response *ls_conn_response(const ls_conn *c);
const char *ls_conn_remote_address(const ls_conn *c);
ls_server *ls_conn_server(const ls_conn *c);

/* Body bytes received and not yet taken; *data points at them (valid until the next call
 * into the connection). ls_conn_body_complete says whether more will come. */
size_t ls_conn_body(const ls_conn *c, const char **data);
void ls_conn_body_take(ls_conn *c, size_t n);
int ls_conn_body_complete(const ls_conn *c);
/* Calls on_body again soon (deferred): for listeners added after the body arrived. */
void ls_conn_body_poke(ls_conn *c);
/* The request's body limit: the max_body setting until the application sets its own.
 * A declared Content-Length is held against it once the handler's first run is over (so a
 * handler may raise or lower it before its first wait); a body that grows past it, or a
 * limit lowered below what is declared or received, gets 413 and the request fails
 * (on_abort, with ls_conn_body_too_large true). */
/* Returns LS_OK, 1 when the body is already over the new limit (the 413 follows), or
 * LS_ECLOSED. */
int ls_conn_set_max_body(ls_conn *c, uint64_t limit);
uint64_t ls_conn_max_body(const ls_conn *c);
int ls_conn_body_too_large(const ls_conn *c);
/* The handler wants the body: answers "Expect: 100-continue" if the client waits for it. */
void ls_conn_body_wanted(ls_conn *c);

int ls_conn_set_status(ls_conn *c, int status);
int ls_conn_set_reason(ls_conn *c, const char *reason, size_t len);
/* replace: setHeader (drops earlier fields of that name); else appends another one. */
int ls_conn_set_header(ls_conn *c, const char *name, size_t nlen, const char *value,
                       size_t vlen, int replace);
int ls_conn_remove_header(ls_conn *c, const char *name, size_t nlen);
/* writeHead: the status and fields are final from now on. */
int ls_conn_freeze_head(ls_conn *c);
int ls_conn_headers_sent(const ls_conn *c);
/* The request can still be answered (not closing, not yet detached). */
int ls_conn_open(const ls_conn *c);
int ls_conn_finished(const ls_conn *c);
int ls_conn_keepalive(const ls_conn *c);
void ls_conn_set_keepalive(ls_conn *c, int keepalive);

/* Queues body bytes. With release set the bytes are used in place and release(ctx) runs
 * once they are no longer needed; otherwise they are copied. Returns 1 while queued output
 * is below the high-water mark, 0 above it (on_drain follows), or a negative LS_E code. */
int ls_conn_write(ls_conn *c, const char *data, size_t len, ls_release_fn release, void *ctx);
/* 1 if queued output is below the high-water mark; else 0, and on_drain follows. */
int ls_conn_drain_wait(ls_conn *c);
/* Queues the last bytes and the end of the response. Returns 1, 0 if it had already ended,
 * or a negative LS_E code. */
int ls_conn_finish(ls_conn *c, const char *data, size_t len, ls_release_fn release, void *ctx);
/* Replaces a response whose head has not gone out with an error response of that status
 * (a short text body); once the head is out, destroys the connection instead. */
void ls_conn_respond_error(ls_conn *c, int status);
/* Attaches files to the body: len bytes of the open file fd from offset pos, sent from the
 * kernel's page cache with sendfile; release(ctx) runs once they are sent or dropped (it may
 * close fd). Returns as ls_conn_write. */
int ls_conn_write_file(ls_conn *c, int fd, int64_t pos, size_t len, ls_release_fn release,
                       void *ctx);
/* Tears the connection down now: queued output is dropped, the socket is reset if data was
 * unsent or unread, and the request is aborted (on_abort follows). */
void ls_conn_destroy(ls_conn *c);
/* Takes over the connection for another protocol after a 101 (a WebSocket). The handler
 * sets its headers (Upgrade, Sec-WebSocket-Accept); this call makes the status 101 and ends
 * the response. Once the head is queued the connection hands over: the request is logged,
 * on_finish runs for the handle, then fn(arg, t, s) gets the transport (its output queue
 * holds the head; its deadlines, send timeout, lingering and close reasons stay) and any
 * input already read past the request (in t->in), and must put its protocol on t. The
 * ls_conn is freed right after fn returns. A connection that closes before the hand-over
 * calls fn(arg, NULL, s) instead. Only for a request without a body.
 * Returns LS_OK, or LS_ECLOSED, LS_EHEADERS_SENT, LS_EENDED, LS_ELENGTH (a body). */
typedef void (*ls_upgrade_fn)(void *arg, ls_transport *t, ls_server *s);
int ls_conn_upgrade(ls_conn *c, ls_upgrade_fn fn, void *arg);

/* Forgets the application's handle for the current request: no on_body, on_drain, on_finish
 * or on_abort follows for it. For an application whose handle is about to be freed (a
 * response the Lua state collected); what was queued or ended still goes out. */
void ls_conn_disown(ls_conn *c);

#endif
