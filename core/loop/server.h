/* The server: the listening socket, the HTTP/1 connections it accepted, their shared io
 * state (deadline timer, deferred work, read buffer) and buffer pool, and a graceful stop. */
#ifndef LS_SERVER_H
#define LS_SERVER_H

#include "access_log.h"
#include "client.h"
#include "conn.h"
#include "pool.h"
#include "settings.h"
#include "transport.h"

#include <uv.h>

struct ls_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t grace;    /* shutdown deadline */
    ls_io io;            /* what every connection's transport shares */
    ls_client client;    /* outbound connections: resolver, pools */
    unsigned kind_header, kind_body, kind_idle; /* the connections' deadline kinds */
    unsigned kind_ws;    /* WebSocket connections' (core/ws/wsconn.h) */
    ls_settings settings;
    const ls_app_iface *app;
    void *app_ctx;
    ls_conn *conns;      /* every open connection */
    size_t nconns;
    int stopping;
    int reuseport;       /* bind with SO_REUSEPORT (workers share the port) */
    int handles_open;
    ls_pool pool;        /* per-request buffers lent to working connections */
    ls_access_log *access_log; /* NULL: off */
    uint64_t requests;
};

int ls_server_init(ls_server *s, uv_loop_t *loop, const ls_settings *settings,
                   const ls_app_iface *app, void *app_ctx);
/* Replaces the settings given to ls_server_init (before it listens). */
void ls_server_configure(ls_server *s, const ls_settings *settings);
/* Binds and listens; writes the bound "host:port" into addr. Returns 0 or a libuv error. */
int ls_server_listen(ls_server *s, char *addr, size_t addrlen);
/* Serves a socket accepted elsewhere (taken over: closed on failure). */
void ls_server_open_fd(ls_server *s, int fd);
/* Runs the deferred work now; every libuv callback that may have deferred some calls it
 * before returning. */
void ls_server_run_pending(ls_server *s);
/* Adds a started connection / forgets one whose memory is about to go (for conn.c). */
void ls_server_add(ls_server *s, ls_conn *c);
void ls_server_forget(ls_server *s, ls_conn *c);
/* Graceful stop: no new connections; idle ones close now, active ones may finish within
 * grace_ms, then the rest are destroyed. The app's on_stopped runs when all are gone. */
void ls_server_stop(ls_server *s, uint64_t grace_ms);
/* Frees what is left after the loop has ended. */
void ls_server_free(ls_server *s);

#endif
