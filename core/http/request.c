#include "request.h"

#include "response_head.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

void ls_request_init(ls_request *r) {
    memset(r, 0, sizeof *r);
    r->content_length = -1;
}

void ls_request_free(ls_request *r) {
    free(r->arena);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

void ls_request_reset(ls_request *r) {
    char *arena = r->arena;
    size_t acap = r->acap;
    ls_field *fields = r->fields;
    size_t fcap = r->fcap;
    memset(r, 0, sizeof *r);
    r->arena = arena, r->acap = acap, r->fields = fields, r->fcap = fcap;
    r->content_length = -1;
}

static int arena_put(ls_request *r, const char *at, size_t len) {
    if (r->alen + len + 1 > r->acap) {
        size_t cap = r->acap ? r->acap : 1024;
        while (cap < r->alen + len + 1)
            cap *= 2;
        char *a = realloc(r->arena, cap);
        if (!a)
            return -1;
        r->arena = a, r->acap = cap;
    }
    memcpy(r->arena + r->alen, at, len);
    r->alen += len;
    r->arena[r->alen] = 0; /* keeps the last piece readable as a C string */
    return 0;
}

int ls_request_feed(ls_request *r, int part, const char *at, size_t len) {
    if (part == 1 && r->last != 1) {
        if (r->nfields == r->fcap) {
            size_t cap = r->fcap ? r->fcap * 2 : 16;
            ls_field *f = realloc(r->fields, cap * sizeof *f);
            if (!f)
                return -1;
            r->fields = f, r->fcap = cap;
        }
        /* Each piece ends with a NUL in the arena so it can be read as a C string. */
        if (r->alen && arena_put(r, "", 1) < 0)
            return -1;
        ls_field *f = &r->fields[r->nfields++];
        memset(f, 0, sizeof *f);
        f->name = (uint32_t)r->alen;
    } else if (part == 2 && r->last != 2) {
        if (arena_put(r, "", 1) < 0)
            return -1;
        r->fields[r->nfields - 1].value = (uint32_t)r->alen;
    } else if (part == 0 && r->last != 0) {
        return -1; /* the url comes first and in one run */
    }
    if (arena_put(r, at, len) < 0)
        return -1;
    if (part == 0)
        r->url_len += (uint32_t)len;
    else if (part == 1)
        r->fields[r->nfields - 1].nlen += (uint32_t)len;
    else
        r->fields[r->nfields - 1].vlen += (uint32_t)len;
    r->last = part;
    return 0;
}

/* Calls fn for each comma-separated, trimmed, non-empty element of a list value. */
static void each_token(ls_request *r, const char *v, size_t n,
                       void (*fn)(ls_request *, const char *, size_t)) {
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (start < end && (v[start] == ' ' || v[start] == '\t'))
            start++;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end > start)
            fn(r, v + start, end - start);
        i++;
    }
}

