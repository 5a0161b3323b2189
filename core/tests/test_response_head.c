/* Unit tests for core/http/response_head.h: framing decisions, reason phrases, field validation and
 * the exact bytes of serialized response heads (RFC 9110, RFC 9112). */
#include "check.h"

#include "date.h"
#include "response_head.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DATE "Sun, 06 Nov 1994 08:49:37 GMT"

/* ------------------------------------------------------------------------------------------ */
/* ls_framing_decide */

static ls_framing_in fin(int status, int head_request, int http11, int ended, uint64_t body_len,
                         int64_t user_length) {
    ls_framing_in in = {status, head_request, http11, ended, body_len, user_length};
    return in;
}

/* The decision for IN: framing FR, and a Content-Length of LEN when SL. */
#define CHECK_FRAMING(IN, FR, SL, LEN)                                                            \
    do {                                                                                          \
        ls_framing_in in_ = (IN);                                                                 \
        ls_framing_out o_ = ls_framing_decide(&in_);                                              \
        CHECK_EQ_INT(FR, o_.framing);                                                             \
        CHECK_EQ_INT(SL, o_.send_length);                                                         \
        if (SL)                                                                                   \
            CHECK_EQ_UINT(LEN, o_.length);                                                        \
    } while (0)

static void test_framing_no_body_statuses(void) {
    /* 1xx and 204: no content and no Content-Length whatever the handler did (RFC 9110 8.6). */
    static const int statuses[] = {100, 101, 102, 103, 150, 199, 204};
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        int s = statuses[i];
        for (int hd = 0; hd <= 1; hd++) {
            for (int http11 = 0; http11 <= 1; http11++) {
                CHECK_FRAMING(fin(s, hd, http11, 0, 0, -1), LS_FRAME_NONE, 0, 0);
                CHECK_FRAMING(fin(s, hd, http11, 1, 10, -1), LS_FRAME_NONE, 0, 0);
                CHECK_FRAMING(fin(s, hd, http11, 1, 0, -1), LS_FRAME_NONE, 0, 0);
                CHECK_FRAMING(fin(s, hd, http11, 0, 0, 5), LS_FRAME_NONE, 0, 0);
                CHECK_FRAMING(fin(s, hd, http11, 1, 7, 7), LS_FRAME_NONE, 0, 0);
            }
        }
    }
}

static void test_framing_205(void) {
    /* 205: no content, said explicitly with Content-Length: 0 (RFC 9110 15.3.6). */
    for (int hd = 0; hd <= 1; hd++) {
        for (int http11 = 0; http11 <= 1; http11++) {
            CHECK_FRAMING(fin(205, hd, http11, 0, 0, -1), LS_FRAME_NONE, 1, 0);
            CHECK_FRAMING(fin(205, hd, http11, 1, 0, -1), LS_FRAME_NONE, 1, 0);
            CHECK_FRAMING(fin(205, hd, http11, 1, 12, -1), LS_FRAME_NONE, 1, 0);
            CHECK_FRAMING(fin(205, hd, http11, 0, 0, 33), LS_FRAME_NONE, 1, 0);
            CHECK_FRAMING(fin(205, hd, http11, 1, 4, 4), LS_FRAME_NONE, 1, 0);
        }
    }
}

static void test_framing_304(void) {
    /* 304: no content; a Content-Length set by the handler (the length of the 200) is kept,
     * otherwise none is sent (RFC 9110 8.6, 15.4.5). */
    for (int hd = 0; hd <= 1; hd++) {
        for (int http11 = 0; http11 <= 1; http11++) {
            CHECK_FRAMING(fin(304, hd, http11, 0, 0, 1234), LS_FRAME_NONE, 1, 1234);
            CHECK_FRAMING(fin(304, hd, http11, 1, 0, 1234), LS_FRAME_NONE, 1, 1234);
            CHECK_FRAMING(fin(304, hd, http11, 1, 99, 0), LS_FRAME_NONE, 1, 0);
            CHECK_FRAMING(fin(304, hd, http11, 0, 0, -1), LS_FRAME_NONE, 0, 0);
            /* an ended (empty or not) body says nothing about the selected representation */
            CHECK_FRAMING(fin(304, hd, http11, 1, 0, -1), LS_FRAME_NONE, 0, 0);
            CHECK_FRAMING(fin(304, hd, http11, 1, 50, -1), LS_FRAME_NONE, 0, 0);
        }
    }
}

