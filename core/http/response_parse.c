#include "response_parse.h"

#include <stdlib.h>
#include <string.h>

/* A callback's own error: llhttp replaces the reason of some callbacks' errors with its own
 * words, so the reason is kept here too. */
static int fail(ls_response_parse *p, const char *why) {
    p->error = why;
    llhttp_set_error_reason(&p->parser, why);
    return HPE_USER;
}

/* An event's answer: 0 goes on, anything else stops the parse. */
static int event_result(ls_response_parse *p, int r) {
    return r ? fail(p, "stopped by the caller") : 0;
}

/* Appends to the current status reason or field; bounded by max_head. */
static int append(ls_response_parse *p, const char *at, size_t len) {
    if (len > p->max_head || p->len > p->max_head - len)
        return fail(p, "response head too large");
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->len + len)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b)
            return fail(p, "out of memory");
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, at, len);
    p->len += len;
    return 0;
}

static int on_message_begin(llhttp_t *lp) {
    ls_response_parse *p = lp->data;
    p->len = p->nlen = 0;
    p->last = 0;
    p->interim = 0;
    return 0;
}

static int on_status(llhttp_t *lp, const char *at, size_t len) {
    return append(lp->data, at, len);
}

static int on_version_complete(llhttp_t *lp) {
    if (lp->http_major != 1)
        return fail(lp->data, "unsupported HTTP version");
    return 0;
}

static int on_status_complete(llhttp_t *lp) {
    ls_response_parse *p = lp->data;
    int status = lp->status_code;
    size_t len = p->len;
    p->len = 0;
    if (status < 100)
        return fail(p, "Invalid response status");
    /* 1xx responses but 101 are interim (RFC 9110 15.2): the final response follows */
    if (status >= 100 && status < 200 && status != 101) {
        p->interim = 1;
        return 0;
    }
    if (!p->events->on_status)
        return 0;
    return event_result(p, p->events->on_status(p->ctx, status, lp->http_minor,
                                                len ? p->buf : "", len));
}

static int on_header_field(llhttp_t *lp, const char *at, size_t len) {
    ls_response_parse *p = lp->data;
    if (p->last != 1)
        p->len = p->nlen = 0; /* a new field */
    p->last = 1;
    return append(p, at, len);
}

