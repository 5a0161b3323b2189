/* The validator keeps only what the next byte needs: how many continuation bytes are still
 * owed, and the range the very next one may take. The narrowed ranges after E0, ED, F0 and F4
 * are what reject overlongs, surrogates and code points past U+10FFFF without decoding. */
#include "utf8.h"

#include <string.h>

/* Skips a run of ASCII eight bytes at a time: most text on the wire is ASCII. */
static size_t ascii_run(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
        i += 8;
    }
    while (i < n && s[i] < 0x80)
        i++;
    return i;
}

int ls_utf8_feed(ls_utf8 *v, const uint8_t *s, size_t n) {
    if (v->need == LS_UTF8_BAD)
        return -1;
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (v->need) {
            if (b < v->lo || b > v->hi)
                goto bad;
            v->need--;
            v->lo = 0x80;
            v->hi = 0xbf;
            i++;
            continue;
        }
        if (b < 0x80) {
            i += ascii_run(s + i, n - i);
            continue;
        }
        i++;
        if (b < 0xc2) /* a stray continuation byte, or C0/C1: an overlong two-byte form */
            goto bad;
        if (b < 0xe0) {
            v->need = 1;
        } else if (b < 0xf0) {
            v->need = 2;
            if (b == 0xe0)
                v->lo = 0xa0; /* below is an overlong three-byte form */
            else if (b == 0xed)
                v->hi = 0x9f; /* above are the surrogates U+D800..U+DFFF */
        } else if (b < 0xf5) {
            v->need = 3;
            if (b == 0xf0)
                v->lo = 0x90; /* below is an overlong four-byte form */
            else if (b == 0xf4)
                v->hi = 0x8f; /* above is past U+10FFFF */
        } else {
            goto bad; /* F5..FF start nothing valid */
        }
    }
    return 0;
bad:
    v->need = LS_UTF8_BAD;
    return -1;
}

int ls_utf8_valid(const uint8_t *s, size_t n) {
    ls_utf8 v;
    ls_utf8_init(&v);
    return ls_utf8_feed(&v, s, n) == 0 && ls_utf8_complete(&v);
}