static void test_framing_head(void) {
    /* HEAD: never a body; the length the GET would have when it is known (RFC 9110 9.3.2). */
    static const int statuses[] = {200, 201, 206, 301, 404, 500};
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        int s = statuses[i];
        for (int http11 = 0; http11 <= 1; http11++) {
            /* the handler's Content-Length wins */
            CHECK_FRAMING(fin(s, 1, http11, 0, 0, 42), LS_FRAME_NONE, 1, 42);
            CHECK_FRAMING(fin(s, 1, http11, 1, 17, 42), LS_FRAME_NONE, 1, 42);
            CHECK_FRAMING(fin(s, 1, http11, 1, 17, 0), LS_FRAME_NONE, 1, 0);
            /* else the length of the ended body */
            CHECK_FRAMING(fin(s, 1, http11, 1, 17, -1), LS_FRAME_NONE, 1, 17);
            CHECK_FRAMING(fin(s, 1, http11, 1, 0, -1), LS_FRAME_NONE, 1, 0);
            /* else nothing: no Content-Length, no Transfer-Encoding, no close-delimiting */
            CHECK_FRAMING(fin(s, 1, http11, 0, 0, -1), LS_FRAME_NONE, 0, 0);
        }
    }
    /* a large length goes through unchanged */
    CHECK_FRAMING(fin(200, 1, 1, 0, 0, INT64_C(1) << 40), LS_FRAME_NONE, 1, UINT64_C(1) << 40);
    CHECK_FRAMING(fin(200, 1, 1, 1, UINT64_C(5000000000), -1), LS_FRAME_NONE, 1,
                  UINT64_C(5000000000));
}

static void test_framing_body(void) {
    static const int statuses[] = {200, 201, 202, 206, 299, 301, 303, 400, 404, 413, 500, 503};
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        int s = statuses[i];
        for (int http11 = 0; http11 <= 1; http11++) {
            /* the handler's Content-Length, whether or not the body has ended */
            CHECK_FRAMING(fin(s, 0, http11, 0, 0, 10), LS_FRAME_LENGTH, 1, 10);
            CHECK_FRAMING(fin(s, 0, http11, 1, 10, 10), LS_FRAME_LENGTH, 1, 10);
            CHECK_FRAMING(fin(s, 0, http11, 0, 0, 0), LS_FRAME_LENGTH, 1, 0);
            CHECK_FRAMING(fin(s, 0, http11, 1, 3, 5), LS_FRAME_LENGTH, 1, 5);
            /* the ended body's own length */
            CHECK_FRAMING(fin(s, 0, http11, 1, 11, -1), LS_FRAME_LENGTH, 1, 11);
            CHECK_FRAMING(fin(s, 0, http11, 1, 0, -1), LS_FRAME_LENGTH, 1, 0);
        }
        /* a stream: chunked on HTTP/1.1, close-delimited on HTTP/1.0 (RFC 9112 6.1, 6.3) */
        CHECK_FRAMING(fin(s, 0, 1, 0, 0, -1), LS_FRAME_CHUNKED, 0, 0);
        CHECK_FRAMING(fin(s, 0, 0, 0, 0, -1), LS_FRAME_CLOSE, 0, 0);
    }
    CHECK_FRAMING(fin(200, 0, 1, 1, UINT64_C(1) << 40, -1), LS_FRAME_LENGTH, 1,
                  UINT64_C(1) << 40);
    CHECK_FRAMING(fin(200, 0, 0, 0, 0, INT64_MAX), LS_FRAME_LENGTH, 1, (uint64_t)INT64_MAX);
}

/* ------------------------------------------------------------------------------------------ */
/* ls_status_allows_body, ls_reason_phrase */

static void test_status_allows_body(void) {
    CHECK_EQ_INT(0, ls_status_allows_body(100));
    CHECK_EQ_INT(0, ls_status_allows_body(101));
    CHECK_EQ_INT(0, ls_status_allows_body(103));
    CHECK_EQ_INT(0, ls_status_allows_body(199));
    CHECK_EQ_INT(1, ls_status_allows_body(200));
    CHECK_EQ_INT(1, ls_status_allows_body(201));
    CHECK_EQ_INT(1, ls_status_allows_body(203));
    CHECK_EQ_INT(0, ls_status_allows_body(204));
    CHECK_EQ_INT(0, ls_status_allows_body(205));
    CHECK_EQ_INT(1, ls_status_allows_body(206));
    CHECK_EQ_INT(1, ls_status_allows_body(301));
    CHECK_EQ_INT(1, ls_status_allows_body(303));
    CHECK_EQ_INT(0, ls_status_allows_body(304));
    CHECK_EQ_INT(1, ls_status_allows_body(307));
    CHECK_EQ_INT(1, ls_status_allows_body(404));
    CHECK_EQ_INT(1, ls_status_allows_body(413));
    CHECK_EQ_INT(1, ls_status_allows_body(500));
    CHECK_EQ_INT(1, ls_status_allows_body(599));
}

