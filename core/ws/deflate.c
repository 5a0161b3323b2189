#include "deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---------------------------------------------------------------- negotiation */

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* The parameters of one offer, as far as we read them. */
typedef struct offer {
    int server_no_context, client_no_context;
    int server_bits;  /* 0: not offered */
    int client_bits;  /* 0: not offered; -1: offered without a value */
    int bad;
} offer;

/* A window size value: 8 to 15, as a token or a quoted string (RFC 7692 7.1.2). */
static int window_value(const char *v, size_t n) {
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
        v++, n -= 2;
    if (n == 1 && v[0] >= '8' && v[0] <= '9')
        return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + v[1] - '0';
    return -1;
}

static void param(offer *o, const char *name, size_t nlen, const char *v, size_t vlen, int has_v) {
#define IS(s) (nlen == sizeof(s) - 1 && strncasecmp(name, s, nlen) == 0)
    if (IS("server_no_context_takeover")) {
        if (has_v || o->server_no_context++)
            o->bad = 1;
    } else if (IS("client_no_context_takeover")) {
        if (has_v || o->client_no_context++)
            o->bad = 1;
    } else if (IS("server_max_window_bits")) {
        int b = has_v ? window_value(v, vlen) : -1;
        if (b < 0 || o->server_bits)
            o->bad = 1;
        o->server_bits = b;
    } else if (IS("client_max_window_bits")) {
        int b = has_v ? window_value(v, vlen) : -1;
        if ((has_v && b < 0) || o->client_bits)
            o->bad = 1;
        o->client_bits = b;
    } else {
        o->bad = 1; /* unknown parameter */
    }
#undef IS
}

/* Splits s[0..n) at c outside quoted strings: the length up to it (n if none). */
static size_t until(const char *s, size_t n, char c) {
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (s[i] == '\\' && quoted && i + 1 < n)
            i++;
        else if (s[i] == c && !quoted)
            return i;
    }
    return n;
}

