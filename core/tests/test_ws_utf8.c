/* Unit tests for core/ws/utf8.h: valid text of every length class, every kind of invalid
 * sequence, the same texts split at every byte, and failing at the first bad byte. */
#include "check.h"

#include "utf8.h"

#include <string.h>

typedef struct {
    const char *s;
    size_t n;
    int valid;
    size_t bad_at; /* invalid: the byte whose arrival makes the text invalid (n: only at end) */
} sample;

#define OK(lit) {lit, sizeof(lit) - 1, 1, 0}
#define BAD(lit, at) {lit, sizeof(lit) - 1, 0, at}

static const sample samples[] = {
    OK(""),
    OK("hello, world"),
    OK("0123456789abcdef0123456789abcdef0123456789"), /* the eight-byte ASCII run */
    OK("\x7f"),
    OK("\xc2\x80"),                 /* U+0080, the smallest two-byte */
    OK("\xdf\xbf"),                 /* U+07FF */
    OK("\xe0\xa0\x80"),             /* U+0800, the smallest three-byte */
    OK("\xed\x9f\xbf"),             /* U+D7FF, just below the surrogates */
    OK("\xee\x80\x80"),             /* U+E000, just above them */
    OK("\xef\xbf\xbf"),             /* U+FFFF */
    OK("\xf0\x90\x80\x80"),         /* U+10000, the smallest four-byte */
    OK("\xf4\x8f\xbf\xbf"),         /* U+10FFFF, the largest */
    OK("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), /* "kosme" in Greek */
    OK("abcdefgh\xe2\x82\xac" "abcdefghijklmnop\xf0\x9f\x98\x80"),
    BAD("\x80", 0),                 /* a stray continuation byte */
    BAD("\xbf", 0),
    BAD("abc\x80", 3),
    BAD("\xc0\x80", 0),             /* overlong NUL */
    BAD("\xc1\xbf", 0),             /* overlong U+007F */
    BAD("\xe0\x9f\xbf", 1),         /* overlong U+07FF */
    BAD("\xf0\x8f\xbf\xbf", 1),     /* overlong U+FFFF */
    BAD("\xed\xa0\x80", 1),         /* U+D800, a surrogate */
    BAD("\xed\xbf\xbf", 1),         /* U+DFFF */
    BAD("\xf4\x90\x80\x80", 1),     /* U+110000 */
    BAD("\xf5\x80\x80\x80", 0),     /* F5..FF start nothing */
    BAD("\xff", 0),
    BAD("\xfe", 0),
    BAD("\xc2\x41", 1),             /* a continuation byte missing */
    BAD("\xe2\x82\x41", 2),
    BAD("\xc2", 1),                 /* truncated: known only at the end */
    BAD("\xe2\x82", 2),
    BAD("\xf0\x9f\x98", 3),
    BAD("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64", 12),
};

/* Whole, then split at every byte, then byte by byte: the same verdict, and the failure at
 * the same byte. */
static void test_samples(void) {
    for (size_t k = 0; k < sizeof samples / sizeof samples[0]; k++) {
        const sample *t = &samples[k];
        const uint8_t *s = (const uint8_t *)t->s;
        if (!CHECK_EQ_INT(t->valid, ls_utf8_valid(s, t->n)))
            printf("    sample %zu\n", k);
        for (size_t cut = 0; cut <= t->n; cut++) {
            ls_utf8 v;
            ls_utf8_init(&v);
            int ok = ls_utf8_feed(&v, s, cut) == 0;
            ok = ls_utf8_feed(&v, s + cut, t->n - cut) == 0 && ok;
            if (!CHECK_EQ_INT(t->valid, ok && ls_utf8_complete(&v)))
                printf("    sample %zu cut at %zu\n", k, cut);
        }
        /* byte by byte: the first failing byte is the one expected */
        ls_utf8 v;
        ls_utf8_init(&v);
        size_t failed_at = t->n;
        for (size_t i = 0; i < t->n; i++)
            if (ls_utf8_feed(&v, s + i, 1) < 0) {
                failed_at = i;
                break;
            }
        if (!t->valid && !CHECK_EQ_UINT(t->bad_at, failed_at))
            printf("    sample %zu\n", k);
        if (t->valid)
            CHECK(ls_utf8_complete(&v));
    }
}

/* Once invalid, it stays invalid, whatever follows. */
static void test_sticky(void) {
    ls_utf8 v;
    ls_utf8_init(&v);
    CHECK_EQ_INT(-1, ls_utf8_feed(&v, (const uint8_t *)"\xff", 1));
    CHECK_EQ_INT(-1, ls_utf8_feed(&v, (const uint8_t *)"abc", 3));
    CHECK_EQ_INT(-1, ls_utf8_feed(&v, (const uint8_t *)"", 0));
    CHECK(!ls_utf8_complete(&v));
}

/* Every code point encodes to something valid, and every lead byte alone is judged right. */
static void test_exhaustive(void) {
    unsigned wrong = 0;
    for (uint32_t c = 0; c <= 0x10ffff; c++) {
        uint8_t b[4];
        size_t n;
        if (c < 0x80)
            b[0] = (uint8_t)c, n = 1;
        else if (c < 0x800)
            b[0] = (uint8_t)(0xc0 | c >> 6), b[1] = (uint8_t)(0x80 | (c & 63)), n = 2;
        else if (c < 0x10000)
            b[0] = (uint8_t)(0xe0 | c >> 12), b[1] = (uint8_t)(0x80 | ((c >> 6) & 63)),
            b[2] = (uint8_t)(0x80 | (c & 63)), n = 3;
        else
            b[0] = (uint8_t)(0xf0 | c >> 18), b[1] = (uint8_t)(0x80 | ((c >> 12) & 63)),
            b[2] = (uint8_t)(0x80 | ((c >> 6) & 63)), b[3] = (uint8_t)(0x80 | (c & 63)), n = 4;
        int surrogate = c >= 0xd800 && c <= 0xdfff;
        wrong += ls_utf8_valid(b, n) != !surrogate;
    }
    CHECK_EQ_UINT(0, wrong);
}

int main(void) {
    test_samples();
    test_sticky();
    test_exhaustive();
    return check_summary("test_ws_utf8");
}
