/* The listening socket, the set of connections, and the deferred-work list that keeps calls
 * into the application out of each other's way. */
#ifndef LS_SERVER_H
#define LS_SERVER_H

#include "conn.h"
#include "deadline.h"
#include "settings.h"

#include <uv.h>

/* Why a connection closed; each close is counted under exactly one. */
typedef enum {
    LS_CLOSE_FINISH,   /* a response that ended the connection */
    LS_CLOSE_IDLE,     /* keep-alive idle timeout, or the client closed between requests */
    LS_CLOSE_HEADER_TIMEOUT,
    LS_CLOSE_BODY_TIMEOUT,
    LS_CLOSE_SEND_TIMEOUT,
    LS_CLOSE_LIMIT,    /* output over max_output */
    LS_CLOSE_DESTROY,  /* the handler destroyed it */
    LS_CLOSE_PEER,     /* the client reset or left mid-request */
    LS_CLOSE_PROTOCOL, /* malformed input */
    LS_CLOSE_SHUTDOWN,
    LS_CLOSE_REASONS
} ls_close_reason;

extern const char *const ls_close_reason_names[LS_CLOSE_REASONS];

/* Every ls_conn starts with one of these: the server's links to it. */
typedef struct ls_conn_node {
    ls_conn *prev, *next;  /* every open connection */
    ls_conn *next_pending; /* connections with deferred work */
    ls_conn *next_corked;  /* connections whose socket is corked until the work is done */
    unsigned pending : 1;
    unsigned corked : 1;
} ls_conn_node;

/* The per-request buffers of a connection (head arena, field and header tables, header
 * strings, output segments and block), lent to connections that are working and returned
 * when they go idle, so that an idle keep-alive connection holds almost nothing. */
typedef struct ls_kit {
    char *arena;
    size_t acap;
    void *fields;
    size_t fcap;
    char *strings;
    size_t scap;
    void *headers;
    size_t hcap;
    void *segs;
    size_t segcap;
    char *block;
    void *parser; /* an llhttp_t */
} ls_kit;

#define LS_KITS 256

/* Frees what a kit holds (its pointers may be NULL). */
void ls_kit_free(ls_kit *k);

struct ls_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_idle_t idle;      /* runs deferred work left over for the next loop turn */
    uv_timer_t grace;    /* shutdown deadline */
    ls_deadlines deadlines; /* every connection's timeout */
    ls_settings settings;
    const ls_app_iface *app;
    void *app_ctx;
    ls_conn *pending;    /* connections with deferred work, linked through the conn */
    ls_conn *corked;     /* sockets holding back responses to pipelined requests */
    ls_conn *conns;      /* every open connection */
    size_t nconns;
    int depth;           /* >0 while deferred work runs */
    int stopping;
    int reuseport;       /* bind with SO_REUSEPORT (workers share the port) */
    int handles_open;
    char *readbuf;       /* shared by all reads that start with no leftover input */
    size_t readbuf_size;
    ls_kit kits[LS_KITS];
    size_t nkits;
    uint64_t closes[LS_CLOSE_REASONS];
    uint64_t requests;
};

int ls_server_init(ls_server *s, uv_loop_t *loop, const ls_settings *settings,
                   const ls_app_iface *app, void *app_ctx);
/* Binds and listens; writes the bound "host:port" into addr. Returns 0 or a libuv error. */
int ls_server_listen(ls_server *s, char *addr, size_t addrlen);
/* Schedules ls_conn_advance(c) before the loop sleeps again. */
void ls_server_defer(ls_server *s, ls_conn *c);
/* Runs the deferred work now; every libuv callback that may have deferred some calls it
 * before returning. */
void ls_server_run_pending(ls_server *s);
/* Remembers that c's socket is corked: it is uncorked (ls_conn_uncork) when the deferred
 * work in progress is done, before control goes back to the loop. */
void ls_server_corked(ls_server *s, ls_conn *c);
/* Adds an accepted connection. */
void ls_server_add(ls_server *s, ls_conn *c);
/* Forgets c (its memory is about to go). */
void ls_server_forget(ls_server *s, ls_conn *c);
/* Graceful stop: no new connections; idle ones close now, active ones may finish within
 * grace_ms, then the rest are destroyed. The app's on_stopped runs when all are gone. */
void ls_server_stop(ls_server *s, uint64_t grace_ms);
/* Frees what is left after the loop has ended. */
void ls_server_free(ls_server *s);

#endif
