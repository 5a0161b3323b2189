/* Output queue: the bytes of a connection waiting for the kernel, in order.
 *
 * A segment is memory or a range of an open file (sent with sendfile by the transport, so
 * the bytes never pass through user space).
 *
 * Small pieces are copied into owned blocks (coalesced, so a head and a short body make one
 * buffer); large pieces may be referenced in place, with a release callback that runs once
 * the kernel has taken them or the queue is freed. Bytes handed to an in-flight write stay
 * where they are until ls_outq_consume() says the kernel took them. */
#ifndef LS_OUTQ_H
#define LS_OUTQ_H

#include <stddef.h>
#include <uv.h>

typedef void (*ls_release_fn)(void *ctx);

typedef struct ls_seg {
    const char *base; /* NULL for a file range */
    size_t len;    /* valid bytes from base (or from pos in the file) */
    size_t off;    /* bytes already taken by the kernel */
    char *own;     /* owned block (freed on pop), or NULL */
    size_t cap;    /* capacity of the owned block */
    ls_release_fn release;
    void *ctx;
    int64_t pos;   /* a file range: where it starts in the file */
    int fd;        /* a file range: the open file (valid while the segment is queued) */
} ls_seg;

typedef struct ls_outq {
    ls_seg *segs;
    size_t first, count, cap; /* live segments are segs[first .. first+count) */
    size_t bytes;             /* bytes not yet taken by the kernel */
    char *spare;              /* one cached block of LS_OUTQ_BLOCK bytes */
} ls_outq;

#define LS_OUTQ_BLOCK 4096
#define LS_OUTQ_MAX_BUF (1u << 30) /* the largest buffer ls_outq_bufs hands out */

void ls_outq_init(ls_outq *q);
/* Drops every queued byte (releasing references) and frees the queue's memory. */
void ls_outq_free(ls_outq *q);
/* Drops every queued byte but keeps the memory for reuse. */
void ls_outq_clear(ls_outq *q);

/* Copies len bytes to the end of the queue. Returns 0, or -1 when out of memory. */
int ls_outq_append(ls_outq *q, const char *data, size_t len);
/* Queues len bytes in place; release(ctx) runs once they are no longer needed, even on
 * failure (-1). */
int ls_outq_append_ref(ls_outq *q, const char *data, size_t len, ls_release_fn release,
                       void *ctx);
/* Queues len bytes of the open file fd from offset pos; release(ctx) runs once they are sent
 * or dropped (it may close fd), even on failure (-1). */
int ls_outq_append_file(ls_outq *q, int fd, int64_t pos, size_t len, ls_release_fn release,
                        void *ctx);
/* Moves every segment of src to the end of dst; src is left empty. Returns 0 or -1. */
int ls_outq_move(ls_outq *dst, ls_outq *src);

/* Fills at most max buffers with the unsent bytes in memory from the front, up to the first
 * file range; returns how many. */
size_t ls_outq_bufs(const ls_outq *q, uv_buf_t *bufs, size_t max);
/* Whether a file range follows the memory segments at the front (what ls_outq_bufs hands
 * out): those bytes may wait for the file's in the same packet. */
int ls_outq_file_follows(const ls_outq *q);
/* The front segment when it is a file range with bytes to send, else NULL. */
const ls_seg *ls_outq_front_file(const ls_outq *q);
/* The kernel took n bytes from the front. */
void ls_outq_consume(ls_outq *q, size_t n);

#endif
