#include "response_body.h"

#include <stdlib.h>

/* A piece of body: bytes in memory (data), or a range of an open file (data NULL). */
typedef struct piece {
    const char *data;
    int fd;
    int64_t pos;
    size_t len;
    ls_release_fn rel;
    void *ctx;
} piece;

static int queue_piece(ls_outq *q, const piece *p) {
    int r;
    if (!p->data)
        r = ls_outq_append_file(q, p->fd, p->pos, p->len, p->rel, p->ctx);
    else if (p->rel)
        r = ls_outq_append_ref(q, p->data, p->len, p->rel, p->ctx);
    else
        r = ls_outq_append(q, p->data, p->len);
    return r < 0 ? LS_ENOMEM : LS_OK;
}

static int queue_bytes(ls_outq *q, const char *data, size_t len, ls_release_fn rel, void *ctx) {
    piece p = {data, -1, 0, len, rel, ctx};
    return queue_piece(q, &p);
}

static int queue_chunk_header(ls_outq *out, size_t len) {
    char line[24], *p = line + sizeof line;
    *--p = '\n';
    *--p = '\r';
    do
        *--p = "0123456789abcdef"[len & 15];
    while (len >>= 4);
    size_t n = (size_t)(line + sizeof line - p);
    return ls_outq_append(out, p, n) < 0 ? LS_ENOMEM : LS_OK;
}

int ls_body_admit(ls_response *res, int head_request, size_t len, ls_release_fn rel,
                  void *ctx) {
    int r = 1;
    if (!ls_status_allows_body(res->status) || head_request ||
        (res->head_sent && res->framing.framing == LS_FRAME_NONE)) {
        res->body_bytes += len;
        r = 0;
    } else if (res->user_length >= 0 && res->body_bytes + len > (uint64_t)res->user_length) {
        r = LS_ELENGTH;
    }
    if (r != 1 && rel)
        rel(ctx);
    return r;
}

static int append(ls_response *res, ls_outq *out, const piece *p) {
    int r;
    if (!res->head_sent) {
        r = queue_piece(&res->pre, p);
    } else if (res->framing.framing == LS_FRAME_CHUNKED) {
        r = queue_chunk_header(out, p->len);
        if (r == LS_OK)
            r = queue_piece(out, p);
        else if (p->rel)
            p->rel(p->ctx);
        if (r == LS_OK)
            r = ls_outq_append(out, "\r\n", 2) < 0 ? LS_ENOMEM : LS_OK;
    } else {
        r = queue_piece(out, p);
    }
    if (r == LS_OK)
        res->body_bytes += p->len;
    return r;
}

int ls_body_append(ls_response *res, ls_outq *out, const char *data, size_t len,
                   ls_release_fn rel, void *ctx) {
    piece p = {data, -1, 0, len, rel, ctx};
    return append(res, out, &p);
}

int ls_body_append_file(ls_response *res, ls_outq *out, int fd, int64_t pos, size_t len,
                        ls_release_fn rel, void *ctx) {
    piece p = {NULL, fd, pos, len, rel, ctx};
    return append(res, out, &p);
}

int ls_body_end(ls_response *res, ls_outq *out) {
    if (res->end_queued)
        return 1;
    res->end_queued = 1;
    if (res->framing.framing == LS_FRAME_CHUNKED)
        ls_outq_append(out, "0\r\n\r\n", 5);
    else if (res->framing.framing == LS_FRAME_LENGTH && res->body_bytes < res->framing.length)
        return 0;
    return 1;
}

int ls_body_emit_head(ls_response *res, ls_outq *out, const ls_head *h, const char *data,
                      size_t len, ls_release_fn rel, void *ctx) {
    char stack[2048];
    size_t n = ls_head_serialize(h, stack, sizeof stack);
    char *buf = stack;
    if (n > sizeof stack) {
        buf = malloc(n);
        if (!buf) {
            if (rel)
                rel(ctx);
            return LS_ENOMEM;
        }
        ls_head_serialize(h, buf, n);
    }
    ls_outq_append(out, buf, n);
    if (buf != stack)
        free(buf);
    res->head_sent = res->frozen = 1;
    res->head_len = n;
    res->framing = h->framing;
    if (h->framing.framing == LS_FRAME_NONE) {
        ls_outq_clear(&res->pre);
        if (rel)
            rel(ctx);
    } else if (res->pre.bytes || len) {
        if (h->framing.framing == LS_FRAME_CHUNKED)
            queue_chunk_header(out, res->pre.bytes + len);
        ls_outq_move(out, &res->pre);
        if (len)
            queue_bytes(out, data, len, rel, ctx);
        if (h->framing.framing == LS_FRAME_CHUNKED)
            ls_outq_append(out, "\r\n", 2);
    } else if (rel) {
        rel(ctx);
    }
    return LS_OK;
}
