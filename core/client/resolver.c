#include "resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_MAX 256 /* names cached at once; the least recently used goes first */

typedef struct ls_name {
    struct ls_name *next;
    uint64_t expires;
    ls_addrs addrs; /* port 0 */
    char host[];
} ls_name;

struct ls_lookup {
    uv_getaddrinfo_t req;
    ls_resolver *r;
    ls_resolved_fn cb; /* NULL once cancelled */
    void *ctx;
    int port;
    char host[];
};

void ls_resolver_init(ls_resolver *r, uv_loop_t *loop, uint64_t cache_ms) {
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->cache_ms = cache_ms;
}

void ls_resolver_free(ls_resolver *r) {
    while (r->names) {
        ls_name *n = r->names;
        r->names = n->next;
        free(n);
    }
    r->nnames = 0;
}

static void set_port(struct sockaddr_storage *ss, int port) {
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static void with_port(const ls_addrs *from, int port, ls_addrs *out) {
    *out = *from;
    for (int i = 0; i < out->n; i++)
        set_port(&out->addr[i], port);
}

static int numeric(const char *host, int port, ls_addrs *out) {
    memset(out, 0, sizeof *out);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&out->addr[0];
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->addr[0];
    if (uv_ip4_addr(host, port, in4) == 0) {
        out->n = 1;
        return 1;
    }
    /* "[::1]" as well as "::1" */
    char buf[64];
    size_t len = strlen(host);
    if (len > 2 && len < sizeof buf && host[0] == '[' && host[len - 1] == ']') {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        host = buf;
    }
    if (uv_ip6_addr(host, port, in6) == 0) {
        out->n = 1;
        return 1;
    }
    return 0;
}

static ls_name *cached(ls_resolver *r, const char *host) {
    uint64_t now = uv_now(r->loop);
    for (ls_name **p = &r->names; *p; p = &(*p)->next) {
        ls_name *n = *p;
        if (strcmp(n->host, host) != 0)
            continue;
        *p = n->next;
        if (n->expires <= now) {
            free(n);
            r->nnames--;
            return NULL;
        }
        n->next = r->names; /* most recently used first */
        r->names = n;
        return n;
    }
    return NULL;
}

void ls_resolver_remember(ls_resolver *r, const char *host, const ls_addrs *addrs) {
    if (r->cache_ms == 0)
        return;
    ls_name *old = cached(r, host);
    if (old) {
        r->names = old->next;
        free(old);
        r->nnames--;
    }
    size_t len = strlen(host);
    ls_name *n = malloc(sizeof *n + len + 1);
    if (!n)
        return;
    memcpy(n->host, host, len + 1);
    n->addrs = *addrs;
    n->expires = uv_now(r->loop) + r->cache_ms;
    n->next = r->names;
    r->names = n;
    if (++r->nnames > NAMES_MAX) { /* drop the least recently used */
        ls_name **p = &r->names;
        while ((*p)->next)
            p = &(*p)->next;
        free(*p);
        *p = NULL;
        r->nnames--;
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    ls_lookup *l = req->data;
    ls_addrs addrs;
    memset(&addrs, 0, sizeof addrs);
    for (struct addrinfo *ai = res; ai && addrs.n < LS_ADDRS_MAX; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        int dup = 0; /* getaddrinfo lists an address once per socket type asked */
        for (int i = 0; i < addrs.n && !dup; i++)
            dup = memcmp(&addrs.addr[i], ai->ai_addr, ai->ai_addrlen) == 0;
        if (!dup)
            memcpy(&addrs.addr[addrs.n++], ai->ai_addr, ai->ai_addrlen);
    }
    uv_freeaddrinfo(res);
    if (status == 0 && addrs.n == 0)
        status = UV_EAI_NODATA;
    if (status == 0)
        ls_resolver_remember(l->r, l->host, &addrs);
    if (l->cb) {
        ls_addrs out;
        with_port(&addrs, l->port, &out);
        l->cb(l->ctx, status, &out);
    }
    free(l);
}

int ls_resolve(ls_resolver *r, const char *host, int port, ls_addrs *out, ls_lookup **lookup,
               ls_resolved_fn cb, void *ctx) {
    *lookup = NULL;
    if (numeric(host, port, out))
        return 1;
    ls_name *n = cached(r, host);
    if (n) {
        with_port(&n->addrs, port, out);
        return 1;
    }
    size_t len = strlen(host);
    ls_lookup *l = malloc(sizeof *l + len + 1);
    if (!l)
        return UV_ENOMEM;
    memcpy(l->host, host, len + 1);
    l->r = r;
    l->cb = cb;
    l->ctx = ctx;
    l->port = port;
    l->req.data = l;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int err = uv_getaddrinfo(r->loop, &l->req, on_resolved, host, NULL, &hints);
    if (err) {
        free(l);
        return err;
    }
    *lookup = l;
    return 0;
}

void ls_lookup_cancel(ls_lookup *l) {
    /* The thread may be running it already: the callback still comes, and frees l. */
    l->cb = NULL;
    uv_cancel((uv_req_t *)&l->req);
}