static void trim(const char **s, size_t *n) {
    while (*n && is_space(**s))
        (*s)++, (*n)--;
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

size_t ls_ws_deflate_negotiate(ls_ws_value offers, char *out, unsigned *window_bits) {
    const char *s = offers.s;
    size_t left = offers.s ? offers.len : 0;
    while (left) {
        size_t ext_len = until(s, left, ',');
        const char *ext = s;
        s += ext_len, left -= ext_len;
        if (left)
            s++, left--;
        /* name *( ";" param ) */
        size_t name_len = until(ext, ext_len, ';');
        const char *name = ext;
        trim(&name, &name_len);
        if (name_len != 18 || strncasecmp(name, "permessage-deflate", 18) != 0)
            continue;
        offer o = {0};
        const char *p = ext + name_len, *end = ext + ext_len;
        p = ext + until(ext, ext_len, ';');
        while (p < end && !o.bad) {
            p++; /* the ';' */
            size_t plen = until(p, (size_t)(end - p), ';');
            const char *pv = p;
            p += plen;
            size_t eq = until(pv, plen, '=');
            const char *pn = pv, *v = NULL;
            size_t pnlen = eq, vlen = 0;
            trim(&pn, &pnlen);
            if (eq < plen) {
                v = pv + eq + 1, vlen = plen - eq - 1;
                trim(&v, &vlen);
            }
            if (!pnlen)
                o.bad = 1;
            else
                param(&o, pn, pnlen, v, vlen, eq < plen);
        }
        /* zlib cannot make a raw deflate stream with a 256-byte window */
        if (o.bad || o.server_bits == 8)
            continue;
        int n = snprintf(out, LS_WS_DEFLATE_ANSWER_MAX,
                         "permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover");
        *window_bits = 15;
        if (o.server_bits) {
            n += snprintf(out + n, (size_t)(LS_WS_DEFLATE_ANSWER_MAX - n),
                          "; server_max_window_bits=%d", o.server_bits);
            *window_bits = (unsigned)o.server_bits;
        }
        return (size_t)n;
    }
    return 0;
}

/* ---------------------------------------------------------------- the shared streams */

static z_stream inflater, deflater;
static int inflater_ready, deflater_bits; /* deflater_bits 0: not made */

static int grow(ls_ws_zbuf *b, size_t need) {
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int ls_ws_inflate(const uint8_t *in, size_t len, size_t max, ls_ws_zbuf *out) {
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    if (!inflater_ready) {
        if (inflateInit2(&inflater, -15) != Z_OK)
            return LS_WS_Z_NOMEM;
        inflater_ready = 1;
    } else if (inflateReset(&inflater) != Z_OK) {
        return LS_WS_Z_BAD;
    }
    out->len = 0;
    int rc = LS_WS_Z_OK, ended = 0;
    for (int part = 0; part < 2 && rc == LS_WS_Z_OK && !ended; part++) {
        inflater.next_in = (Bytef *)(uintptr_t)(part ? tail : in);
        inflater.avail_in = (uInt)(part ? sizeof tail : len);
        for (;;) {
            if (out->len == out->cap && grow(out, out->len + 1) < 0) {
                rc = LS_WS_Z_NOMEM;
                break;
            }
            size_t room = out->cap - out->len;
            inflater.next_out = out->data + out->len;
            inflater.avail_out = (uInt)(room > 0x40000000 ? 0x40000000 : room);
            uInt before = inflater.avail_out;
            int z = inflate(&inflater, Z_SYNC_FLUSH);
            out->len += before - inflater.avail_out;
            if (out->len > max) {
                rc = LS_WS_Z_TOO_BIG;
                break;
            }
            if (z == Z_STREAM_END) {
                /* a final block (BFINAL): the message ends there; what follows it (the
                 * empty block a flush after it leaves, RFC 7692 7.2.3.4) says nothing */
                ended = 1;
                break;
            }
            if (z == Z_MEM_ERROR) {
                rc = LS_WS_Z_NOMEM;
                break;
            }
            if (z != Z_OK && z != Z_BUF_ERROR) {
                rc = LS_WS_Z_BAD;
                break;
            }
            if (inflater.avail_in == 0 && inflater.avail_out > 0)
                break; /* this part is used up and everything it gave is out */
            if (z == Z_BUF_ERROR && inflater.avail_out > 0) {
                rc = LS_WS_Z_BAD; /* no progress with input and room left */
                break;
            }
        }
    }
    inflater.next_in = NULL, inflater.next_out = NULL;
    return rc;
}

int ls_ws_deflate(const uint8_t *in, size_t len, unsigned window_bits, ls_ws_zbuf *out) {
    if (deflater_bits != (int)window_bits) {
        if (deflater_bits)
            deflateEnd(&deflater);
        deflater_bits = 0;
        memset(&deflater, 0, sizeof deflater);
        /* memLevel 8 and the default level: zlib's own defaults, for a raw stream */
        if (deflateInit2(&deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -(int)window_bits, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return LS_WS_Z_NOMEM;
        deflater_bits = (int)window_bits;
    } else if (deflateReset(&deflater) != Z_OK) {
        return LS_WS_Z_NOMEM;
    }
    out->len = 0;
    if (grow(out, deflateBound(&deflater, (uLong)len) + 8) < 0)
        return LS_WS_Z_NOMEM;
    deflater.next_in = (Bytef *)(uintptr_t)in;
    deflater.avail_in = (uInt)len;
    deflater.next_out = out->data;
    deflater.avail_out = (uInt)out->cap;
    int z = deflate(&deflater, Z_SYNC_FLUSH);
    out->len = out->cap - deflater.avail_out;
    deflater.next_in = NULL, deflater.next_out = NULL;
    if (z != Z_OK || deflater.avail_in)
        return LS_WS_Z_NOMEM;
    /* a sync flush ends with an empty stored block: 0x00 0x00 0xff 0xff, which is left out */
    if (out->len >= 4 && memcmp(out->data + out->len - 4, "\0\0\xff\xff", 4) == 0)
        out->len -= 4;
    return LS_WS_Z_OK;
}

void ls_ws_deflate_cleanup(void) {
    if (inflater_ready)
        inflateEnd(&inflater);
    if (deflater_bits)
        deflateEnd(&deflater);
    inflater_ready = deflater_bits = 0;
}
