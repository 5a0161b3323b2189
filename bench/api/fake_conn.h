/* A connection without a socket, for bench/api/api_bench.c only.
 *
 * fake_conn.c implements every ls_conn_* function of core/conn.h that the Lua binding
 * (the lua/ files) calls, plus ls_server_defer and ls_server_run_pending, and replaces
 * core/conn.c and core/server.c in the api_bench program. The request is a real ls_request
 * (filled with core/request.c), the response a real ls_response (core/response.c), and the
 * head is built by core/response_head.c into the real output queue (core/outq.c); what the
 * kernel would take is copied into a buffer instead.
 *
 * The core's contract holds: the application's callbacks (on_body, on_drain, on_finish,
 * on_abort) never run inside a call the application made; calls that need them defer the
 * connection, and the deferred work runs after on_request has returned, as the real
 * server's does after each libuv callback. */
#ifndef FAKE_CONN_H
#define FAKE_CONN_H

#include "conn.h"
#include "server.h"

#include <stddef.h>

/* How the last request served on a fake connection ended. */
typedef enum {
    FAKE_PENDING,  /* the response has not completed */
    FAKE_FINISHED, /* on_finish ran: every byte was "written" */
    FAKE_ABORTED,  /* on_abort ran: destroyed, or the response was cut short */
} fake_result;

/* Sets up s as a server with no listener and no handles: only its settings, the
 * application's interface and the deferred-work list are used. loop may be NULL when no
 * handler waits on libuv (lunaserve.sleep). */
void fake_server_init(ls_server *s, uv_loop_t *loop, const ls_settings *settings,
                      const ls_app_iface *app, void *app_ctx);

/* A connection that has received one request: method (as llhttp names it), url, HTTP/1.minor
 * and header fields given as name, value, ..., NULL. The request carries no body. Returns
 * NULL when the head is one the real server would refuse, or when out of memory. */
ls_conn *fake_conn_new(ls_server *s, const char *method, const char *url, int http_minor,
                       const char *const *fields);
void fake_conn_free(ls_conn *c);

/* Serves the request once more, as the first request of a connection: hands it to the
 * application (on_request), completes the message (on_body, as llhttp does right after a
 * head without a body), runs the deferred work, and runs the loop while the response is not
 * complete and the loop has something to do. Returns how it ended. */
fake_result fake_conn_serve(ls_conn *c);

/* The bytes "written" for the last request served (head and body, as on the wire). */
const char *fake_conn_output(const ls_conn *c, size_t *len);

#endif
