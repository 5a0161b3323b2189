/* lunaserve.crypto: digests, HMAC, constant-time comparison and random bytes from OpenSSL's
 * libcrypto (its EVP API), plus base64 and hex. Digests are raw bytes; to_hex shows them.
 *
 *   crypto.sha1(s), crypto.sha256(s)              20 / 32 raw bytes
 *   crypto.hmac_sha1(key, s), crypto.hmac_sha256(key, s)
 *   h = crypto.hasher("sha1" | "sha256")          incremental: h:update(s) (returns h, so
 *   digest = h:final()                            calls chain), then h:final() once
 *   crypto.equal(a, b)                            true if same bytes; time independent of
 *                                                 where they differ (a length differs: false)
 *   crypto.random_bytes(n)                        n bytes from OpenSSL's CSPRNG
 *   crypto.to_hex(s), crypto.from_hex(s)          from_hex: s, or nil, err
 *   crypto.base64_encode(s), crypto.base64_decode(s)        RFC 4648 section 4, padded
 *   crypto.base64url_encode(s), crypto.base64url_decode(s)  section 5, unpadded (decode
 *                                                           takes it with or without "=")
 *
 * Decoders are strict (no whitespace, canonical trailing bits) and return nil, err for bad
 * input; a failure inside OpenSSL raises an error. libcrypto is loaded by the first call that
 * needs it (libcrypto.h says why), so base64 and hex alone never load it. */
#include "binding.h"
#include "libcrypto.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#define HASHER_MT "lunaserve.crypto.hasher"

/* libcrypto, loaded now if it is not yet; raises an error if it cannot be. */
static void need_libcrypto(lua_State *L) {
    const char *err = ls_libcrypto_load();
    if (err)
        luaL_error(L, "lunaserve.crypto: %s", err);
}

/* Raises an error naming what failed and OpenSSL's reason. */
static int openssl_error(lua_State *L, const char *what) {
    char reason[256] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    return luaL_error(L, "%s failed: %s", what, reason);
}

static const EVP_MD *check_alg(lua_State *L, int arg) {
    static const char *const names[] = {"sha1", "sha256", NULL};
    return luaL_checkoption(L, arg, NULL, names) == 0 ? EVP_sha1() : EVP_sha256();
}

static int digest(lua_State *L, const EVP_MD *(*md)(void), const char *name) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    need_libcrypto(L);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int olen = 0;
    if (!EVP_Digest(s, len, out, &olen, md(), NULL))
        return openssl_error(L, name);
    lua_pushlstring(L, (const char *)out, olen);
    return 1;
}

static const EVP_MD *md_sha1(void) { return EVP_sha1(); }
static const EVP_MD *md_sha256(void) { return EVP_sha256(); }
static int l_sha1(lua_State *L) { return digest(L, md_sha1, "sha1"); }
static int l_sha256(lua_State *L) { return digest(L, md_sha256, "sha256"); }

static int hmac(lua_State *L, const char *md, const char *name) {
    size_t klen, len;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *s = luaL_checklstring(L, 2, &len);
    need_libcrypto(L);
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t olen = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, klen, (const unsigned char *)s, len, out,
                   sizeof out, &olen))
        return openssl_error(L, name);
    lua_pushlstring(L, (const char *)out, olen);
    return 1;
}

static int l_hmac_sha1(lua_State *L) { return hmac(L, "SHA1", "hmac_sha1"); }
static int l_hmac_sha256(lua_State *L) { return hmac(L, "SHA256", "hmac_sha256"); }

/* ---- incremental hasher: for a body that streams in (an upload) ---- */

typedef struct hasher {
    EVP_MD_CTX *ctx; /* NULL once final() ran or the hasher was closed */
} hasher;

static int l_hasher(lua_State *L) {
    luaL_checkstring(L, 1);
    need_libcrypto(L);
    const EVP_MD *md = check_alg(L, 1);
    hasher *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->ctx = NULL;
    luaL_setmetatable(L, HASHER_MT);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx)
        return openssl_error(L, "hasher");
    if (!EVP_DigestInit_ex(h->ctx, md, NULL))
        return openssl_error(L, "hasher"); /* (__gc frees ctx) */
    return 1;
}

static hasher *check_open_hasher(lua_State *L, const char *method) {
    hasher *h = luaL_checkudata(L, 1, HASHER_MT);
    if (!h->ctx)
        luaL_error(L, "hasher:%s(): the hasher is finished (final() ran, or it was closed)",
                   method);
    return h;
}

static int l_hasher_update(lua_State *L) {
    hasher *h = check_open_hasher(L, "update");
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    if (!EVP_DigestUpdate(h->ctx, s, len))
        return openssl_error(L, "hasher:update()");
    lua_settop(L, 1);
    return 1;
}

static int l_hasher_final(lua_State *L) {
    hasher *h = check_open_hasher(L, "final");
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int olen = 0;
    int ok = EVP_DigestFinal_ex(h->ctx, out, &olen);
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    if (!ok)
        return openssl_error(L, "hasher:final()");
    lua_pushlstring(L, (const char *)out, olen);
    return 1;
}

static int l_hasher_gc(lua_State *L) {
    hasher *h = luaL_checkudata(L, 1, HASHER_MT);
    if (h->ctx) { /* (a ctx exists only once libcrypto is loaded) */
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
    return 0;
}

/* ---- comparison and randomness ---- */

static int l_equal(lua_State *L) {
    size_t alen, blen;
    const char *a = luaL_checklstring(L, 1, &alen);
    const char *b = luaL_checklstring(L, 2, &blen);
    need_libcrypto(L);
    /* (the length is not secret: a MAC or token has a known one) */
    lua_pushboolean(L, alen == blen && CRYPTO_memcmp(a, b, alen) == 0);
    return 1;
}

static int l_random_bytes(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= INT_MAX, 1, "out of range");
    need_libcrypto(L);
    luaL_Buffer b;
    unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, (size_t)n);
    if (n > 0 && RAND_bytes(p, (int)n) != 1)
        return openssl_error(L, "random_bytes");
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