static void test_reason_phrase(void) {
    CHECK_EQ_STR("Continue", ls_reason_phrase(100));
    CHECK_EQ_STR("Switching Protocols", ls_reason_phrase(101));
    CHECK_EQ_STR("OK", ls_reason_phrase(200));
    CHECK_EQ_STR("Created", ls_reason_phrase(201));
    CHECK_EQ_STR("No Content", ls_reason_phrase(204));
    CHECK_EQ_STR("Reset Content", ls_reason_phrase(205));
    CHECK_EQ_STR("Partial Content", ls_reason_phrase(206));
    CHECK_EQ_STR("Moved Permanently", ls_reason_phrase(301));
    CHECK_EQ_STR("Not Modified", ls_reason_phrase(304));
    CHECK_EQ_STR("Permanent Redirect", ls_reason_phrase(308));
    CHECK_EQ_STR("Bad Request", ls_reason_phrase(400));
    CHECK_EQ_STR("Not Found", ls_reason_phrase(404));
    CHECK_EQ_STR("Method Not Allowed", ls_reason_phrase(405));
    CHECK_EQ_STR("Length Required", ls_reason_phrase(411));
    CHECK_EQ_STR("Content Too Large", ls_reason_phrase(413)); /* RFC 9110 15.5.14 */
    CHECK_EQ_STR("URI Too Long", ls_reason_phrase(414));
    CHECK_EQ_STR("Misdirected Request", ls_reason_phrase(421));
    CHECK_EQ_STR("Unprocessable Content", ls_reason_phrase(422)); /* RFC 9110 15.5.21 */
    CHECK_EQ_STR("Request Header Fields Too Large", ls_reason_phrase(431));
    CHECK_EQ_STR("Internal Server Error", ls_reason_phrase(500));
    CHECK_EQ_STR("Not Implemented", ls_reason_phrase(501));
    CHECK_EQ_STR("Service Unavailable", ls_reason_phrase(503));
    CHECK_EQ_STR("HTTP Version Not Supported", ls_reason_phrase(505));
    /* unknown codes */
    CHECK_EQ_STR("", ls_reason_phrase(0));
    CHECK_EQ_STR("", ls_reason_phrase(-1));
    CHECK_EQ_STR("", ls_reason_phrase(199));
    CHECK_EQ_STR("", ls_reason_phrase(299));
    CHECK_EQ_STR("", ls_reason_phrase(599));
    CHECK_EQ_STR("", ls_reason_phrase(600));
    CHECK_EQ_STR("", ls_reason_phrase(999));
    /* every phrase is itself a valid reason-phrase: no control characters */
    int bad = 0;
    for (int s = 100; s < 1000; s++) {
        const char *r = ls_reason_phrase(s);
        if (!r || !ls_header_value_valid(r, strlen(r)))
            bad++;
    }
    CHECK_EQ_INT(0, bad);
}

/* ------------------------------------------------------------------------------------------ */
/* ls_header_name_valid, ls_header_value_valid, ls_name_is */

#define NAME_OK(s) ls_header_name_valid(s, sizeof(s) - 1)
#define VALUE_OK(s) ls_header_value_valid(s, sizeof(s) - 1)

