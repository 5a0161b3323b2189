#include "parse.h"

#include <string.h>

enum { PAUSE_NONE, PAUSE_HEAD, PAUSE_MESSAGE, PAUSE_CHUNK };

static int head_check(ls_parse *p) {
    if (ls_request_head_bytes(p->req) > p->limits.max_header) {
        p->error_status = 431;
        return HPE_USER;
    }
    return 0;
}

static int on_message_begin(llhttp_t *lp) {
    ls_parse *p = lp->data;
    p->in_trailers = 0;
    p->events->on_begin(p->ctx);
    return 0;
}

static int on_method(llhttp_t *lp, const char *at, size_t len) {
    ls_parse *p = lp->data;
    (void)len;
    if (!p->in_head) { /* the first byte of a request head: count from here */
        p->in_head = 1;
        p->head_bytes = 0;
        p->head_mark = at;
        p->cr_pending = 0;
    }
    return 0;
}

/* RFC 9112 7.1: chunk-data is followed by CRLF. llhttp 8.1 skips those two bytes without
 * looking at them, so they are checked here, as far as this input goes (the rest at the
 * start of the next input). Returns 0, or -1 when they are not CRLF. */
static int check_crlf(ls_parse *p, const char *q, const char *end) {
    for (; p->crlf_check && q < end; q++, p->crlf_check--)
        if (*q != (p->crlf_check == 2 ? '\r' : '\n'))
            return -1;
    return 0;
}

static int on_url(llhttp_t *lp, const char *at, size_t len) {
    ls_parse *p = lp->data;
    if (ls_request_feed(p->req, 0, at, len) < 0)
        return HPE_USER;
    if (p->req->url_len > p->limits.max_url) {
        p->error_status = 414;
        return HPE_USER;
    }
    return head_check(p);
}

static int on_header_field(llhttp_t *lp, const char *at, size_t len) {
    ls_parse *p = lp->data;
    if (ls_request_feed(p->req, 1, at, len) < 0)
        return HPE_USER;
    return head_check(p);
}

static int on_header_value(llhttp_t *lp, const char *at, size_t len) {
    ls_parse *p = lp->data;
    /* llhttp hands a value over in two pieces only when the input ended between them, or
     * when an obs-fold (CRLF then SP/HTAB) sat between them: the second is refused with 400
     * (RFC 9112 5.2 lets a server reject it). */
    if (p->req->last == 2 && !(p->value_at_end && at == p->exec_start)) {
        p->error_status = 400;
        return HPE_USER;
    }
    p->value_at_end = at + len == p->exec_end;
    if (ls_request_feed(p->req, 2, at, len) < 0)
        return HPE_USER;
    return head_check(p);
}

static int on_header_value_complete(llhttp_t *lp) {
    ls_parse *p = lp->data;
    ls_request_field_done(p->req);
    if (p->req->head_done && p->req->bad_field) { /* a trailer field name that is no token */
        p->error_status = 400;
        return HPE_USER;
    }
    return head_check(p);
}

static int on_version_complete(llhttp_t *lp) {
    ls_parse *p = lp->data;
    if (lp->http_major != 1 || lp->http_minor > 1) {
        p->error_status = 505;
        return -1;
    }
    p->req->http_major = lp->http_major; /* a version that is served: see error_status_for */
    p->req->http_minor = lp->http_minor;
    return 0;
}

static int on_headers_complete(llhttp_t *lp) {
    ls_parse *p = lp->data;
    ls_request *r = p->req;
    ls_request_head_done(r); /* fields from here on are trailers */
    r->method = llhttp_method_name((llhttp_method_t)lp->method);
    r->is_head = lp->method == HTTP_HEAD;
    r->is_connect = lp->method == HTTP_CONNECT;
    r->http_major = lp->http_major;
    r->http_minor = lp->http_minor;
    if (lp->flags & F_CONTENT_LENGTH)
        r->content_length = (int64_t)lp->content_length;
    if (r->http_minor == 0) /* RFC 9110 10.1.1: expectations in HTTP/1.0 are ignored */
        r->expect_continue = r->bad_expect = 0;
    if (r->bad_field || r->bad_host) {
        p->error_status = 400;
        return -1;
    }
    if (r->unknown_coding) {
        p->error_status = 501; /* RFC 9112 6.1 */
        return -1;
    }
    if (r->http_minor >= 1 && r->hosts != 1) {
        p->error_status = 400; /* RFC 9112 3.2: exactly one Host */
        return -1;
    }
    if (r->bad_expect) {
        p->error_status = 417;
        return -1;
    }
    /* The body's limit is the connection's: the handler may change it (conn.c). */
    /* a chunked body starts with a chunk-size line (llhttp reads no body after CONNECT) */
    r->chunk_line = (lp->flags & F_CHUNKED) && !r->is_connect;
    p->pause = PAUSE_HEAD;
    return HPE_PAUSED;
}