static int on_header_value(llhttp_t *lp, const char *at, size_t len) {
    ls_response_parse *p = lp->data;
    if (p->last == 1)
        p->nlen = p->len;
    /* llhttp hands a value over in more than one piece when the input ended inside it (the
     * pieces join as they are) or when an obs-fold (CRLF then SP/HTAB) sat between them,
     * which a recipient replaces with SP (RFC 9112 5.2) */
    if (p->last == 2 && !(p->value_at_end && at == p->exec_start)) {
        while (len && (*at == ' ' || *at == '\t'))
            at++, len--;
        int r = append(p, " ", 1);
        if (r)
            return r;
    }
    p->last = 2;
    p->value_at_end = at + len == p->exec_end;
    return append(p, at, len);
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static int on_header_value_complete(llhttp_t *lp) {
    ls_response_parse *p = lp->data;
    if (p->last == 1)
        p->nlen = p->len; /* an empty value: no value piece came */
    p->last = 0;
    p->value_at_end = 0;
    if (p->interim || !p->events->on_field)
        return 0;
    const char *v = p->buf + p->nlen;
    size_t vlen = p->len - p->nlen;
    while (vlen && is_ows(*v))
        v++, vlen--;
    while (vlen && is_ows(v[vlen - 1]))
        vlen--;
    return event_result(p, p->events->on_field(p->ctx, p->head_done, p->buf, p->nlen, v, vlen));
}

static int on_headers_complete(llhttp_t *lp) {
    ls_response_parse *p = lp->data;
    p->len = p->nlen = 0;
    /* No body, whatever the fields say (RFC 9112 6.3): the response to HEAD, 1xx, 204 and
     * 304 (llhttp itself would read a Content-Length body after 204 or 304). Setting the
     * flag is what returning 1 does, but the head's end pauses here too. */
    int status = lp->status_code;
    if (p->head_request || status < 200 || status == 204 || status == 304)
        lp->flags |= F_SKIPBODY;
    if (p->interim)
        return 0; /* the next message follows */
    return HPE_PAUSED;
}

static int on_body(llhttp_t *lp, const char *at, size_t len) {
    ls_response_parse *p = lp->data;
    if (!p->events->on_body)
        return 0;
    return event_result(p, p->events->on_body(p->ctx, at, len));
}

static int on_chunk_header(llhttp_t *lp) {
    /* the last chunk (size 0): the trailer section follows */
    return lp->content_length == 0 ? HPE_PAUSED : 0;
}

static int on_message_complete(llhttp_t *lp) {
    ls_response_parse *p = lp->data;
    if (p->interim) {
        p->interims++;
        return 0;
    }
    p->upgrade = lp->upgrade || lp->status_code == 101;
    /* llhttp's answer from the fields and the framing (a body read until close ends the
     * connection); after a protocol switch the connection is no longer HTTP */
    p->keep_alive = llhttp_should_keep_alive(lp) && !p->upgrade;
    if (p->events->on_end && p->events->on_end(p->ctx)) {
        p->keep_alive = 0;
        return fail(p, "stopped by the caller");
    }
    p->done = 1;
    return HPE_PAUSED;
}

static llhttp_settings_t settings;

static const llhttp_settings_t *parser_settings(void) {
    static int done;
    if (!done) {
        llhttp_settings_init(&settings);
        settings.on_message_begin = on_message_begin;
        settings.on_status = on_status;
        settings.on_version_complete = on_version_complete;
        settings.on_status_complete = on_status_complete;
        settings.on_header_field = on_header_field;
        settings.on_header_value = on_header_value;
        settings.on_header_value_complete = on_header_value_complete;
        settings.on_headers_complete = on_headers_complete;
        settings.on_body = on_body;
        settings.on_chunk_header = on_chunk_header;
        settings.on_message_complete = on_message_complete;
        done = 1;
    }
    return &settings;
}

void ls_response_parse_start(ls_response_parse *p, int head_request, size_t max_head,
                             const ls_response_events *events, void *ctx) {
    char *buf = p->buf;
    size_t cap = p->cap;
    memset(p, 0, sizeof *p);
    p->buf = buf; /* kept for the next response on the same object */
    p->cap = cap;
    p->events = events;
    p->ctx = ctx;
    p->max_head = max_head;
    p->head_request = head_request ? 1 : 0;
    llhttp_init(&p->parser, HTTP_RESPONSE, parser_settings());
    /* Whether the connection goes on is decided at the final response's end. Left to
     * itself, llhttp would also decide after each message, interim ones included, and
     * then swallow later bytes in silence. */
    llhttp_set_lenient_keep_alive(&p->parser, 1);
    p->parser.data = p;
}

void ls_response_parse_free(ls_response_parse *p) {
    free(p->buf);
    p->buf = NULL;
    p->cap = p->len = p->nlen = 0;
}

int ls_response_parse_started(const ls_response_parse *p) { return p->started; }

static int error_from(ls_response_parse *p) {
    if (p->error) /* a callback's own */
        return LS_RESPONSE_ERROR;
    const char *reason = llhttp_get_error_reason(&p->parser);
    p->error = reason && *reason ? reason : llhttp_errno_name(llhttp_get_errno(&p->parser));
    return LS_RESPONSE_ERROR;
}

/* llhttp is paused at three points, each where a section counted against max_head starts
 * or ends: the final head's end, the last chunk's line (the trailer section follows) and
 * the final message's end (where this stops). */
int ls_response_parse_execute(ls_response_parse *p, const char *data, size_t len,
                              size_t *used) {
    const char *start = data;
    *used = 0;
    if (p->done)
        return LS_RESPONSE_END;
    if (p->error)
        return LS_RESPONSE_ERROR;
    if (len)
        p->started = 1;
    for (;;) {
        /* the head (with any interim responses before it) and the trailer section are
         * counted against max_head; body bytes are not */
        int counting = !p->head_done || p->in_trailers;
        p->exec_start = data;
        p->exec_end = data + len;
        llhttp_errno_t err = llhttp_execute(&p->parser, data, len);
        const char *stop = err == HPE_OK ? data + len : llhttp_get_error_pos(&p->parser);
        *used = (size_t)(stop - start);
        if (counting && (err == HPE_OK || err == HPE_PAUSED)) {
            p->section += (size_t)(stop - data);
            if (p->section > p->max_head) {
                p->error = "response head too large";
                return LS_RESPONSE_ERROR;
            }
        }
        if (err == HPE_OK)
            return LS_RESPONSE_MORE;
        if (err != HPE_PAUSED)
            return error_from(p);
        llhttp_resume(&p->parser);
        len -= (size_t)(stop - data);
        data = stop;
        if (p->done)
            return LS_RESPONSE_END;
        if (!p->head_done) { /* paused at the final head's end */
            p->head_done = 1;
            if (p->events->on_head && p->events->on_head(p->ctx)) {
                p->error = "stopped by the caller";
                return LS_RESPONSE_ERROR;
            }
        } else { /* paused after the last chunk's line */
            p->in_trailers = 1;
            p->section = 0;
        }
    }
}

int ls_response_parse_finish(ls_response_parse *p) {
    if (p->done)
        return LS_RESPONSE_END;
    if (p->error)
        return LS_RESPONSE_ERROR;
    if (!p->started) {
        p->error = "connection closed before the response";
        return LS_RESPONSE_ERROR;
    }
    llhttp_errno_t err = llhttp_finish(&p->parser);
    if (p->done)
        return LS_RESPONSE_END;
    if (err != HPE_OK)
        return error_from(p);
    p->error = "connection closed before the response ended";
    return LS_RESPONSE_ERROR;
}
