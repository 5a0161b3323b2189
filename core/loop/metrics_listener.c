#include "metrics_listener.h"

#include "metrics.h"

#include <stdlib.h>
#include <string.h>

static void release(void *p) { free(p); }

static void *on_request(void *app, ls_conn *c) {
    (void)app;
    const ls_request *r = ls_conn_request(c);
    const char *url = ls_request_url(r);
    size_t n = r->url_len;
    const char *q = memchr(url, '?', n);
    size_t plen = q ? (size_t)(q - url) : n;
    int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    if (plen != 8 || memcmp(url, "/metrics", 8) != 0) {
        ls_conn_set_status(c, 404);
        ls_conn_set_header(c, "Content-Type", 12, "text/plain; charset=utf-8", 25, 1);
        ls_conn_finish(c, "Not Found: the metrics are at /metrics\n", 39, NULL, NULL);
        return NULL;
    }
    if (!get) {
        ls_conn_set_status(c, 405);
        ls_conn_set_header(c, "Allow", 5, "GET, HEAD", 9, 1);
        ls_conn_set_header(c, "Content-Type", 12, "text/plain; charset=utf-8", 25, 1);
        ls_conn_finish(c, "Method Not Allowed\n", 19, NULL, NULL);
        return NULL;
    }
    size_t len = 0;
    char *text = ls_metrics_render(&len);
    if (!text) {
        ls_conn_respond_error(c, 500);
        return NULL;
    }
    ls_conn_set_header(c, "Content-Type", 12, "text/plain; version=0.0.4; charset=utf-8", 40, 1);
    ls_conn_finish(c, text, len, release, text);
    return NULL;
}

static void on_nothing(void *req) { (void)req; }

static const ls_app_iface metrics_app = {
    .on_request = on_request,
    .on_body = on_nothing,
    .on_drain = on_nothing,
    .on_finish = on_nothing,
    .on_abort = on_nothing,
};

const char *ls_metrics_listen_parse(const char *text, ls_settings *s) {
    static const char bad[] = "expected ADDR:PORT (127.0.0.1:9145, [::1]:9145) or off";
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || !colon[1])
        return bad;
    char host[300];
    size_t hn = (size_t)(colon - text);
    if (hn >= sizeof host)
        return bad;
    memcpy(host, text, hn);
    host[hn] = '\0';
    if (strchr(host, ':') && host[0] != '[')
        return bad; /* an IPv6 address needs its brackets before the port */
    if (ls_setting_set(s, ls_setting_find("host"), host) ||
        ls_setting_set(s, ls_setting_find("port"), colon + 1))
        return bad;
    return NULL;
}

int ls_metrics_listener_start(ls_metrics_listener *m, uv_loop_t *loop, const ls_settings *s,
                              int reuseport, char *addr, size_t addrlen) {
    int r = ls_server_init(&m->server, loop, s, &metrics_app, m);
    if (r < 0)
        return r;
    m->open = 1;
    m->server.reuseport = reuseport;
    m->server.io.uncounted = 1; /* scrapes do not move what they read */
    return ls_server_listen(&m->server, addr, addrlen);
}

void ls_metrics_listener_stop(ls_metrics_listener *m, uint64_t grace_ms) {
    if (m->open)
        ls_server_stop(&m->server, grace_ms);
}

void ls_metrics_listener_free(ls_metrics_listener *m) {
    if (m->open)
        ls_server_free(&m->server);
    m->open = 0;
}