static int on_body(llhttp_t *lp, const char *at, size_t len) {
    ls_parse *p = lp->data;
    p->req->body_received += len;
    if ((lp->flags & F_CHUNKED) && lp->content_length == 0) { /* the end of a chunk's data */
        p->crlf_check = 2;
        if (check_crlf(p, at + len, p->exec_end) < 0) {
            p->error_status = 400;
            return HPE_USER;
        }
    }
    int r = p->events->on_body(p->ctx, at, len);
    if (r > 0)
        p->error_status = r;
    return r ? HPE_USER : 0;
}

/* The end of a chunk (after its data's CRLF), or after the last chunk the end of the trailer
 * section: llhttp stops there, so that the next chunk-size line is read here (chunk_line) or
 * the trailer section's last bytes are checked. */
static int on_chunk_complete(llhttp_t *lp) {
    ls_parse *p = lp->data;
    if (!(lp->flags & F_TRAILING))
        p->req->chunk_line = 1;
    p->pause = PAUSE_CHUNK;
    return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *lp) {
    ls_parse *p = lp->data;
    p->req->body_done = 1; /* req.trailers may be read */
    p->pause = PAUSE_MESSAGE;
    return HPE_PAUSED;
}

static llhttp_settings_t settings;

static const llhttp_settings_t *parser_settings(void) {
    static int done;
    if (!done) {
        llhttp_settings_init(&settings);
        settings.on_message_begin = on_message_begin;
        settings.on_method = on_method;
        settings.on_url = on_url;
        settings.on_header_field = on_header_field;
        settings.on_header_value = on_header_value;
        settings.on_header_value_complete = on_header_value_complete;
        settings.on_version_complete = on_version_complete;
        settings.on_headers_complete = on_headers_complete;
        settings.on_body = on_body;
        settings.on_chunk_complete = on_chunk_complete;
        settings.on_message_complete = on_message_complete;
        done = 1;
    }
    return &settings;
}

void ls_parse_start(ls_parse *p, ls_request *req, const ls_parse_events *events, void *ctx,
                    ls_parse_limits limits) {
    /* llhttp_init clears the parser; the rest of the state is cleared here */
    memset((char *)p + sizeof p->parser, 0, sizeof *p - sizeof p->parser);
    llhttp_t *parser = &p->parser;
    p->req = req;
    p->events = events;
    p->ctx = ctx;
    p->limits = limits;
    llhttp_init(parser, HTTP_REQUEST, parser_settings());
    /* Whether the connection goes on after a message is the keepalive module's call. Left to
     * itself, llhttp 8.1 would also decide, from flags that trailer fields can set too (a
     * trailer "Connection: close"), and then swallow every later byte in silence. */
    llhttp_set_lenient_keep_alive(parser, 1);
    parser->data = p;
}

void ls_parse_resume(ls_parse *p) { llhttp_resume(&p->parser); }

const char *ls_parse_error_text(const ls_parse *p) {
    const char *reason = llhttp_get_error_reason(&p->parser);
    return reason ? reason : "";
}

static int error_status_for(const ls_parse *p, llhttp_errno_t err) {
    if (p->error_status)
        return p->error_status;
    switch (err) {
    /* llhttp 8.1 also reports a request line that does not end in CRLF (a bare CR after the
     * version) as an invalid version: after a version that was fine, it is a 400 */
    case HPE_INVALID_VERSION: return p->req->http_major ? 400 : 505;
    case HPE_INVALID_TRANSFER_ENCODING: return p->req->unknown_coding ? 501 : 400;
    default: return 400;
    }
}

/* RFC 9112 2.2: in the head and the trailer section a CR is only ever followed by LF. llhttp
 * 8.1 takes any byte after a CR at the start of a line (and after the CR of an empty field
 * value) as the LF, so a bare CR there could end the section early. The bytes llhttp took as
 * part of the section, [from, to), are checked here; a CR that ends one input is checked
 * against the start of the next. Returns -1 for a bare CR. */
static int bare_cr(ls_parse *p, const char *from, const char *to) {
    if (from == to)
        return 0;
    if (p->cr_pending && *from != '\n')
        return -1;
    p->cr_pending = 0;
    for (const char *q = from; (q = memchr(q, '\r', (size_t)(to - q))) != NULL; q++) {
        if (q + 1 == to)
            p->cr_pending = 1;
        else if (q[1] != '\n')
            return -1;
        else
            continue;
        break;
    }
    return 0;
}

/* The head's or the trailer section's bytes that llhttp took in this execute, [from, to):
 * each section is bounded by max_header (431) and has no bare CR (400). Returns 0 or the
 * status to answer. */