static void test_header_name_valid(void) {
    CHECK_EQ_INT(1, NAME_OK("Content-Type"));
    CHECK_EQ_INT(1, NAME_OK("x"));
    CHECK_EQ_INT(1, NAME_OK("X-Request-ID"));
    CHECK_EQ_INT(1, NAME_OK("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
    CHECK_EQ_INT(1, NAME_OK("!#$%&'*+-.^_`|~")); /* every tchar symbol (RFC 9110 5.6.2) */
    CHECK_EQ_INT(0, NAME_OK(""));
    CHECK_EQ_INT(0, ls_header_name_valid("Host", 0)); /* empty, even with bytes behind it */
    CHECK_EQ_INT(1, ls_header_name_valid("Ho\r\n", 2)); /* counted: only len bytes matter */
    /* separators and whitespace */
    CHECK_EQ_INT(0, NAME_OK("Content-Type:"));
    CHECK_EQ_INT(0, NAME_OK("X Y"));
    CHECK_EQ_INT(0, NAME_OK(" X"));
    CHECK_EQ_INT(0, NAME_OK("X "));
    CHECK_EQ_INT(0, NAME_OK("X(1)"));
    CHECK_EQ_INT(0, NAME_OK("X\tY"));
    const char *seps = "\"(),/:;<=>?@[\\]{} ";
    for (const char *p = seps; *p; p++) {
        char name[3] = {'X', *p, 'Y'};
        if (!CHECK_EQ_INT(0, ls_header_name_valid(name, 3)))
            printf("    separator 0x%02x accepted in a field name\n", (unsigned char)*p);
        if (!CHECK_EQ_INT(0, ls_header_name_valid(p, 1)))
            printf("    separator 0x%02x accepted as a field name\n", (unsigned char)*p);
    }
    /* controls, DEL and non-ASCII bytes are never part of a token */
    CHECK_EQ_INT(0, NAME_OK("X\r\nY"));
    CHECK_EQ_INT(0, NAME_OK("X\rY"));
    CHECK_EQ_INT(0, NAME_OK("X\nY"));
    CHECK_EQ_INT(0, NAME_OK("X\0Y"));
    CHECK_EQ_INT(0, NAME_OK("X\x7fY"));
    CHECK_EQ_INT(0, NAME_OK("X\x80Y"));
    CHECK_EQ_INT(0, NAME_OK("X\xffY"));
    /* exhaustively: a one-byte name is valid exactly when the byte is a tchar */
    int wrong = 0;
    for (int c = 0; c < 256; c++) {
        char b = (char)c;
        int tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
        if (ls_header_name_valid(&b, 1) != tchar) {
            wrong++;
            printf("    name byte 0x%02x: expected %d\n", c, tchar);
        }
    }
    CHECK_EQ_INT(0, wrong);
}

static void test_header_value_valid(void) {
    CHECK_EQ_INT(1, VALUE_OK(""));
    CHECK_EQ_INT(1, VALUE_OK("text/html; charset=utf-8"));
    CHECK_EQ_INT(1, VALUE_OK("a b"));
    CHECK_EQ_INT(1, VALUE_OK("a\tb"));
    CHECK_EQ_INT(1, VALUE_OK("\"quoted\", (comment), <x>; q=0.5"));
    CHECK_EQ_INT(1, VALUE_OK("caf\xc3\xa9"));      /* obs-text */
    CHECK_EQ_INT(1, VALUE_OK("\x80\xff\xa0\xfe")); /* obs-text */
    /* response splitting */
    CHECK_EQ_INT(0, VALUE_OK("a\r\nSet-Cookie: x=1"));
    CHECK_EQ_INT(0, VALUE_OK("a\rb"));
    CHECK_EQ_INT(0, VALUE_OK("a\nb"));
    CHECK_EQ_INT(0, VALUE_OK("a\0b"));
    CHECK_EQ_INT(0, VALUE_OK("\r"));
    CHECK_EQ_INT(0, VALUE_OK("\n"));
    CHECK_EQ_INT(0, VALUE_OK("ab\n"));
    CHECK_EQ_INT(0, VALUE_OK("a\x7f"));
    CHECK_EQ_INT(0, VALUE_OK("\x1b[31m"));
    CHECK_EQ_INT(1, ls_header_value_valid("ok\r\n", 2)); /* counted: only len bytes matter */
    /* exhaustively: every byte in the middle of a value */
    int wrong = 0;
    for (int c = 0; c < 256; c++) {
        char v[3] = {'a', (char)c, 'b'};
        int allowed = c == '\t' || (c >= 0x20 && c != 0x7f);
        if (ls_header_value_valid(v, 3) != allowed) {
            wrong++;
            printf("    value byte 0x%02x: expected %d\n", c, allowed);
        }
    }
    CHECK_EQ_INT(0, wrong);
}

static void test_name_is(void) {
    CHECK_EQ_INT(1, ls_name_is("content-length", 14, "content-length"));
    CHECK_EQ_INT(1, ls_name_is("Content-Length", 14, "content-length"));
    CHECK_EQ_INT(1, ls_name_is("CONTENT-LENGTH", 14, "content-length"));
    CHECK_EQ_INT(1, ls_name_is("cOnTeNt-LeNgTh", 14, "content-length"));
    CHECK_EQ_INT(0, ls_name_is("Content-Lengt", 13, "content-length")); /* a prefix */
    CHECK_EQ_INT(0, ls_name_is("Content-Lengths", 15, "content-length")); /* longer */
    CHECK_EQ_INT(0, ls_name_is("Content_Length", 14, "content-length"));
    CHECK_EQ_INT(1, ls_name_is("Datex", 4, "date")); /* counted */
    CHECK_EQ_INT(0, ls_name_is("Date", 4, "dat"));
    CHECK_EQ_INT(0, ls_name_is("Dat", 3, "date"));
    CHECK_EQ_INT(1, ls_name_is("", 0, ""));
    CHECK_EQ_INT(0, ls_name_is("", 0, "a"));
    CHECK_EQ_INT(0, ls_name_is("a", 1, ""));
    /* only ASCII letters fold: '@' is not '`', '[' is not '{' */
    CHECK_EQ_INT(0, ls_name_is("@", 1, "`"));
    CHECK_EQ_INT(0, ls_name_is("[", 1, "{"));
    CHECK_EQ_INT(0, ls_name_is("X\xc9", 2, "x\xe9"));
    CHECK_EQ_INT(1, ls_name_is("Keep-Alive", 10, "keep-alive"));
}

/* ------------------------------------------------------------------------------------------ */
/* ls_head_serialize */

#define H(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static ls_framing_out fr(ls_framing framing, int send_length, uint64_t length) {
    ls_framing_out o = {framing, send_length, length};
    return o;
}

static ls_head head(int status, const ls_header *headers, size_t n, ls_framing_out framing,
                    int keepalive, unsigned timeout, const char *date) {
    ls_head h = {status, NULL, 0, headers, n, framing, keepalive, timeout, date, 0};
    return h;
}

/* Serializes h and checks it byte for byte; also the size-returning contract for every
 * smaller capacity: the full size is returned and nothing is written past cap. */
static void check_head_at(const char *file, int line, const ls_head *h, const char *expected) {
    size_t elen = strlen(expected);
    char big[8192];
    memset(big, 0x5a, sizeof big);
    size_t n = ls_head_serialize(h, big, sizeof big);
    check_mem(file, line, "ls_head_serialize", expected, elen, big, n <= sizeof big ? n : 0);
    if (n < sizeof big)
        check_eq_uint(file, line, "byte after the head", 0x5a, (unsigned char)big[n]);

    /* an exact fit */
    char *exact = malloc(n + 1);
    exact[n] = 0x5a;
    check_eq_uint(file, line, "size with an exact buffer", n, ls_head_serialize(h, exact, n));
    check_mem(file, line, "head in an exact buffer", expected, elen, exact, n);
    check_eq_uint(file, line, "exact buffer: byte past cap", 0x5a, (unsigned char)exact[n]);
    free(exact);

    /* too small: same size returned, nothing written past cap */
    int wrong_size = 0, overrun = 0;
    char *small = malloc(n + 16);
    for (size_t cap = 0; cap < n; cap++) {
        memset(small, 0x5a, n + 16);
        if (ls_head_serialize(h, small, cap) != n)
            wrong_size++;
        for (size_t i = cap; i < n + 16; i++)
            if (small[i] != 0x5a) {
                overrun++;
                break;
            }
    }
    free(small);
    check_eq_int(file, line, "capacities where a short buffer changed the size", 0, wrong_size);
    check_eq_int(file, line, "capacities where a short buffer was overrun", 0, overrun);
}
#define CHECK_HEAD(h, expected) check_head_at(__FILE__, __LINE__, h, expected)

static void test_serialize_basic(void) {
    static const ls_header fields[] = {H("Content-Type", "text/plain"), H("X-A", "1")};
    ls_head h = head(200, fields, 2, fr(LS_FRAME_LENGTH, 1, 5), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Content-Type: text/plain\r\n"
                   "X-A: 1\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 5\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");

    /* no fields at all, close */
    h = head(404, NULL, 0, fr(LS_FRAME_LENGTH, 1, 0), 0, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 404 Not Found\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");

    /* chunked */
    static const ls_header ct[] = {H("Content-Type", "application/json")};
    h = head(200, ct, 1, fr(LS_FRAME_CHUNKED, 0, 0), 1, 75, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Content-Type: application/json\r\n"
                   "Date: " DATE "\r\n"
                   "Transfer-Encoding: chunked\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=75\r\n"
                   "\r\n");
    h.keepalive = 0;
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Content-Type: application/json\r\n"
                   "Date: " DATE "\r\n"
                   "Transfer-Encoding: chunked\r\n"
                   "Connection: close\r\n"
                   "\r\n");

    /* close-delimited (an HTTP/1.0 stream): neither Content-Length nor Transfer-Encoding */
    h = head(200, ct, 1, fr(LS_FRAME_CLOSE, 0, 0), 0, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Content-Type: application/json\r\n"
                   "Date: " DATE "\r\n"
                   "Connection: close\r\n"
                   "\r\n");

    /* no date given: no Date field */
    h = head(500, NULL, 0, fr(LS_FRAME_LENGTH, 1, 21), 0, 5, NULL);
    CHECK_HEAD(&h, "HTTP/1.1 500 Internal Server Error\r\n"
                   "Content-Length: 21\r\n"
                   "Connection: close\r\n"
                   "\r\n");

    /* large numbers */
    h = head(200, NULL, 0, fr(LS_FRAME_LENGTH, 1, UINT64_C(1099511627776)), 1, 4294967295u,
             NULL);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Content-Length: 1099511627776\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=4294967295\r\n"
                   "\r\n");
    h = head(200, NULL, 0, fr(LS_FRAME_LENGTH, 1, UINT64_MAX), 1, 0, NULL);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Content-Length: 18446744073709551615\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=0\r\n"
                   "\r\n");
}

