#include "server.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *const ls_close_reason_names[LS_CLOSE_REASONS] = {
    "finish-close", "idle",  "header-timeout", "body-timeout",   "send-timeout",
    "limit",        "destroy", "peer-reset",   "protocol-error", "shutdown",
};

/* How many times deferred work is run again in one go when running it deferred more: past
 * that it waits for the next loop turn, so one busy connection cannot starve the rest. */
#define PENDING_ROUNDS 8

static void on_idle(uv_idle_t *idle) {
    ls_server *s = idle->data;
    ls_server_run_pending(s);
}

static void on_connection(uv_stream_t *listener, int status) {
    ls_server *s = listener->data;
    if (status < 0) {
        LS_LOG(LS_LOG_WARN, "accept: %s", uv_strerror(status));
        return;
    }
    ls_conn_accept(s);
    ls_server_run_pending(s);
}

int ls_server_init(ls_server *s, uv_loop_t *loop, const ls_settings *settings,
                   const ls_app_iface *app, void *app_ctx) {
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->settings = *settings;
    s->app = app;
    s->app_ctx = app_ctx;
    s->readbuf_size = 64 * 1024;
    s->readbuf = malloc(s->readbuf_size);
    if (!s->readbuf)
        return UV_ENOMEM;
    uv_idle_init(loop, &s->idle);
    s->idle.data = s;
    uv_timer_init(loop, &s->grace);
    s->grace.data = s;
    ls_deadlines_init(&s->deadlines, loop, ls_conn_timeout);
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->handles_open = 4;
    return 0;
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

#define NODE(c) ((ls_conn_node *)(c))

void ls_server_add(ls_server *s, ls_conn *c) {
    NODE(c)->next = s->conns;
    if (s->conns)
        NODE(s->conns)->prev = c;
    s->conns = c;
    s->nconns++;
}

void ls_server_defer(ls_server *s, ls_conn *c) {
    ls_conn_node *n = NODE(c);
    if (n->pending)
        return;
    n->pending = 1;
    n->next_pending = s->pending;
    s->pending = c;
    if (!uv_is_closing((uv_handle_t *)&s->idle))
        uv_idle_start(&s->idle, on_idle);
}

void ls_server_run_pending(ls_server *s) {
    if (s->depth)
        return;
    s->depth++;
    for (int round = 0; round < PENDING_ROUNDS && s->pending; round++) {
        ls_conn *list = s->pending;
        s->pending = NULL;
        while (list) {
            ls_conn *c = list;
            list = NODE(c)->next_pending;
            NODE(c)->next_pending = NULL;
            NODE(c)->pending = 0;
            ls_conn_advance(c);
        }
    }
    /* Responses to pipelined requests went out corked: one packet for the lot. */
    while (s->corked) {
        ls_conn *c = s->corked;
        s->corked = NODE(c)->next_corked;
        NODE(c)->next_corked = NULL;
        NODE(c)->corked = 0;
        ls_conn_uncork(c);
    }
    s->depth--;
    if (!s->pending && !uv_is_closing((uv_handle_t *)&s->idle))
        uv_idle_stop(&s->idle);
}

static void finish_stop(ls_server *s);

void ls_server_corked(ls_server *s, ls_conn *c) {
    ls_conn_node *n = NODE(c);
    if (n->corked)
        return;
    n->corked = 1;
    n->next_corked = s->corked;
    s->corked = c;
}

void ls_server_forget(ls_server *s, ls_conn *c) {
    ls_conn_node *n = NODE(c);
    if (n->prev)
        NODE(n->prev)->next = n->next;
    else
        s->conns = n->next;
    if (n->next)
        NODE(n->next)->prev = n->prev;
    if (n->pending) {
        for (ls_conn **p = &s->pending; *p; p = &NODE(*p)->next_pending)
            if (*p == c) {
                *p = n->next_pending;
                break;
            }
    }
    if (n->corked) {
        for (ls_conn **p = &s->corked; *p; p = &NODE(*p)->next_corked)
            if (*p == c) {
                *p = n->next_corked;
                break;
            }
    }
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
    if (!uv_is_closing((uv_handle_t *)&s->idle)) {
        uv_close((uv_handle_t *)&s->idle, on_handle_closed);
        uv_close((uv_handle_t *)&s->grace, on_handle_closed);
        ls_deadlines_close(&s->deadlines, on_handle_closed, s);
    }
}

static void on_grace(uv_timer_t *t) {
    ls_server *s = t->data;
    LS_LOG(LS_LOG_WARN, "shutdown: %zu connection(s) still busy: dropped", s->nconns);
    for (ls_conn *c = s->conns; c; c = NODE(c)->next)
        ls_conn_destroy(c);
}

void ls_server_stop(ls_server *s, uint64_t grace_ms) {
    if (s->stopping)
        return;
    s->stopping = 1;
    /* Connections the kernel already accepted would be reset by closing the listener: take
     * them first; they are served, with Connection: close. */
    uv_os_fd_t lfd;
    if (uv_fileno((uv_handle_t *)&s->listener, &lfd) == 0) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
            ls_conn_open_fd(s, fd);
    }
    uv_close((uv_handle_t *)&s->listener, on_handle_closed);
    for (ls_conn *c = s->conns; c;) {
        ls_conn *next = NODE(c)->next;
        ls_conn_stop(c);
        c = next;
    }
    if (s->nconns == 0)
        finish_stop(s);
    else
        uv_timer_start(&s->grace, on_grace, grace_ms, 0);
}

void ls_server_free(ls_server *s) {
    free(s->readbuf);
    s->readbuf = NULL;
    for (size_t i = 0; i < s->nkits; i++)
        ls_kit_free(&s->kits[i]);
    s->nkits = 0;
}

void ls_kit_free(ls_kit *k) {
    free(k->arena), free(k->fields), free(k->strings), free(k->headers), free(k->segs);
    free(k->block), free(k->parser);
}
