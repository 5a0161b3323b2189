/* Names to addresses for outbound connections, without blocking the loop: numeric addresses
 * are parsed at once, names go to getaddrinfo in libuv's thread pool (which /etc/hosts and
 * the system's resolver configuration govern), and answers are kept for a bounded time.
 *
 * The thread pool is shared with file work (libuv's default is 4 threads): a slow name
 * server can delay file operations of the same process, and the other way round. */
#ifndef LS_RESOLVER_H
#define LS_RESOLVER_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define LS_ADDRS_MAX 8

typedef struct ls_addrs {
    int n;
    struct sockaddr_storage addr[LS_ADDRS_MAX]; /* in the order to try them; port set */
} ls_addrs;

typedef struct ls_lookup ls_lookup;
/* A lookup ended: err 0 and the addresses, or err a libuv error (UV_EAI_*). */
typedef void (*ls_resolved_fn)(void *ctx, int err, const ls_addrs *addrs);

typedef struct ls_resolver {
    uv_loop_t *loop;
    struct ls_name *names; /* the cache, most recently used first */
    int nnames;
    uint64_t cache_ms; /* how long an answer is reused */
} ls_resolver;

void ls_resolver_init(ls_resolver *r, uv_loop_t *loop, uint64_t cache_ms);
void ls_resolver_free(ls_resolver *r);
/* Resolves host for port. Returns 1 with *out filled when the answer is known now (a numeric
 * address, or the cache), 0 when it comes later through cb (*lookup set, to cancel), or a
 * libuv error. */
int ls_resolve(ls_resolver *r, const char *host, int port, ls_addrs *out, ls_lookup **lookup,
               ls_resolved_fn cb, void *ctx);
/* Records host's addresses (their ports are ignored) as if a lookup had just answered: kept
 * for the cache time (tests; names known in advance). */
void ls_resolver_remember(ls_resolver *r, const char *host, const ls_addrs *addrs);
/* The caller no longer wants the answer: cb will not be called. */
void ls_lookup_cancel(ls_lookup *l);

#endif
