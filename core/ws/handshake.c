/* The opening handshake, read strictly from RFC 6455 4.2.1 and 4.2.2. */
#include "handshake.h"

#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; /* 1.3 */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static ls_ws_value trim(ls_ws_value v) {
    while (v.len && is_ows(v.s[0]))
        v.s++, v.len--;
    while (v.len && is_ows(v.s[v.len - 1]))
        v.len--;
    return v;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int equals_nocase(ls_ws_value v, const char *s) {
    size_t n = strlen(s);
    if (v.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)v.s[i]) != lower((unsigned char)s[i]))
            return 0;
    return 1;
}

int ls_ws_has_token(ls_ws_value v, const char *token) {
    if (!v.s)
        return 0;
    size_t i = 0;
    while (i <= v.len) {
        size_t end = i;
        while (end < v.len && v.s[end] != ',')
            end++;
        ls_ws_value el = trim((ls_ws_value){v.s + i, end - i});
        if (el.len && equals_nocase(el, token))
            return 1;
        i = end + 1;
    }
    return 0;
}

int ls_ws_select_protocol(ls_ws_value offered, const char *const *supported) {
    if (!offered.s || !supported)
        return -1;
    size_t i = 0;
    while (i <= offered.len) {
        size_t end = i;
        while (end < offered.len && offered.s[end] != ',')
            end++;
        ls_ws_value el = trim((ls_ws_value){offered.s + i, end - i});
        for (int k = 0; el.len && supported[k]; k++)
            if (strlen(supported[k]) == el.len && memcmp(supported[k], el.s, el.len) == 0)
                return k;
        i = end + 1;
    }
    return -1;
}

static int b64_digit(char c) {
    const char *at = c ? strchr(b64, c) : NULL;
    return at ? (int)(at - b64) : -1;
}

/* Base64 of exactly 16 bytes: 22 digits and "==" (4.2.1 item 5). */
static int key_valid(ls_ws_value key) {
    key = trim(key);
    if (!key.s || key.len != 24 || key.s[22] != '=' || key.s[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (b64_digit(key.s[i]) < 0)
            return 0;
    return 1;
}

ls_ws_hs_result ls_ws_handshake_check(const ls_ws_request *r) {
    if (!r->method.s || r->method.len != 3 || memcmp(r->method.s, "GET", 3) != 0)
        return LS_WS_HS_NOT_GET;
    if (r->http_major < 1 || (r->http_major == 1 && r->http_minor < 1))
        return LS_WS_HS_OLD_HTTP;
    if (!ls_ws_has_token(r->upgrade, "websocket"))
        return LS_WS_HS_NO_UPGRADE;
    if (!ls_ws_has_token(r->connection, "upgrade"))
        return LS_WS_HS_NO_CONNECTION;
    ls_ws_value v = trim(r->version);
    if (!v.s || v.len != 2 || memcmp(v.s, "13", 2) != 0)
        return LS_WS_HS_BAD_VERSION;
    if (!key_valid(r->key))
        return LS_WS_HS_BAD_KEY;
    return LS_WS_HS_OK;
}

int ls_ws_handshake_status(ls_ws_hs_result res) {
    if (res == LS_WS_HS_OK)
        return 101;
    return res == LS_WS_HS_BAD_VERSION ? 426 : 400;
}

const char *ls_ws_handshake_error(ls_ws_hs_result res) {
    switch (res) {
    case LS_WS_HS_OK:
        return "ok";
    case LS_WS_HS_NOT_GET:
        return "a WebSocket handshake must be a GET";
    case LS_WS_HS_OLD_HTTP:
        return "a WebSocket handshake needs HTTP/1.1";
    case LS_WS_HS_NO_UPGRADE:
        return "missing Upgrade: websocket";
    case LS_WS_HS_NO_CONNECTION:
        return "missing Connection: upgrade";
    case LS_WS_HS_BAD_VERSION:
        return "unsupported Sec-WebSocket-Version (13 is supported)";
    case LS_WS_HS_BAD_KEY:
        return "missing or invalid Sec-WebSocket-Key";
    }
    return "bad handshake";
}

size_t ls_ws_base64(const uint8_t *in, size_t n, char *out) {
    size_t o = 0, i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[w >> 18];
        out[o++] = b64[(w >> 12) & 63];
        out[o++] = b64[(w >> 6) & 63];
        out[o++] = b64[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        out[o++] = b64[w >> 18];
        out[o++] = b64[(w >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64[w >> 18];
        out[o++] = b64[(w >> 12) & 63];
        out[o++] = b64[(w >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

int ls_ws_accept(ls_ws_value key, ls_ws_sha1_fn sha1, char out[LS_WS_ACCEPT_LEN]) {
    if (!key_valid(key))
        return -1;
    key = trim(key);
    char buf[24 + sizeof ws_guid];
    memcpy(buf, key.s, 24);
    memcpy(buf + 24, ws_guid, sizeof ws_guid - 1);
    uint8_t digest[20];
    if (sha1(buf, 24 + sizeof ws_guid - 1, digest) != 0)
        return -1;
    ls_ws_base64(digest, 20, out);
    return 0;
}