/* ---- hex ---- */

static int l_to_hex(lua_State *L) {
    static const char digits[] = "0123456789abcdef";
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    if (len > SIZE_MAX / 2)
        return luaL_error(L, "to_hex: input too large");
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, len * 2);
    for (size_t i = 0; i < len; i++) {
        p[2 * i] = digits[s[i] >> 4];
        p[2 * i + 1] = digits[s[i] & 15];
    }
    luaL_pushresultsize(&b, len * 2);
    return 1;
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* nil and a message about bad input; fmt has one %I: the length or the 1-based position. */
static int fail(lua_State *L, const char *fmt, size_t pos) {
    lua_pushnil(L);
    lua_pushfstring(L, fmt, (lua_Integer)pos);
    return 2;
}

static int l_from_hex(lua_State *L) {
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    if (len % 2)
        return fail(L, "invalid hex: odd length %I", len);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, len / 2);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return fail(L, "invalid hex: bad character at byte %I", hi < 0 ? i + 1 : i + 2);
        p[i / 2] = (char)(hi << 4 | lo);
    }
    luaL_pushresultsize(&b, len / 2);
    return 1;
}

/* ---- base64 (RFC 4648) ---- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_encode(lua_State *L, const char *alphabet, int pad) {
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    if (len / 3 >= SIZE_MAX / 4 - 1)
        return luaL_error(L, "base64: input too large");
    size_t full = len / 3, rest = len % 3;
    size_t olen = full * 4 + (rest == 0 ? 0 : pad ? 4 : rest + 1);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, olen);
    size_t o = 0;
    for (size_t i = 0; i < full * 3; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        p[o++] = alphabet[v >> 18];
        p[o++] = alphabet[v >> 12 & 63];
        p[o++] = alphabet[v >> 6 & 63];
        p[o++] = alphabet[v & 63];
    }
    if (rest) {
        uint32_t v = (uint32_t)s[full * 3] << 16;
        if (rest == 2)
            v |= (uint32_t)s[full * 3 + 1] << 8;
        p[o++] = alphabet[v >> 18];
        p[o++] = alphabet[v >> 12 & 63];
        if (rest == 2)
            p[o++] = alphabet[v >> 6 & 63];
        if (pad) {
            if (rest == 1)
                p[o++] = '=';
            p[o++] = '=';
        }
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

static int b64_value(unsigned char c, int url) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Standard: padded, a multiple of 4 long. URL-safe: padding optional, but if present, whole. */
static int b64_decode(lua_State *L, int url) {
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    size_t n = len, pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2)
        n--, pad++;
    size_t rem = n % 4;
    if (rem == 1 || (!url && len % 4) || (pad && len % 4))
        return fail(L, "invalid base64: bad length %I", len);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n / 4 * 3 + (rem ? rem - 1 : 0));
    size_t o = 0;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = b64_value(s[i], url);
        if (d < 0)
            return fail(L, "invalid base64: bad character at byte %I", i + 1);
        v = v << 6 | (uint32_t)d;
        if (i % 4 == 3) {
            p[o++] = (char)(v >> 16);
            p[o++] = (char)(v >> 8);
            p[o++] = (char)v;
            v = 0;
        }
    }
    /* The last group's unused low bits must be zero: one encoding per byte string. */
    if (rem == 2) {
        if (v & 15)
            return fail(L, "invalid base64: non-zero trailing bits at byte %I", n);
        p[o++] = (char)(v >> 4);
    } else if (rem == 3) {
        if (v & 3)
            return fail(L, "invalid base64: non-zero trailing bits at byte %I", n);
        p[o++] = (char)(v >> 10);
        p[o++] = (char)(v >> 2);
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

static int l_base64_encode(lua_State *L) { return b64_encode(L, b64_std, 1); }
static int l_base64_decode(lua_State *L) { return b64_decode(L, 0); }
static int l_base64url_encode(lua_State *L) { return b64_encode(L, b64_url, 0); }
static int l_base64url_decode(lua_State *L) { return b64_decode(L, 1); }

static int open_crypto(lua_State *L) {
    static const luaL_Reg hasher_methods[] = {
        {"update", l_hasher_update}, {"final", l_hasher_final}, {NULL, NULL}};
    if (luaL_newmetatable(L, HASHER_MT)) {
        luaL_newlib(L, hasher_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_hasher_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_hasher_gc);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {
        {"sha1", l_sha1},
        {"sha256", l_sha256},
        {"hmac_sha1", l_hmac_sha1},
        {"hmac_sha256", l_hmac_sha256},
        {"hasher", l_hasher},
        {"equal", l_equal},
        {"random_bytes", l_random_bytes},
        {"to_hex", l_to_hex},
        {"from_hex", l_from_hex},
        {"base64_encode", l_base64_encode},
        {"base64_decode", l_base64_decode},
        {"base64url_encode", l_base64url_encode},
        {"base64url_decode", l_base64url_decode},
        {NULL, NULL}};
    luaL_newlib(L, funcs);
    return 1;
}

void ls_crypto_preload(lua_State *L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_crypto);
    lua_setfield(L, -2, "lunaserve.crypto");
    lua_pop(L, 1);
}
