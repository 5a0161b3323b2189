/* The WebSocket protocol on a transport (core/io/transport.h): what a connection becomes after
 * a 101 (core/http/conn.c hands its transport over with ls_conn_upgrade). It parses client
 * frames (frame_parse.h), answers pings, runs the close handshake, sends pings to idle peers,
 * and queues the application's frames with a high-water mark. It knows nothing of Lua.
 *
 * Input is pulled: events are handed to the application only while it wants them
 * (ls_wsconn_want); otherwise reading stops, which is the backpressure on the peer. Pings
 * are answered as they are parsed, so a reader that does not want data stops pongs too.
 *
 * The close handshake (RFC 6455 7.1): the peer's close is echoed with its code, then FIN and
 * a bounded linger (the transport's). Our close (the application's, or a protocol error's)
 * waits close_timeout_ms for the peer's; a peer that does not answer is dropped. */
#ifndef LS_WS_WSCONN_H
#define LS_WS_WSCONN_H

#include "frame_parse.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ls_wsconn ls_wsconn;

typedef struct ls_ws_iface {
    /* A message, fragment, ping, pong or the peer's close, while the application wants
     * events (each delivery clears the wish: call ls_wsconn_want again for the next). The
     * payload is valid during the call only. An ERROR event says the peer broke the
     * protocol (our close with ev->code is queued). */
    void (*on_event)(void *ud, const ls_ws_event *ev);
    /* Queued output fell below the high-water mark after a send returned 0. */
    void (*on_drain)(void *ud);
    /* The transport is closed; the handle is detached (no call follows). */
    void (*on_close)(void *ud);
} ls_ws_iface;

typedef struct ls_ws_opts {
    size_t max_payload;      /* 1009 beyond */
    int fragments;           /* hand out the frames of fragmented messages */
    int auto_pong;           /* answer pings (else they go to the application only) */
    uint64_t close_timeout_ms; /* how long our close waits for the peer's */
    uint64_t ping_interval_ms; /* 0: no pings; else ping after this much silence, and close
                                  a peer that sends nothing within another interval */
    size_t high_water;       /* queued output above this: sends return 0 */
    size_t max_output;       /* queued output above this: the connection is dropped */
    int deflate;             /* permessage-deflate was negotiated (core/ws/deflate.h) */
    unsigned deflate_bits;   /* the window our compressor keeps within */
} ls_ws_opts;

typedef struct ls_server ls_server;

/* The deadline kind of WebSocket connections on an io (close wait, pings): once per io. */
unsigned ls_wsconn_kind(ls_deadlines *q);

/* Puts the WebSocket protocol on t (its output may hold the 101, its input what the client
 * sent right after the request) and joins the server's list of connections (its graceful
 * stop sends 1001). NULL when out of memory (t is then closed). */
ls_wsconn *ls_wsconn_start(ls_transport *t, ls_server *s, const ls_ws_opts *o,
                           const ls_ws_iface *app, void *ud);

/* The application wants the next event (or not). Events waiting in the input come from
 * deferred work, never from inside this call. */
void ls_wsconn_want(ls_wsconn *ws, int want);
/* Queues one frame: 1 below the high-water mark, 0 above it (on_drain follows),
 * LS_WS_ECLOSED when no more may be sent (closing or closed), LS_WS_EINVAL for a control
 * payload over 125 bytes. With release, the payload is queued in place (not copied) until it
 * is sent or dropped, and release(ctx) runs then, or at once when the send fails or the
 * payload was compressed. */
enum { LS_WS_ECLOSED = -1, LS_WS_EINVAL = -2, LS_WS_ENOMEM = -3 };
int ls_wsconn_send(ls_wsconn *ws, unsigned opcode, int fin, const void *data, size_t len,
                   ls_release_fn release, void *ctx);
/* With permessage-deflate, text and binary messages of at least this many bytes go out
 * compressed (when that makes them shorter). */
#define LS_WS_DEFLATE_MIN 64
/* Starts our close: a close frame (code 0: empty), then the peer's answer is awaited for
 * close_timeout_ms. Returns as ls_wsconn_send. */
int ls_wsconn_close(ls_wsconn *ws, unsigned code, const char *reason, size_t len);
/* 1 while queued output is below the high-water mark; else 0, and on_drain follows. */
int ls_wsconn_drain_wait(ls_wsconn *ws);
/* Drops the connection now (reset if output is unsent). */
void ls_wsconn_destroy(ls_wsconn *ws);
/* Forgets the application's handle: no callback follows. */
void ls_wsconn_detach(ls_wsconn *ws);
/* Graceful stop (the server stops): close 1001 (going away). */
void ls_wsconn_going_away(ls_wsconn *ws);
/* Whether a close frame was sent, or received. */
int ls_wsconn_closing(const ls_wsconn *ws);

#endif
