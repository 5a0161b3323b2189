#include "response_head.h"

#include "date.h"

#include <stdio.h>
#include <string.h>

int ls_status_allows_body(int status) {
    return !(status < 200 || status == 204 || status == 205 || status == 304);
}

ls_framing_out ls_framing_decide(const ls_framing_in *in) {
    ls_framing_out out = {LS_FRAME_NONE, 0, 0};
    if (in->status < 200 || in->status == 204)
        return out; /* a Content-Length is not allowed here (RFC 9110 8.6) */
    if (in->status == 205) {
        out.send_length = 1; /* "no content", said explicitly (RFC 9110 15.3.6) */
        return out;
    }
    if (in->status == 304 || in->head_request) {
        /* The length the full response would have, when it is known. */
        if (in->user_length >= 0) {
            out.send_length = 1;
            out.length = (uint64_t)in->user_length;
        } else if (in->ended && in->status != 304) {
            out.send_length = 1;
            out.length = in->body_len;
        }
        return out;
    }
    if (in->user_length >= 0) {
        out.framing = LS_FRAME_LENGTH;
        out.send_length = 1;
        out.length = (uint64_t)in->user_length;
    } else if (in->ended) {
        out.framing = LS_FRAME_LENGTH;
        out.send_length = 1;
        out.length = in->body_len;
    } else {
        out.framing = in->http11 ? LS_FRAME_CHUNKED : LS_FRAME_CLOSE;
    }
    return out;
}

const char *ls_reason_phrase(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 511: return "Network Authentication Required";
    default: return "";
    }
}

/* tchar (RFC 9110 5.6.2): ALPHA, DIGIT and !#$%&'*+-.^_`|~, one bit per byte value */
static const uint32_t tchar_bits[8] = {0x00000000, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff};

static inline int is_tchar(unsigned char c) { return (tchar_bits[c >> 5] >> (c & 31)) & 1; }

int ls_header_name_valid(const char *name, size_t len) {
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)name[i]))
            return 0;
    return 1;
}

int ls_header_value_valid(const char *value, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

int ls_name_is(const char *name, size_t len, const char *lower) {
    size_t i = 0;
    for (; i < len && lower[i]; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lower[i])
            return 0;
    }
    return i == len && lower[i] == 0;
}

/* Headers the server writes itself from its own decisions. */
static int generated_here(const ls_header *f) {
    switch (f->nlen) {
    case 10: return ls_name_is(f->name, f->nlen, "connection") ||
                    ls_name_is(f->name, f->nlen, "keep-alive");
    case 14: return ls_name_is(f->name, f->nlen, "content-length");
    case 17: return ls_name_is(f->name, f->nlen, "transfer-encoding");
    default: return 0;
    }
}

typedef struct {
    char *p, *end;
    size_t size;
} writer;

static void put(writer *w, const char *s, size_t n) {
    if (w->p && (size_t)(w->end - w->p) >= n) {
        memcpy(w->p, s, n);
        w->p += n;
    } else {
        w->p = NULL; /* too small: keep counting only */
    }
    w->size += n;
}
#define PUTS(w, lit) put(w, lit, sizeof(lit) - 1)

static void put_u64(writer *w, uint64_t v) {
    char tmp[24], *p = tmp + sizeof tmp;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    put(w, p, (size_t)(tmp + sizeof tmp - p));
}

size_t ls_head_serialize(const ls_head *h, char *out, size_t cap) {
    writer w = {out, out + cap, 0};
    char status[4] = {(char)('0' + h->status / 100 % 10), (char)('0' + h->status / 10 % 10),
                      (char)('0' + h->status % 10), ' '};
    PUTS(&w, "HTTP/1.1 ");
    put(&w, status, 4);
    if (h->reason)
        put(&w, h->reason, h->rlen);
    else {
        const char *r = ls_reason_phrase(h->status);
        put(&w, r, strlen(r));
    }
    PUTS(&w, "\r\n");
    int user_date = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const ls_header *f = &h->headers[i];
        if (generated_here(f))
            continue;
        if (f->nlen == 4 && ls_name_is(f->name, 4, "date"))
            user_date = 1;
        put(&w, f->name, f->nlen);
        PUTS(&w, ": ");
        put(&w, f->value, f->vlen);
        PUTS(&w, "\r\n");
    }
    if (h->date && !user_date) {
        PUTS(&w, "Date: ");
        put(&w, h->date, LS_DATE_LEN);
        PUTS(&w, "\r\n");
    }
    if (h->framing.send_length) {
        PUTS(&w, "Content-Length: ");
        put_u64(&w, h->framing.length);
        PUTS(&w, "\r\n");
    } else if (h->framing.framing == LS_FRAME_CHUNKED) {
        PUTS(&w, "Transfer-Encoding: chunked\r\n");
    }
    if (h->upgrade) {
        PUTS(&w, "Connection: Upgrade\r\n\r\n");
    } else if (h->keepalive) {
        PUTS(&w, "Connection: keep-alive\r\nKeep-Alive: timeout=");
        put_u64(&w, h->keepalive_timeout_s);
        PUTS(&w, "\r\n\r\n");
    } else {
        PUTS(&w, "Connection: close\r\n\r\n");
    }
    return w.size;
}