static void on_connection_token(ls_request *r, const char *t, size_t n) {
    if (ls_name_is(t, n, "close"))
        r->conn_close = 1;
    else if (ls_name_is(t, n, "keep-alive"))
        r->conn_keepalive = 1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_hex(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_alnum(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
/* RFC 3986 2.3, 2.2: unreserved / sub-delims */
static int is_unreserved_sub(unsigned char c) {
    return is_alnum(c) || (c && strchr("-._~!$&'()*+,;=", c));
}

/* RFC 3986 3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]", given without the
 * brackets. IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static int ip_literal_valid(const char *v, size_t n) {
    if (n && (v[0] == 'v' || v[0] == 'V')) {
        size_t i = 1;
        while (i < n && is_hex((unsigned char)v[i]))
            i++;
        if (i == 1 || i == n || v[i] != '.' || i + 1 == n)
            return 0;
        for (i++; i < n; i++)
            if (!is_unreserved_sub((unsigned char)v[i]) && v[i] != ':')
                return 0;
        return 1;
    }
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr a;
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, v, n);
    buf[n] = 0;
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* RFC 9110 7.2: Host = uri-host [ ":" port ], with RFC 3986 3.2.2 host = IP-literal /
 * IPv4address / reg-name (reg-name = *( unreserved / pct-encoded / sub-delims ), which
 * IPv4address fits) and 3.2.3 port = *DIGIT (so "host:" is valid). No userinfo ("@"), no
 * brackets but around an IP-literal. An empty value is allowed (RFC 9112 3.2); an empty
 * host with a port is not, as an http URI needs a host (RFC 9110 4.2.1). */
static int host_valid(const char *v, size_t n) {
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--; /* OWS after the value */
    if (n == 0)
        return 1;
    size_t i = 0;
    if (v[0] == '[') {
        const char *end = memchr(v, ']', n);
        if (!end || !ip_literal_valid(v + 1, (size_t)(end - v) - 1))
            return 0;
        i = (size_t)(end - v) + 1;
    } else {
        for (; i < n && v[i] != ':'; i++) {
            unsigned char c = (unsigned char)v[i];
            if (c == '%') { /* pct-encoded */
                if (i + 2 >= n || !is_hex((unsigned char)v[i + 1]) ||
                    !is_hex((unsigned char)v[i + 2]))
                    return 0;
                i += 2;
            } else if (!is_unreserved_sub(c)) {
                return 0;
            }
        }
        if (i == 0)
            return 0;
    }
    if (i < n && v[i++] != ':')
        return 0;
    for (; i < n; i++)
        if (!is_digit((unsigned char)v[i]))
            return 0;
    return 1;
}

static void on_coding_token(ls_request *r, const char *t, size_t n) {
    if (ls_name_is(t, n, "chunked"))
        r->chunked = 1;
    else
        r->unknown_coding = 1;
}

void ls_request_field_done(ls_request *r) {
    if (!r->nfields)
        return;
    if (r->last == 1) { /* an empty value: no value bytes were fed */
        if (arena_put(r, "", 1) < 0)
            return;
        r->fields[r->nfields - 1].value = (uint32_t)r->alen;
        r->last = 2;
    }
    const ls_field *f = &r->fields[r->nfields - 1];
    const char *name = r->arena + f->name, *value = r->arena + f->value;
    if (!ls_header_name_valid(name, f->nlen))
        r->bad_field = 1;
    if (r->head_done)
        return; /* a trailer field: kept apart, and it changes nothing here */
    switch (f->nlen) {
    case 4:
        if (ls_name_is(name, 4, "host")) {
            if (r->hosts < 2)
                r->hosts++;
            if (!host_valid(value, f->vlen))
                r->bad_host = 1;
        }
        break;
    case 6:
        if (ls_name_is(name, 6, "expect")) {
            if (ls_name_is(value, f->vlen, "100-continue"))
                r->expect_continue = 1;
            else
                r->bad_expect = 1;
        }
        break;
    case 10:
        if (ls_name_is(name, 10, "connection"))
            each_token(r, value, f->vlen, on_connection_token);
        break;
    case 17:
        if (ls_name_is(name, 17, "transfer-encoding")) {
            r->has_te = 1;
            each_token(r, value, f->vlen, on_coding_token);
        }
        break;
    }
}

void ls_request_head_done(ls_request *r) {
    r->head_done = 1;
    r->nhead = (uint32_t)r->nfields;
    r->head_alen = (uint32_t)r->alen;
}

/* States of ls_chunk_line_scan: where in the line the next byte is. */
enum {
    CL_SIZE,   /* in chunk-size */
    CL_WS,     /* after BWS that follows the size or a value: only ";" may come */
    CL_SEMI,   /* after ";": BWS, then a name */
    CL_NAME,   /* in a name */
    CL_NAME_WS, /* after a name and BWS: "=" or ";" */
    CL_EQ,     /* after "=": BWS, then a token or a quoted-string */
    CL_TOKEN,  /* in a token value */
    CL_QUOTED, /* in a quoted-string */
    CL_QPAIR,  /* after a backslash in a quoted-string */
    CL_QEND,   /* after the closing quote */
    CL_LF,     /* after the CR */
};

static int is_tchar(unsigned char c) { return ls_header_name_valid((const char *)&c, 1); }

long ls_chunk_line_scan(ls_chunk_scan *s, const char *line, size_t n) {
    for (size_t i = s->off; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        int ws = c == ' ' || c == '\t';
        int st = s->state;
        if (st == CL_SIZE && is_hex(c))
            continue;
        if (st == CL_SIZE) {
            if (i == 0)
                return -1; /* no size */
            s->hexlen = (uint32_t)i;
        }
        switch (st) {
        case CL_SIZE: /* the end of the line, or of an extension (below) */
        case CL_NAME:
        case CL_TOKEN:
        case CL_QEND:
            if (st == CL_NAME && is_tchar(c))
                break;
            if (st == CL_TOKEN && is_tchar(c))
                break;
            if (st == CL_NAME && c == '=')
                s->state = CL_EQ;
            else if (ws)
                s->state = st == CL_NAME ? CL_NAME_WS : CL_WS;
            else if (c == ';')
                s->state = CL_SEMI;
            else if (c == '\r')
                s->state = CL_LF;
            else
                return -1;
            break;
        case CL_WS:
        case CL_NAME_WS:
            if (ws)
                break;
            if (c == ';')
                s->state = CL_SEMI;
            else if (c == '=' && st == CL_NAME_WS)
                s->state = CL_EQ;
            else
                return -1;
            break;
        case CL_SEMI:
        case CL_EQ:
            if (ws)
                break;
            if (is_tchar(c))
                s->state = st == CL_SEMI ? CL_NAME : CL_TOKEN;
            else if (c == '"' && st == CL_EQ)
                s->state = CL_QUOTED;
            else
                return -1;
            break;
        case CL_QUOTED: /* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
            if (c == '"')
                s->state = CL_QEND;
            else if (c == '\\')
                s->state = CL_QPAIR;
            else if (!ws && (c < 0x21 || c == 0x7f))
                return -1;
            break;
        case CL_QPAIR: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            if (!ws && (c < 0x21 || c == 0x7f))
                return -1;
            s->state = CL_QUOTED;
            break;
        case CL_LF:
            if (c != '\n')
                return -1; /* a bare CR */
            return (long)i + 1;
        }
    }
    s->off = (uint32_t)n;
    return 0;
}
