#include "server.h"
#include "deflate.h"
#include "wsconn.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINK(c) ((ls_conn_link *)(c))

static void on_connection(uv_stream_t *listener, int status) {
    ls_server *s = listener->data;
    if (status < 0) {
        LS_LOG(LS_LOG_WARN, "accept: %s", uv_strerror(status));
        return;
    }
    ls_transport *t = ls_transport_accept(&s->io, listener);
    if (t)
        ls_conn_start(s, t);
    ls_server_run_pending(s);
}

int ls_server_init(ls_server *s, uv_loop_t *loop, const ls_settings *settings,
                   const ls_app_iface *app, void *app_ctx) {
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->settings = *settings;
    s->app = app;
    s->app_ctx = app_ctx;
    int r = ls_io_init(&s->io, loop);
    if (r < 0)
        return r;
    s->io.send_timeout_ms = settings->send_timeout_ms;
    s->io.linger_time_ms = settings->linger_time_ms;
    s->io.linger_idle_ms = settings->linger_idle_ms;
    ls_conn_init_kinds(s);
    s->kind_ws = ls_wsconn_kind(&s->io.deadlines);
    ls_client_init(&s->client, &s->io, settings->resolver_cache_time_ms);
    uv_timer_init(loop, &s->grace);
    s->grace.data = s;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->handles_open = 5; /* the listener, the grace timer, the io's timer and idle, and the
                            client's idle */
    return 0;
}

void ls_server_configure(ls_server *s, const ls_settings *settings) {
    s->settings = *settings;
    s->io.send_timeout_ms = settings->send_timeout_ms;
    s->io.linger_time_ms = settings->linger_time_ms;
    s->io.linger_idle_ms = settings->linger_idle_ms;
    s->client.resolver.cache_ms = settings->resolver_cache_time_ms;
}

int ls_server_listen(ls_server *s, char *addr, size_t addrlen) {
    struct sockaddr_storage ss;
    int r;
    if (strchr(s->settings.host, ':'))
        r = uv_ip6_addr(s->settings.host, s->settings.port, (struct sockaddr_in6 *)&ss);
    else
        r = uv_ip4_addr(s->settings.host, s->settings.port, (struct sockaddr_in *)&ss);
    if (r < 0)
        return r;
    if (s->reuseport) {
        /* libuv 1.44 has no flag for SO_REUSEPORT: make the socket here. */
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1;
        if (fd < 0)
            return uv_translate_sys_error(errno);
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
            bind(fd, (struct sockaddr *)&ss,
                 ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                          : sizeof(struct sockaddr_in)) != 0) {
            r = uv_translate_sys_error(errno);
            close(fd);
            return r;
        }
        if ((r = uv_tcp_open(&s->listener, fd)) < 0) {
            close(fd);
            return r;
        }
    } else if ((r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) < 0) {
        return r;
    }
    if ((r = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)) < 0)
        return r;
    int len = sizeof ss;
    if ((r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len)) < 0)
        return r;
    char host[64];
    int port;
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        snprintf(addr, addrlen, "[%s]:%d", host, port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        snprintf(addr, addrlen, "%s:%d", host, port);
    }
    return 0;
}

void ls_server_open_fd(ls_server *s, int fd) {
    ls_transport *t = ls_transport_open_fd(&s->io, fd);
    if (t)
        ls_conn_start(s, t);
}

void ls_server_run_pending(ls_server *s) { ls_io_run_pending(&s->io); }

void ls_server_add(ls_server *s, ls_conn *c) {
    LINK(c)->prev = NULL;
    LINK(c)->next = s->conns;
    if (s->conns)
        LINK(s->conns)->prev = c;
    s->conns = c;
    s->nconns++;
}

static void finish_stop(ls_server *s);

void ls_server_forget(ls_server *s, ls_conn *c) {
    ls_conn_link *n = LINK(c);
    if (n->prev)
        LINK(n->prev)->next = n->next;
    else
        s->conns = n->next;
    if (n->next)
        LINK(n->next)->prev = n->prev;
    s->nconns--;
    if (s->stopping && s->nconns == 0)
        finish_stop(s);
}

static void on_handle_closed(uv_handle_t *h) {
    ls_server *s = h->data;
    if (--s->handles_open == 0 && s->app->on_stopped)
        s->app->on_stopped(s->app_ctx);
}

static void finish_stop(ls_server *s) {
    if (uv_is_closing((uv_handle_t *)&s->grace))
        return;
    uv_close((uv_handle_t *)&s->grace, on_handle_closed);
    /* Outbound work ends with the server: the app closes its sockets, then the pools go. */
    s->client.stopping = 1;
    if (s->app->on_drained)
        s->app->on_drained(s->app_ctx);
    ls_client_close(&s->client, on_handle_closed, s);
    ls_io_close(&s->io, on_handle_closed, s);
}

static void on_grace(uv_timer_t *t) {
    ls_server *s = t->data;
    LS_LOG(LS_LOG_WARN, "shutdown: %zu connection(s) still busy: dropped", s->nconns);
    for (ls_conn *c = s->conns; c; c = LINK(c)->next)
        LINK(c)->destroy ? LINK(c)->destroy(c) : ls_conn_destroy(c);
}

void ls_server_stop(ls_server *s, uint64_t grace_ms) {
    if (s->stopping)
        return;
    s->stopping = 1;
    s->io.stopping = 1;
    /* Connections the kernel already accepted would be reset by closing the listener: take
     * them first; they are served, with Connection: close. */
    uv_os_fd_t lfd;
    if (uv_fileno((uv_handle_t *)&s->listener, &lfd) == 0) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
            ls_server_open_fd(s, fd);
    }
    uv_close((uv_handle_t *)&s->listener, on_handle_closed);
    for (ls_conn *c = s->conns; c;) {
        ls_conn *next = LINK(c)->next;
        if (LINK(c)->stop)
            LINK(c)->stop(c);
        else
            ls_conn_stop(c);
        c = next;
    }
    if (s->nconns == 0)
        finish_stop(s);
    else
        uv_timer_start(&s->grace, on_grace, grace_ms, 0);
}

void ls_server_free(ls_server *s) {
    ls_client_free(&s->client);
    ls_io_free(&s->io);
    ls_pool_free(&s->pool);
    ls_ws_deflate_cleanup();
}
