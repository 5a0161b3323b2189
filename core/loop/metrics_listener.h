/* --metrics-listen ADDR:PORT: a listener of its own that answers GET /metrics with the
 * exposition text (core/loop/metrics.h) and 404 to anything else. It is an HTTP server like
 * the app's (the same strict parser, timeouts and graceful stop) whose application is these
 * few lines of C, so a scrape never waits for Lua and never reaches the app. Each worker
 * listens on the same port (SO_REUSEPORT); any of them answers with the totals of all. */
#ifndef LS_METRICS_LISTENER_H
#define LS_METRICS_LISTENER_H

#include "server.h"

typedef struct ls_metrics_listener {
    ls_server server;
    int open;
} ls_metrics_listener;

/* Parses "ADDR:PORT" ("127.0.0.1:9145", "[::1]:9145", "localhost:9145") into the settings'
 * host and port; returns NULL or what is wrong. */
const char *ls_metrics_listen_parse(const char *text, ls_settings *s);
/* Listens with the settings (host and port from --metrics-listen); writes the bound
 * "host:port" into addr. Returns 0 or a libuv error. */
int ls_metrics_listener_start(ls_metrics_listener *m, uv_loop_t *loop, const ls_settings *s,
                              int reuseport, char *addr, size_t addrlen);
void ls_metrics_listener_stop(ls_metrics_listener *m, uint64_t grace_ms);
void ls_metrics_listener_free(ls_metrics_listener *m);

#endif
