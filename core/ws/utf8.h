/* An incremental UTF-8 validator (RFC 3629): bytes may arrive in any number of pieces, split
 * anywhere, and an invalid byte is reported the moment it arrives, not when the text ends.
 * WebSocket text (RFC 6455 8.1) must fail fast this way, so a peer cannot make us buffer a
 * whole message only to learn its first byte was wrong.
 *
 * Rejected: stray continuation bytes, overlong forms (C0, C1, E0 80-9F, F0 80-8F), UTF-16
 * surrogates (ED A0-BF), code points over U+10FFFF (F4 90-BF, F5-FF), truncated sequences
 * (seen only by ls_utf8_complete at the end). */
#ifndef LS_WS_UTF8_H
#define LS_WS_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_utf8 {
    uint8_t need;   /* continuation bytes still expected; LS_UTF8_BAD once invalid */
    uint8_t lo, hi; /* the range the next continuation byte must fall in */
} ls_utf8;

#define LS_UTF8_BAD 0xff

static inline void ls_utf8_init(ls_utf8 *v) {
    v->need = 0;
    v->lo = 0x80;
    v->hi = 0xbf;
}

/* Feeds n more bytes: 0 while the text is valid so far, -1 once it is not (and from then on). */
int ls_utf8_feed(ls_utf8 *v, const uint8_t *s, size_t n);

/* Whether the text fed so far ends on a character boundary (and never went wrong). */
static inline int ls_utf8_complete(const ls_utf8 *v) { return v->need == 0; }

/* Whether the n bytes at s are valid UTF-8 on their own. */
int ls_utf8_valid(const uint8_t *s, size_t n);

#endif
