#include "outq.h"

#include <stdlib.h>
#include <string.h>

void ls_outq_init(ls_outq *q) { memset(q, 0, sizeof *q); }

static void seg_drop(ls_outq *q, ls_seg *s) {
    if (s->own) {
        if (s->cap == LS_OUTQ_BLOCK && !q->spare)
            q->spare = s->own;
        else
            free(s->own);
    } else if (s->release) {
        s->release(s->ctx);
    }
}

void ls_outq_clear(ls_outq *q) {
    for (size_t i = 0; i < q->count; i++)
        seg_drop(q, &q->segs[q->first + i]);
    q->first = q->count = 0;
    q->bytes = 0;
}

void ls_outq_free(ls_outq *q) {
    ls_outq_clear(q);
    free(q->segs);
    free(q->spare);
    memset(q, 0, sizeof *q);
}

/* A free slot at the end of the live segments, or NULL. */
static ls_seg *seg_push(ls_outq *q) {
    if (q->first + q->count == q->cap) {
        if (q->first > 0) {
            memmove(q->segs, q->segs + q->first, q->count * sizeof *q->segs);
            q->first = 0;
        } else {
            size_t cap = q->cap ? q->cap * 2 : 8;
            ls_seg *segs = realloc(q->segs, cap * sizeof *segs);
            if (!segs)
                return NULL;
            q->segs = segs;
            q->cap = cap;
        }
    }
    ls_seg *s = &q->segs[q->first + q->count++];
    memset(s, 0, sizeof *s);
    return s;
}

int ls_outq_append(ls_outq *q, const char *data, size_t len) {
    if (len == 0)
        return 0;
    if (q->count) {
        ls_seg *tail = &q->segs[q->first + q->count - 1];
        if (tail->own && tail->cap - tail->len >= len) {
            memcpy(tail->own + tail->len, data, len);
            tail->len += len;
            q->bytes += len;
            return 0;
        }
    }
    char *block;
    size_t cap;
    if (len <= LS_OUTQ_BLOCK && q->spare) {
        block = q->spare, cap = LS_OUTQ_BLOCK;
        q->spare = NULL;
    } else {
        cap = len <= LS_OUTQ_BLOCK ? LS_OUTQ_BLOCK : len;
        block = malloc(cap);
        if (!block)
            return -1;
    }
    ls_seg *s = seg_push(q);
    if (!s) {
        free(block);
        return -1;
    }
    memcpy(block, data, len);
    s->base = s->own = block;
    s->cap = cap;
    s->len = len;
    q->bytes += len;
    return 0;
}

/* A new segment of len bytes owned by someone else (release(ctx) when done), or NULL: then
 * release has run already, and *r says 0 (nothing to queue) or -1 (out of memory). */
static ls_seg *push_ref(ls_outq *q, size_t len, ls_release_fn release, void *ctx, int *r) {
    ls_seg *s = len ? seg_push(q) : NULL;
    if (!s) {
        if (release)
            release(ctx);
        *r = len ? -1 : 0;
        return NULL;
    }
    s->len = len;
    s->release = release;
    s->ctx = ctx;
    q->bytes += len;
    return s;
}

int ls_outq_append_ref(ls_outq *q, const char *data, size_t len, ls_release_fn release,
                       void *ctx) {
    int r = 0;
    ls_seg *s = push_ref(q, len, release, ctx, &r);
    if (s)
        s->base = data;
    return r;
}

int ls_outq_append_file(ls_outq *q, int fd, int64_t pos, size_t len, ls_release_fn release,
                        void *ctx) {
    int r = 0;
    ls_seg *s = push_ref(q, len, release, ctx, &r);
    if (s)
        s->fd = fd, s->pos = pos;
    return r;
}

int ls_outq_move(ls_outq *dst, ls_outq *src) {
    for (size_t i = 0; i < src->count; i++) {
        ls_seg *from = &src->segs[src->first + i];
        ls_seg *to = seg_push(dst);
        if (!to)
            return -1; /* src keeps what was not moved; the caller clears it */
        *to = *from;
        /* A moved owned block is full as far as dst is concerned: nothing is appended
         * to it later, so its position stays final. */
        to->cap = to->len;
        dst->bytes += from->len - from->off;
        src->bytes -= from->len - from->off;
        memset(from, 0, sizeof *from);
    }
    src->first = src->count = 0;
    return 0;
}

size_t ls_outq_bufs(const ls_outq *q, uv_buf_t *bufs, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < q->count && n < max; i++) {
        const ls_seg *s = &q->segs[q->first + i];
        if (!s->base)
            break; /* a file range: sent another way */
        /* uv_buf_t holds an unsigned length: a huge piece goes out as consecutive parts */
        for (size_t off = s->off; off < s->len && n < max;) {
            size_t part = s->len - off;
            if (part > LS_OUTQ_MAX_BUF)
                part = LS_OUTQ_MAX_BUF;
            bufs[n++] = uv_buf_init((char *)s->base + off, (unsigned)part);
            off += part;
        }
    }
    return n;
}

int ls_outq_file_follows(const ls_outq *q) {
    for (size_t i = 0; i < q->count; i++)
        if (!q->segs[q->first + i].base)
            return i > 0;
    return 0;
}

const ls_seg *ls_outq_front_file(const ls_outq *q) {
    if (!q->count)
        return NULL;
    const ls_seg *s = &q->segs[q->first];
    return !s->base && s->off < s->len ? s : NULL;
}

void ls_outq_consume(ls_outq *q, size_t n) {
    q->bytes -= n;
    while (n && q->count) {
        ls_seg *s = &q->segs[q->first];
        size_t left = s->len - s->off;
        if (n < left) {
            s->off += n;
            return;
        }
        n -= left;
        /* The tail block may still take appends: keep it, emptied, when it is the last. */
        if (q->count == 1 && s->own && s->cap == LS_OUTQ_BLOCK) {
            s->off = s->len = 0;
            return;
        }
        seg_drop(q, s);
        q->first++, q->count--;
    }
    if (q->count == 0)
        q->first = 0;
}