static int section_bytes(ls_parse *p, const char *from, const char *to) {
    p->head_bytes += (size_t)(to - from);
    if (p->head_bytes > p->limits.max_header)
        return 431;
    return bare_cr(p, from, to) < 0 ? 400 : 0;
}

/* A chunk-size line at the start of data (RFC 9112 7.1). llhttp 8.1 refuses valid chunk
 * extensions with HPE_STRICT or HPE_INVALID_CHUNK_SIZE (BWS around ";" and "=", a
 * quoted-pair, any extension after a name=token one as in ";a=b;c"), accepts invalid ones
 * (";=v", ";a=" with no value, ";a;;b") and, built without LLHTTP_STRICT_MODE, takes any
 * byte after the line's CR as its LF. None of its lenient flags covers this (they are about
 * header values, Transfer-Encoding, Content-Length, keep-alive and the version), nor do its
 * on_chunk_extension_* callbacks, which only report what its own grammar accepted, so the
 * line is read here instead: ls_chunk_line_scan checks the whole line against the grammar
 * (and the extensions are then ignored: none is recognised, RFC 9112 7.1.1), and llhttp is
 * handed only the size digits and a CRLF, so that it still does all the chunk framing (size
 * overflow, chunk data, last chunk, trailer section). Returns the line's length, 0 when the
 * line has not all arrived (it stays in the input), -1 when it is invalid or longer than
 * max_header. */
static long chunk_line(ls_parse *p, const char *data, size_t len) {
    ls_request *r = p->req;
    long n = ls_chunk_line_scan(&r->chunk, data, len);
    size_t seen = n > 0 ? (size_t)n : len; /* the line, or what has arrived of it */
    if (n < 0 || seen > p->limits.max_header)
        return -1;
    if (n == 0)
        return 0;
    r->chunk_line = 0;
    p->exec_start = data;
    p->exec_end = data + r->chunk.hexlen;
    if (llhttp_execute(&p->parser, data, r->chunk.hexlen) != HPE_OK ||
        llhttp_execute(&p->parser, "\r\n", 2) != HPE_OK)
        return -1; /* a size that overflows */
    memset(&r->chunk, 0, sizeof r->chunk);
    if (p->parser.flags & F_TRAILING) { /* the last chunk: the trailer section follows */
        p->in_trailers = 1;
        p->head_bytes = 0;
        p->cr_pending = 0;
    }
    return n;
}

int ls_parse_execute(ls_parse *p, const char *data, size_t len, size_t *used) {
    const char *start = data;
    for (;;) {
        p->pause = PAUSE_NONE;
        *used = (size_t)(data - start);
        if (p->crlf_check && check_crlf(p, data, data + len) < 0) {
            p->error_status = 400;
            return LS_PARSE_ERROR;
        }
        if (p->req->chunk_line) {
            long n = chunk_line(p, data, len);
            if (n < 0) {
                p->error_status = 400;
                return LS_PARSE_ERROR;
            }
            if (n == 0)
                return LS_PARSE_MORE; /* kept until the rest of the line arrives */
            data += n, len -= (size_t)n;
            continue;
        }
        if (p->in_head)
            p->head_mark = data;
        p->exec_start = data;
        p->exec_end = data + len;
        llhttp_errno_t err = llhttp_execute(&p->parser, data, len);
        const char *stop = err == HPE_OK ? data + len : llhttp_get_error_pos(&p->parser);
        *used = (size_t)(stop - start);
        if ((p->in_head || p->in_trailers) && (err == HPE_OK || err == HPE_PAUSED)) {
            int status = section_bytes(p, p->in_head ? p->head_mark : data, stop);
            if (p->pause == PAUSE_HEAD)
                p->in_head = 0;
            if (p->pause == PAUSE_CHUNK)
                p->in_trailers = 0;
            if (status) {
                p->error_status = status;
                return LS_PARSE_ERROR;
            }
        }
        if (err == HPE_OK)
            return LS_PARSE_MORE;
        if (err == HPE_PAUSED_UPGRADE) {
            /* Upgrade and CONNECT are not taken up: the connection stays HTTP/1.1
             * (RFC 9110 7.8) and the parser goes on with the next request. */
            len -= (size_t)(stop - data);
            data = stop;
            llhttp_resume_after_upgrade(&p->parser);
            continue;
        }
        if (err != HPE_PAUSED) {
            p->error_status = error_status_for(p, err);
            return LS_PARSE_ERROR;
        }
        if (p->pause == PAUSE_HEAD) {
            llhttp_resume(&p->parser);
            return LS_PARSE_HEAD;
        }
        if (p->pause == PAUSE_CHUNK) { /* a chunk-size line next, or the message's end */
            llhttp_resume(&p->parser);
            len -= (size_t)(stop - data);
            data = stop;
            continue;
        }
        return LS_PARSE_END;
    }
}