static void test_serialize_no_body_statuses(void) {
    /* 204: no Content-Length, no Transfer-Encoding */
    ls_framing_in in = fin(204, 0, 1, 1, 0, -1);
    ls_head h = head(204, NULL, 0, ls_framing_decide(&in), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 204 No Content\r\n"
                   "Date: " DATE "\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");

    /* 205: Content-Length: 0 */
    in = fin(205, 0, 1, 1, 0, -1);
    h = head(205, NULL, 0, ls_framing_decide(&in), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 205 Reset Content\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");

    /* 304 with the handler's Content-Length: the field is written by the server, after Date */
    static const ls_header f304[] = {H("ETag", "\"v1\""), H("Content-Length", "1234"),
                                     H("Cache-Control", "max-age=60")};
    in = fin(304, 0, 1, 1, 0, 1234);
    h = head(304, f304, 3, ls_framing_decide(&in), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 304 Not Modified\r\n"
                   "ETag: \"v1\"\r\n"
                   "Cache-Control: max-age=60\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 1234\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");
    /* 304 without one */
    in = fin(304, 0, 1, 1, 0, -1);
    h = head(304, f304, 1, ls_framing_decide(&in), 0, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 304 Not Modified\r\n"
                   "ETag: \"v1\"\r\n"
                   "Date: " DATE "\r\n"
                   "Connection: close\r\n"
                   "\r\n");

    /* HEAD: the length the GET would have, and never Transfer-Encoding */
    in = fin(200, 1, 1, 1, 42, -1);
    h = head(200, NULL, 0, ls_framing_decide(&in), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 42\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");
    in = fin(200, 1, 1, 0, 0, -1);
    h = head(200, NULL, 0, ls_framing_decide(&in), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Date: " DATE "\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");

    /* 1xx */
    in = fin(103, 0, 1, 0, 0, -1);
    static const ls_header link[] = {H("Link", "</style.css>; rel=preload; as=style")};
    h = head(103, link, 1, ls_framing_decide(&in), 0, 5, NULL);
    CHECK_HEAD(&h, "HTTP/1.1 103 Early Hints\r\n"
                   "Link: </style.css>; rel=preload; as=style\r\n"
                   "Connection: close\r\n"
                   "\r\n");
}

static void test_serialize_skipped_fields(void) {
    /* The server writes the framing and connection fields itself: the handler's, in any case,
     * are dropped; everything else keeps its order, names and values byte for byte. */
    static const ls_header fields[] = {
        H("content-length", "99"),
        H("X-First", "1"),
        H("TRANSFER-ENCODING", "gzip, chunked"),
        H("Connection", "close"),
        H("x-second", "two words"),
        H("Keep-Alive", "timeout=1, max=2"),
        H("KEEP-alive", "x"),
        H("CONNECTION", "upgrade"),
        H("Transfer-Encoding", "chunked"),
        H("Content-Length", "7"),
        /* same lengths as the skipped names, but other names: kept */
        H("connectiox", "a"),
        H("Keep-Alivf", "b"),
        H("Content-Lengtx", "c"),
        H("Transfer-Encodinx", "d"),
        /* longer or shorter names that contain them: kept */
        H("X-Connection", "e"),
        H("Connections", "f"),
        H("Content-Length2", "g"),
        H("Keep", "h"),
        H("X-Last", "end"),
    };
    ls_head h =
        head(200, fields, sizeof fields / sizeof *fields, fr(LS_FRAME_LENGTH, 1, 7), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "X-First: 1\r\n"
                   "x-second: two words\r\n"
                   "connectiox: a\r\n"
                   "Keep-Alivf: b\r\n"
                   "Content-Lengtx: c\r\n"
                   "Transfer-Encodinx: d\r\n"
                   "X-Connection: e\r\n"
                   "Connections: f\r\n"
                   "Content-Length2: g\r\n"
                   "Keep: h\r\n"
                   "X-Last: end\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 7\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");
    /* the same with chunked framing */
    h.framing = fr(LS_FRAME_CHUNKED, 0, 0);
    h.keepalive = 0;
    h.date = NULL;
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "X-First: 1\r\n"
                   "x-second: two words\r\n"
                   "connectiox: a\r\n"
                   "Keep-Alivf: b\r\n"
                   "Content-Lengtx: c\r\n"
                   "Transfer-Encodinx: d\r\n"
                   "X-Connection: e\r\n"
                   "Connections: f\r\n"
                   "Content-Length2: g\r\n"
                   "Keep: h\r\n"
                   "X-Last: end\r\n"
                   "Transfer-Encoding: chunked\r\n"
                   "Connection: close\r\n"
                   "\r\n");

    /* only skipped fields */
    h = head(200, fields, 1, fr(LS_FRAME_LENGTH, 1, 3), 0, 5, NULL);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Content-Length: 3\r\n"
                   "Connection: close\r\n"
                   "\r\n");

    /* never both Content-Length and Transfer-Encoding (RFC 9112 6.2), whatever it is given */
    h = head(200, NULL, 0, fr(LS_FRAME_CHUNKED, 1, 5), 0, 5, NULL);
    char buf[512];
    size_t n = ls_head_serialize(&h, buf, sizeof buf);
    CHECK(n < sizeof buf);
    buf[n < sizeof buf ? n : sizeof buf - 1] = 0;
    CHECK(!(strstr(buf, "Content-Length") && strstr(buf, "Transfer-Encoding")));
}

static void test_serialize_user_date(void) {
    /* A Date set by the handler replaces the server's, in place, in any case. */
    static const ls_header f1[] = {H("X-A", "1"), H("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
                                   H("X-B", "2")};
    ls_head h = head(200, f1, 3, fr(LS_FRAME_LENGTH, 1, 2), 1, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "X-A: 1\r\n"
                   "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                   "X-B: 2\r\n"
                   "Content-Length: 2\r\n"
                   "Connection: keep-alive\r\n"
                   "Keep-Alive: timeout=5\r\n"
                   "\r\n");
    static const ls_header f2[] = {H("DATE", "whenever")};
    h = head(200, f2, 1, fr(LS_FRAME_LENGTH, 1, 2), 0, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "DATE: whenever\r\n"
                   "Content-Length: 2\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    /* names that merely look like Date do not count */
    static const ls_header f3[] = {H("Dates", "x"), H("X-Date", "y"), H("Dat", "z")};
    h = head(200, f3, 3, fr(LS_FRAME_LENGTH, 1, 2), 0, 5, DATE);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Dates: x\r\n"
                   "X-Date: y\r\n"
                   "Dat: z\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 2\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    /* the date pointer is read for exactly LS_DATE_LEN bytes */
    char longdate[64];
    memcpy(longdate, DATE "trailing junk", sizeof(DATE "trailing junk"));
    h = head(200, NULL, 0, fr(LS_FRAME_LENGTH, 1, 0), 0, 5, longdate);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "Date: " DATE "\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
}

static void test_serialize_reason(void) {
    ls_head h = head(200, NULL, 0, fr(LS_FRAME_LENGTH, 1, 0), 0, 5, NULL);
    h.reason = "Everything Is Fine";
    h.rlen = strlen(h.reason);
    CHECK_HEAD(&h, "HTTP/1.1 200 Everything Is Fine\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    /* counted */
    h.status = 404;
    h.reason = "Gone Fishing\r\nX-Evil: 1";
    h.rlen = 12;
    CHECK_HEAD(&h, "HTTP/1.1 404 Gone Fishing\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    /* an empty custom reason: the SP after the code stays (RFC 9112 4) */
    h.reason = "";
    h.rlen = 0;
    CHECK_HEAD(&h, "HTTP/1.1 404 \r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    /* an unknown status without a reason: likewise */
    h.status = 599;
    h.reason = NULL;
    CHECK_HEAD(&h, "HTTP/1.1 599 \r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    h.status = 299;
    CHECK_HEAD(&h, "HTTP/1.1 299 \r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    /* standard phrases in the status line */
    h.status = 413;
    CHECK_HEAD(&h, "HTTP/1.1 413 Content Too Large\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    h.status = 431;
    CHECK_HEAD(&h, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    h.status = 505;
    CHECK_HEAD(&h, "HTTP/1.1 505 HTTP Version Not Supported\r\n"
                   "Content-Length: 0\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    h.status = 101;
    h.framing = fr(LS_FRAME_NONE, 0, 0);
    CHECK_HEAD(&h, "HTTP/1.1 101 Switching Protocols\r\n"
                   "Connection: close\r\n"
                   "\r\n");
}

static void test_serialize_counted_fields(void) {
    /* names and values are counted strings: bytes past their lengths are not written */
    static const ls_header f[] = {{"X-Name-And-More", 6, "value and more", 5},
                                  {"X-Empty", 7, "ignored", 0}};
    ls_head h = head(200, f, 2, fr(LS_FRAME_LENGTH, 1, 1), 0, 5, NULL);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "X-Name: value\r\n"
                   "X-Empty: \r\n"
                   "Content-Length: 1\r\n"
                   "Connection: close\r\n"
                   "\r\n");
    /* values with obs-text and HTAB are copied as they are */
    static const ls_header g[] = {H("X-Bytes", "caf\xc3\xa9\tok")};
    h = head(200, g, 1, fr(LS_FRAME_LENGTH, 1, 1), 0, 5, NULL);
    CHECK_HEAD(&h, "HTTP/1.1 200 OK\r\n"
                   "X-Bytes: caf\xc3\xa9\tok\r\n"
                   "Content-Length: 1\r\n"
                   "Connection: close\r\n"
                   "\r\n");
}

static void test_serialize_retry(void) {
    /* A head larger than a typical stack buffer: the caller's retry path. */
    enum { VLEN = 5000 };
    char *value = malloc(VLEN);
    for (size_t i = 0; i < VLEN; i++)
        value[i] = (char)('a' + i % 26);
    ls_header f[] = {{"X-Big", 5, value, VLEN}, {"X-After", 7, "1", 1}};
    ls_head h = head(200, f, 2, fr(LS_FRAME_CHUNKED, 0, 0), 1, 5, DATE);

    char stack[2048];
    memset(stack, 0x5a, sizeof stack);
    size_t n = ls_head_serialize(&h, stack, sizeof stack - 16);
    size_t want = strlen("HTTP/1.1 200 OK\r\nX-Big: \r\nX-After: 1\r\nDate: " DATE "\r\n"
                         "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
                         "Keep-Alive: timeout=5\r\n\r\n") +
                  VLEN;
    CHECK_EQ_UINT(want, n);
    int overrun = 0;
    for (size_t i = sizeof stack - 16; i < sizeof stack; i++)
        overrun += stack[i] != 0x5a;
    CHECK_EQ_INT(0, overrun);

    char *buf = malloc(n);
    CHECK_EQ_UINT(n, ls_head_serialize(&h, buf, n));
    char *expected = malloc(want + 1);
    int k = snprintf(expected, want + 1, "HTTP/1.1 200 OK\r\nX-Big: %.*s\r\nX-After: 1\r\n"
                                         "Date: " DATE "\r\nTransfer-Encoding: chunked\r\n"
                                         "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n",
                     VLEN, value);
    CHECK_EQ_UINT(want, k);
    CHECK_MEM(expected, want, buf, n);
    /* and the full contract at every capacity */
    CHECK_HEAD(&h, expected);
    free(expected);
    free(buf);
    free(value);
}

/* A 101 that switches protocols: Connection: Upgrade in place of keep-alive or close (the
 * handler's own Connection field is skipped, its Upgrade kept). */
static void test_serialize_upgrade(void) {
    ls_header hs[] = {H("Upgrade", "websocket"), H("Connection", "keep-alive"),
                      H("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")};
    ls_head h = head(101, hs, 3, fr(LS_FRAME_NONE, 0, 0), 0, 5, NULL);
    h.upgrade = 1;
    CHECK_HEAD(&h, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                   "Connection: Upgrade\r\n\r\n");
}

int main(void) {
    test_framing_no_body_statuses();
    test_framing_205();
    test_framing_304();
    test_framing_head();
    test_framing_body();
    test_status_allows_body();
    test_reason_phrase();
    test_header_name_valid();
    test_header_value_valid();
    test_name_is();
    test_serialize_basic();
    test_serialize_no_body_statuses();
    test_serialize_skipped_fields();
    test_serialize_user_date();
    test_serialize_reason();
    test_serialize_counted_fields();
    test_serialize_retry();
    test_serialize_upgrade();
    return check_summary("test_response_head");
}
