#include "response.h"

#include <stdlib.h>
#include <string.h>

void ls_response_init(ls_response *r) {
    memset(r, 0, sizeof *r);
    ls_outq_init(&r->pre);
    r->status = 200;
    r->user_length = -1;
}

void ls_response_free(ls_response *r) {
    ls_outq_free(&r->pre);
    free(r->headers);
    free(r->strings);
    memset(r, 0, sizeof *r);
}

const char *ls_strerror(int err) {
    switch (err) {
    case LS_ECLOSED: return "connection closed";
    case LS_EENDED: return "write after end";
    case LS_ELENGTH: return "body longer than the Content-Length set";
    case LS_EHEADERS_SENT: return "headers already sent";
    case LS_EBADNAME: return "invalid header name";
    case LS_EBADVALUE: return "invalid character in header value";
    case LS_ENOMEM: return "out of memory";
    case LS_EBADSTATUS: return "invalid status code";
    case LS_EBADLENGTH: return "invalid Content-Length";
    default: return "unknown error";
    }
}

void ls_response_reset(ls_response *r) {
    ls_outq_clear(&r->pre);
    r->status = 200;
    r->reason = NULL;
    r->rlen = 0;
    r->nheaders = 0;
    r->slen = 0;
    r->user_length = -1;
    r->body_bytes = 0;
    r->head_len = 0;
    r->frozen = r->head_sent = r->ended = r->end_queued = r->user_close = 0;
    memset(&r->framing, 0, sizeof r->framing);
}

/* Copies bytes into the string store; returns their offset or -1. */
static long store(ls_response *r, const char *s, size_t n) {
    if (r->slen + n + 1 > r->scap) {
        size_t cap = r->scap ? r->scap : 512;
        while (cap < r->slen + n + 1)
            cap *= 2;
        char *old = r->strings;
        char *p = malloc(cap);
        if (!p)
            return -1;
        if (old) {
            memcpy(p, old, r->slen);
            /* fix the pointers that point into the old store */
            for (size_t i = 0; i < r->nheaders; i++) {
                r->headers[i].name = p + (r->headers[i].name - old);
                r->headers[i].value = p + (r->headers[i].value - old);
            }
            if (r->reason)
                r->reason = p + (r->reason - old);
            free(old);
        }
        r->strings = p, r->scap = cap;
    }
    long off = (long)r->slen;
    memcpy(r->strings + r->slen, s, n);
    r->strings[r->slen + n] = 0;
    r->slen += n + 1;
    return off;
}

int ls_response_add_header(ls_response *r, const char *name, size_t nlen, const char *value,
                           size_t vlen) {
    if (r->nheaders == r->hcap) {
        size_t cap = r->hcap ? r->hcap * 2 : 8;
        ls_header *h = realloc(r->headers, cap * sizeof *h);
        if (!h)
            return -1;
        r->headers = h, r->hcap = cap;
    }
    long n = store(r, name, nlen);
    if (n < 0)
        return -1;
    long v = store(r, value, vlen);
    if (v < 0)
        return -1;
    ls_header *h = &r->headers[r->nheaders++];
    h->name = r->strings + n, h->nlen = nlen;
    h->value = r->strings + v, h->vlen = vlen;
    return 0;
}

static int same_name(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

void ls_response_remove_header(ls_response *r, const char *name, size_t nlen) {
    size_t j = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        ls_header *h = &r->headers[i];
        if (h->nlen == nlen && same_name(h->name, name, nlen))
            continue;
        r->headers[j++] = *h;
    }
    r->nheaders = j;
}

long ls_response_find_header(const ls_response *r, const char *name, size_t nlen, size_t n) {
    for (size_t i = 0; i < r->nheaders; i++) {
        const ls_header *h = &r->headers[i];
        if (h->nlen == nlen && same_name(h->name, name, nlen) && n-- == 0)
            return (long)i;
    }
    return -1;
}

int ls_response_set_reason(ls_response *r, const char *reason, size_t len) {
    long off = store(r, reason, len);
    if (off < 0)
        return -1;
    r->reason = r->strings + off;
    r->rlen = len;
    return 0;
}

int ls_response_parse_length(const char *v, size_t n, int64_t *out) {
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    if (n == 0 || n > 18)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return 0;
}

void ls_response_refresh_special(ls_response *res) {
    res->user_length = -1;
    res->user_close = 0;
    long i = ls_response_find_header(res, "content-length", 14, 0);
    if (i >= 0)
        ls_response_parse_length(res->headers[i].value, res->headers[i].vlen, &res->user_length);
    for (size_t k = 0;; k++) {
        long j = ls_response_find_header(res, "connection", 10, k);
        if (j < 0)
            break;
        const ls_header *h = &res->headers[j];
        /* a token list; "close" anywhere in it ends the connection */
        for (size_t p = 0; p + 5 <= h->vlen; p++)
            if (ls_name_is(h->value + p, 5, "close") &&
                (p == 0 || h->value[p - 1] == ',' || h->value[p - 1] == ' ') &&
                (p + 5 == h->vlen || h->value[p + 5] == ',' || h->value[p + 5] == ' '))
                res->user_close = 1;
    }
}
