/* Unit tests for core/ws/frame_parse.h: every RFC 6455 rule the parser enforces, each stream
 * fed whole, split at every byte boundary and byte by byte (the events must not depend on how
 * the bytes arrive), 10,000 tiny frames in one chunk, masking, 16- and 64-bit lengths,
 * fragments with control frames between them, UTF-8 split across fragments, the close code
 * table, max_payload and the memory the parser keeps. */
#include "check.h"

#include "close_code.h"
#include "frame_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- building client frames ------------------------------------------------------------ */

typedef struct {
    uint8_t *b;
    size_t len, cap;
} stream;

static void put(stream *s, const void *p, size_t n) {
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 64;
        s->b = realloc(s->b, s->cap);
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
}

static unsigned mask_seed = 1;

/* Appends a frame: b0 is FIN|RSV|opcode as sent; masked or not; form 0 gives the shortest
 * length, 16 or 64 a longer form than needed (which the RFC forbids). The mask changes from
 * frame to frame so that a parser carrying a stale mask position would garble the payload. */
static void frame_form(stream *s, unsigned b0, const void *payload, uint64_t n, int masked,
                       int form) {
    uint8_t h[14];
    size_t hl = 2;
    h[0] = (uint8_t)b0;
    uint8_t m = masked ? 0x80 : 0;
    if (form == 0 && n < 126) {
        h[1] = (uint8_t)(m | n);
    } else if (form == 16 || (form == 0 && n <= 0xffff)) {
        h[1] = m | 126;
        h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n;
        hl = 4;
    } else {
        h[1] = m | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)(n >> (56 - 8 * i));
        hl = 10;
    }
    uint8_t mask[4] = {0, 0, 0, 0};
    if (masked) {
        mask_seed = mask_seed * 1103515245u + 12345u;
        for (int i = 0; i < 4; i++)
            mask[i] = (uint8_t)(mask_seed >> (8 * i));
        memcpy(h + hl, mask, 4);
        hl += 4;
    }
    put(s, h, hl);
    const uint8_t *p = payload;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(p[i] ^ mask[i & 3]);
        put(s, &c, 1);
    }
}

static void frame(stream *s, unsigned b0, const void *payload, size_t n) {
    frame_form(s, b0, payload, n, 1, 0);
}
static void frame_str(stream *s, unsigned b0, const char *payload) {
    frame(s, b0, payload, strlen(payload));
}
static void close_frame(stream *s, unsigned code, const char *reason, size_t rlen) {
    uint8_t p[200];
    p[0] = (uint8_t)(code >> 8), p[1] = (uint8_t)code;
    memcpy(p + 2, reason, rlen);
    frame(s, 0x88, p, 2 + rlen);
}

#define FIN 0x80
#define TEXT 0x1
#define BIN 0x2
#define CONT 0x0
#define CLOSE 0x8
#define PING 0x9
#define PONG 0xa

/* ---- running the parser ---------------------------------------------------------------- */

/* The events as text, so a whole run compares in one check: "text(hi) ping() close 1000(x)
 * error 1002". Payload bytes outside printable ASCII are shown as \xNN. */
typedef struct {
    char *s;
    size_t len, cap;
} text;

static void tput(text *t, const char *p, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, p, n);
    t->len += n;
    t->s[t->len] = 0;
}
static void tstr(text *t, const char *p) { tput(t, p, strlen(p)); }

static void render(text *t, const ls_ws_event *ev) {
    char tmp[64];
    if (t->len)
        tstr(t, " ");
    const char *op = ev->opcode == LS_WS_OP_TEXT ? "text" : "binary";
    switch (ev->type) {
    case LS_WS_EV_MESSAGE:
        tstr(t, op);
        break;
    case LS_WS_EV_FRAGMENT:
        snprintf(tmp, sizeof tmp, "frag %s%s%s", op, ev->first ? " first" : "",
                 ev->last ? " last" : "");
        tstr(t, tmp);
        break;
    case LS_WS_EV_PING:
        tstr(t, "ping");
        break;
    case LS_WS_EV_PONG:
        tstr(t, "pong");
        break;
    case LS_WS_EV_CLOSE:
        snprintf(tmp, sizeof tmp, "close %u", ev->code);
        tstr(t, tmp);
        break;
    case LS_WS_EV_ERROR:
        snprintf(tmp, sizeof tmp, "error %u", ev->code);
        tstr(t, tmp);
        return;
    case LS_WS_EV_NONE:
        tstr(t, "none?");
        return;
    }
    tstr(t, "(");
    for (size_t i = 0; i < ev->len; i++) {
        uint8_t c = ev->data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            tput(t, (const char *)&c, 1);
        } else {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            tstr(t, tmp);
        }
    }
    tstr(t, ")");
}

typedef struct {
    size_t max_payload;
    int fragments;
    size_t most_buffered; /* the largest reassembly buffer seen */
    size_t in_place;      /* events whose payload pointed into the input */
} run_opts;

/* Feeds a fresh copy of the stream in pieces: cuts[0..ncuts) are the offsets where a new
 * piece starts. Returns the rendering of every event up to the first error. */
static char *run(const stream *s, const size_t *cuts, size_t ncuts, run_opts *o) {
    uint8_t *copy = malloc(s->len + 1);
    memcpy(copy, s->b, s->len);
    ls_ws_parser p;
    ls_ws_parser_init(&p, o->max_payload, o->fragments);
    text t = {0};
    tstr(&t, "");
    size_t start = 0;
    int failed = 0;
    for (size_t k = 0; k <= ncuts && !failed; k++) {
        size_t end = k < ncuts ? cuts[k] : s->len;
        uint8_t *data = copy + start;
        size_t len = end - start;
        for (;;) {
            size_t used;
            ls_ws_event ev;
            ls_ws_event_type ty = ls_ws_parse(&p, data, len, &used, &ev);
            if (p.buf_cap > o->most_buffered)
                o->most_buffered = p.buf_cap;
            if (ty == LS_WS_EV_NONE) {
                if (used != len)
                    tstr(&t, " [NONE left bytes unused]");
                break;
            }
            if (used > len)
                tstr(&t, " [used past the end]");
            if (ev.len && ev.data >= copy && ev.data < copy + s->len)
                o->in_place++;
            render(&t, &ev);
            if (ty == LS_WS_EV_ERROR) {
                /* the parser stays failed */
                size_t u2;
                ls_ws_event ev2;
                if (ls_ws_parse(&p, data + used, len - used, &u2, &ev2) != LS_WS_EV_ERROR ||
                    ev2.code != ev.code)
                    tstr(&t, " [error not repeated]");
                failed = 1;
                break;
            }
            data += used;
            len -= used;
        }
        start = end;
    }
    ls_ws_parser_free(&p);
    free(copy);
    return t.s;
}

/* The stream gives `expected` whole, cut in two at every byte, and one byte at a time. */
static int check_stream_at(const char *file, int line, const stream *s, size_t max_payload,
                           int fragments, const char *expected) {
    unsigned long failed_before = check_failed;
    run_opts o = {max_payload, fragments, 0, 0};
    char *got = run(s, NULL, 0, &o);
    check_eq_str(file, line, "events, whole", expected, got);
    free(got);
    for (size_t cut = 1; cut < s->len; cut++) {
        run_opts oc = {max_payload, fragments, 0, 0};
        got = run(s, &cut, 1, &oc);
        int ok = strcmp(expected, got) == 0;
        check_true(file, line, "same events when cut in two", ok);
        if (!ok) {
            printf("    cut at %zu: %s\n", cut, got);
            free(got);
            break;
        }
        free(got);
    }
    size_t *cuts = malloc((s->len + 1) * sizeof *cuts);
    for (size_t i = 1; i < s->len; i++)
        cuts[i - 1] = i;
    run_opts ob = {max_payload, fragments, 0, 0};
    got = run(s, cuts, s->len ? s->len - 1 : 0, &ob);
    check_eq_str(file, line, "events, byte by byte", expected, got);
    check_true(file, line, "buffer within max_payload", ob.most_buffered <= max_payload);
    free(got);
    free(cuts);
    return check_failed == failed_before;
}
#define CHECK_STREAM(s, max, frag, expected) \
    check_stream_at(__FILE__, __LINE__, s, max, frag, expected)

static void reset(stream *s) { s->len = 0; }

/* ---- the tests --------------------------------------------------------------------------- */

/* RFC 6455 5.7's own example: a masked "Hello". */
static void test_rfc_example(void) {
    stream s = {0};
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58};
    put(&s, hello, sizeof hello);
    CHECK_STREAM(&s, 1000, 0, "text(Hello)");
    /* and its masked pong */
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    reset(&s);
    put(&s, pong, sizeof pong);
    CHECK_STREAM(&s, 1000, 0, "pong(Hello)");
    free(s.b);
}

static void test_messages(void) {
    stream s = {0};
    frame_str(&s, FIN | TEXT, "hi");
    frame(&s, FIN | BIN, "\x00\xff\x80", 3);
    frame_str(&s, FIN | TEXT, "");
    frame_str(&s, FIN | PING, "p1");
    frame_str(&s, FIN | PING, "");
    frame_str(&s, FIN | PONG, "p2");
    frame_str(&s, FIN | TEXT, "caf\xc3\xa9");
    close_frame(&s, 1000, "bye", 3);
    CHECK_STREAM(&s, 1000, 0,
                 "text(hi) binary(\\x00\\xff\\x80) text() ping(p1) ping() pong(p2) "
                 "text(caf\\xc3\\xa9) close 1000(bye)");
    /* after the close, nothing more is parsed */
    frame_str(&s, FIN | TEXT, "late");
    put(&s, "\xff\xff", 2);
    CHECK_STREAM(&s, 1000, 0,
                 "text(hi) binary(\\x00\\xff\\x80) text() ping(p1) ping() pong(p2) "
                 "text(caf\\xc3\\xa9) close 1000(bye)");
    /* an empty close reports 1005 */
    reset(&s);
    frame(&s, FIN | CLOSE, "", 0);
    CHECK_STREAM(&s, 1000, 0, "close 1005()");
    reset(&s);
    close_frame(&s, 4999, "", 0);
    CHECK_STREAM(&s, 1000, 0, "close 4999()");
    free(s.b);
}

/* 16- and 64-bit lengths, at their edges. */
static void test_lengths(void) {
    size_t sizes[] = {125, 126, 127, 65535, 65536, 70000};
    stream s = {0};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *p = malloc(n);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(i * 7 + 3);
        reset(&s);
        frame(&s, FIN | BIN, p, n);
        frame_str(&s, FIN | TEXT, "after");
        size_t hl = n < 126 ? 6 : n <= 65535 ? 8 : 14;
        CHECK_EQ_UINT(hl + n + 6 + 5, s.len);
        /* whole: the payload comes in place, unmasked */
        uint8_t *copy = malloc(s.len);
        memcpy(copy, s.b, s.len);
        ls_ws_parser pa;
        ls_ws_parser_init(&pa, 100000, 0);
        size_t used;
        ls_ws_event ev;
        CHECK_EQ_INT(LS_WS_EV_MESSAGE, ls_ws_parse(&pa, copy, s.len, &used, &ev));
        CHECK_EQ_UINT(hl + n, used);
        CHECK(ev.data == copy + hl);
        CHECK_MEM(p, n, ev.data, ev.len);
        CHECK_EQ_INT(LS_WS_EV_MESSAGE, ls_ws_parse(&pa, copy + used, s.len - used, &used, &ev));
        CHECK_MEM("after", 5, ev.data, ev.len);
        CHECK_EQ_UINT(0, ls_ws_parser_buffered(&pa));
        ls_ws_parser_free(&pa);
        /* fed in pieces of 1000 bytes, and cut at a few places: reassembled */
        size_t cuts[200], nc = 0;
        for (size_t at = 1000; at < s.len && nc < 200; at += 1000)
            cuts[nc++] = at;
        run_opts o = {100000, 0, 0, 0};
        char *got = run(&s, cuts, nc, &o);
        CHECK(strstr(got, " text(after)") != NULL && strncmp(got, "binary(", 7) == 0);
        free(got);
        uint8_t *c2 = malloc(s.len);
        memcpy(c2, s.b, s.len);
        ls_ws_parser_init(&pa, 100000, 0);
        size_t at = 0;
        int got_msg = 0;
        while (at < s.len && !got_msg) {
            size_t piece = s.len - at < 777 ? s.len - at : 777;
            int r = ls_ws_parse(&pa, c2 + at, piece, &used, &ev);
            at += used;
            if (r == LS_WS_EV_MESSAGE) {
                got_msg = 1;
                CHECK_MEM(p, n, ev.data, ev.len);
            } else {
                CHECK_EQ_INT(LS_WS_EV_NONE, r);
            }
        }
        CHECK(got_msg);
        ls_ws_parser_free(&pa);
        free(c2);
        free(copy);
        free(p);
    }
    /* all lengths split at every byte, for a few shorter frames around 126 */
    reset(&s);
    char big[300];
    memset(big, 'x', sizeof big);
    frame(&s, FIN | TEXT, big, 126);
    frame(&s, FIN | BIN, big, 300);
    frame(&s, FIN | TEXT, big, 125);
    char expected[1200];
    snprintf(expected, sizeof expected, "text(%.*s) binary(%.*s) text(%.*s)", 126, big, 300, big,
             125, big);
    CHECK_STREAM(&s, 1000, 0, expected);
    free(s.b);
}

/* A longer form than needed breaks 5.2's "minimal number of bytes"; a 64-bit length with its
 * top bit set is not allowed at all. */
static void test_length_forms(void) {
    stream s = {0};
    frame_form(&s, FIN | TEXT, "abc", 3, 1, 16);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    frame_form(&s, FIN | TEXT, "abc", 3, 1, 64);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    char p[200] = {0};
    frame_form(&s, FIN | BIN, p, 200, 1, 64);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    put(&s, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14);
    CHECK_STREAM(&s, (size_t)-1, 0, "error 1002");
    free(s.b);
}

static void test_masking(void) {
    stream s = {0};
    /* an unmasked client frame is refused, and at its second byte */
    frame_form(&s, FIN | TEXT, "hello", 5, 0, 0);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    uint8_t two[2] = {0x81, 0x05};
    ls_ws_parser p;
    ls_ws_parser_init(&p, 1000, 0);
    size_t used;
    ls_ws_event ev;
    CHECK_EQ_INT(LS_WS_EV_ERROR, ls_ws_parse(&p, two, 2, &used, &ev));
    CHECK_EQ_UINT(1002, ev.code);
    CHECK_EQ_STR("unmasked client frame", ev.error);
    ls_ws_parser_free(&p);
    /* unmasked control frames too */
    reset(&s);
    frame_form(&s, FIN | PING, "", 0, 0, 0);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    /* a mask of zeros is still a mask */
    reset(&s);
    put(&s, "\x81\x83\x00\x00\x00\x00" "abc", 9);
    CHECK_STREAM(&s, 1000, 0, "text(abc)");
    /* each frame its own mask, with payload lengths that are not multiples of 4 */
    reset(&s);
    for (int i = 1; i <= 13; i++)
        frame(&s, FIN | BIN, "abcdefghijklmnopqrstuvwxyz", (size_t)i * 2);
    CHECK_STREAM(&s, 1000, 0,
                 "binary(ab) binary(abcd) binary(abcdef) binary(abcdefgh) binary(abcdefghij) "
                 "binary(abcdefghijkl) binary(abcdefghijklmn) binary(abcdefghijklmnop) "
                 "binary(abcdefghijklmnopqr) binary(abcdefghijklmnopqrst) "
                 "binary(abcdefghijklmnopqrstuv) binary(abcdefghijklmnopqrstuvwx) "
                 "binary(abcdefghijklmnopqrstuvwxyz)");
    free(s.b);
}

/* RSV bits (no extension is negotiated) and unknown opcodes. */
static void test_reserved(void) {
    stream s = {0};
    unsigned rsv[] = {0x40, 0x20, 0x10, 0x70};
    for (int i = 0; i < 4; i++) {
        reset(&s);
        frame_str(&s, FIN | TEXT, "ok");
        frame_str(&s, FIN | rsv[i] | TEXT, "x");
        CHECK_STREAM(&s, 1000, 0, "text(ok) error 1002");
        reset(&s);
        frame_str(&s, FIN | rsv[i] | PING, "x");
        CHECK_STREAM(&s, 1000, 0, "error 1002");
    }
    for (unsigned op = 3; op <= 0xf; op++) {
        if (op == CLOSE || op == PING || op == PONG)
            continue;
        reset(&s);
        frame_str(&s, FIN | TEXT, "ok");
        frame_str(&s, FIN | op, "");
        if (!CHECK_STREAM(&s, 1000, 0, "text(ok) error 1002"))
            printf("    opcode %u\n", op);
        reset(&s);
        frame_str(&s, op, "x"); /* without FIN as well */
        CHECK_STREAM(&s, 1000, 0, "error 1002");
    }
    free(s.b);
}

static void test_control_rules(void) {
    stream s = {0};
    char p[200];
    memset(p, 'c', sizeof p);
    /* 125 bytes is the most a control frame carries */
    frame(&s, FIN | PING, p, 125);
    char expected[300];
    snprintf(expected, sizeof expected, "ping(%.*s)", 125, p);
    CHECK_STREAM(&s, 1000, 0, expected);
    reset(&s);
    frame(&s, FIN | PING, p, 126);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    frame(&s, FIN | PONG, p, 200);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    frame(&s, FIN | CLOSE, p, 126);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    /* a control frame must not be fragmented */
    reset(&s);
    frame_str(&s, PING, "a");
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    frame_str(&s, PONG, "");
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    frame_str(&s, CLOSE, "");
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    /* the control bound holds even when max_payload is smaller: control frames are apart */
    reset(&s);
    frame(&s, FIN | PING, p, 100);
    snprintf(expected, sizeof expected, "ping(%.*s)", 100, p);
    CHECK_STREAM(&s, 10, 0, expected);
    free(s.b);
}

static void test_fragments(void) {
    stream s = {0};
    /* reassembled, with every control frame between the pieces */
    frame_str(&s, TEXT, "Hel");
    frame_str(&s, FIN | PING, "p");
    frame_str(&s, CONT, "lo, ");
    frame_str(&s, FIN | PONG, "q");
    frame_str(&s, CONT, "");
    frame_str(&s, FIN | CONT, "world");
    frame_str(&s, FIN | BIN, "next");
    frame_str(&s, BIN, "a");
    frame_str(&s, FIN | CONT, "b");
    CHECK_STREAM(&s, 1000, 0, "ping(p) pong(q) text(Hello, world) binary(next) binary(ab)");
    /* the same as pieces */
    CHECK_STREAM(&s, 1000, 1,
                 "frag text first(Hel) ping(p) frag text(lo, ) pong(q) frag text() "
                 "frag text last(world) binary(next) frag binary first(a) frag binary last(b)");
    /* a close in the middle of a message ends it */
    frame_str(&s, TEXT, "x");
    close_frame(&s, 1001, "away", 4);
    frame_str(&s, FIN | CONT, "never");
    CHECK_STREAM(&s, 1000, 0,
                 "ping(p) pong(q) text(Hello, world) binary(next) binary(ab) close 1001(away)");
    /* a continuation without a start */
    reset(&s);
    frame_str(&s, FIN | CONT, "x");
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    reset(&s);
    frame_str(&s, CONT, "x");
    CHECK_STREAM(&s, 1000, 1, "error 1002");
    reset(&s);
    frame_str(&s, FIN | TEXT, "done");
    frame_str(&s, FIN | CONT, "x");
    CHECK_STREAM(&s, 1000, 0, "text(done) error 1002");
    /* a new data frame inside a fragmented message */
    reset(&s);
    frame_str(&s, TEXT, "a");
    frame_str(&s, FIN | TEXT, "b");
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    CHECK_STREAM(&s, 1000, 1, "frag text first(a) error 1002");
    reset(&s);
    frame_str(&s, BIN, "a");
    frame_str(&s, BIN, "b");
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    free(s.b);
}

/* Text is checked as it arrives: across fragments, across chunks, and it fails at the bad
 * byte, before the rest of the frame is there. */
static void test_utf8(void) {
    stream s = {0};
    /* U+20AC (E2 82 AC) split over three fragments, with a ping in the middle */
    frame(&s, TEXT, "\xe2", 1);
    frame(&s, CONT, "\x82", 1);
    frame_str(&s, FIN | PING, "");
    frame(&s, FIN | CONT, "\xac", 1);
    CHECK_STREAM(&s, 1000, 0, "ping() text(\\xe2\\x82\\xac)");
    CHECK_STREAM(&s, 1000, 1,
                 "frag text first(\\xe2) frag text(\\x82) ping() frag text last(\\xac)");
    /* invalid in a later fragment */
    reset(&s);
    frame(&s, TEXT, "ok\xe2", 3);
    frame(&s, FIN | CONT, "\x28\xa1", 2);
    CHECK_STREAM(&s, 1000, 0, "error 1007");
    CHECK_STREAM(&s, 1000, 1, "frag text first(ok\\xe2) error 1007");
    /* a message that ends inside a sequence */
    reset(&s);
    frame(&s, TEXT, "a", 1);
    frame(&s, FIN | CONT, "\xf0\x9f\x98", 3);
    CHECK_STREAM(&s, 1000, 0, "error 1007");
    reset(&s);
    frame(&s, FIN | TEXT, "\xc3", 1);
    CHECK_STREAM(&s, 1000, 0, "error 1007");
    /* surrogates, overlongs, past U+10FFFF */
    const char *bad[] = {"\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xff"};
    for (int i = 0; i < 4; i++) {
        reset(&s);
        frame_str(&s, FIN | TEXT, bad[i]);
        CHECK_STREAM(&s, 1000, 0, "error 1007");
    }
    /* binary is not checked */
    reset(&s);
    frame(&s, FIN | BIN, "\xff\xed\xa0\x80", 4);
    CHECK_STREAM(&s, 1000, 0, "binary(\\xff\\xed\\xa0\\x80)");
    /* fail fast: a 10,000-byte text frame whose second byte is bad fails on that byte */
    reset(&s);
    char *big = malloc(10000);
    memset(big, 'a', 10000);
    big[1] = (char)0xff;
    frame(&s, FIN | TEXT, big, 10000);
    ls_ws_parser p;
    ls_ws_parser_init(&p, 100000, 0);
    size_t used;
    ls_ws_event ev;
    CHECK_EQ_INT(LS_WS_EV_ERROR, ls_ws_parse(&p, s.b, 8 + 2, &used, &ev));
    CHECK_EQ_UINT(1007, ev.code);
    CHECK_EQ_UINT(0, ls_ws_parser_buffered(&p) > 16);
    ls_ws_parser_free(&p);
    free(big);
    free(s.b);
}

/* The close frame's payload: nothing, or a code then a UTF-8 reason. */
static void test_close_codes(void) {
    stream s = {0};
    char expected[64];
    unsigned n_valid = 0;
    for (unsigned code = 0; code <= 5100; code++) {
        int valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
        CHECK_EQ_INT(valid, ls_ws_close_code_valid(code));
        n_valid += (unsigned)valid;
        if (code % 97 && !(code >= 995 && code <= 1020) && code != 2999 && code != 3000 &&
            code != 4999 && code != 5000)
            continue; /* the edges, and a sample of the rest, go on the wire */
        reset(&s);
        close_frame(&s, code, "r", 1);
        if (valid)
            snprintf(expected, sizeof expected, "close %u(r)", code);
        else
            snprintf(expected, sizeof expected, "error 1002");
        CHECK_STREAM(&s, 1000, 0, expected);
    }
    CHECK_EQ_UINT(4 + 8 + 2000, n_valid);
    CHECK(!ls_ws_close_code_valid(65535));
    /* the codes the RFC names: reserved ones and those only for reporting */
    unsigned never[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (int i = 0; i < 12; i++) {
        reset(&s);
        close_frame(&s, never[i], "", 0);
        CHECK_STREAM(&s, 1000, 0, "error 1002");
    }
    /* a one-byte payload cannot hold a code: refused at the header */
    reset(&s);
    frame(&s, FIN | CLOSE, "\x03", 1);
    CHECK_STREAM(&s, 1000, 0, "error 1002");
    /* the reason must be UTF-8 */
    reset(&s);
    close_frame(&s, 1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", 14);
    CHECK_STREAM(&s, 1000, 0, "error 1007");
    reset(&s);
    close_frame(&s, 1000, "\xe2\x82", 2);
    CHECK_STREAM(&s, 1000, 0, "error 1007");
    /* the longest reason: 123 bytes */
    reset(&s);
    char r[123];
    memset(r, 'z', sizeof r);
    close_frame(&s, 4000, r, sizeof r);
    char exp2[200];
    snprintf(exp2, sizeof exp2, "close 4000(%.*s)", 123, r);
    CHECK_STREAM(&s, 1000, 0, exp2);
    free(s.b);
}

static void test_max_payload(void) {
    stream s = {0};
    char p[100];
    memset(p, 'm', sizeof p);
    frame(&s, FIN | BIN, p, 100);
    char expected[200];
    snprintf(expected, sizeof expected, "binary(%.*s)", 100, p);
    CHECK_STREAM(&s, 100, 0, expected);
    CHECK_STREAM(&s, 99, 0, "error 1009");
    /* a fragmented message is bounded as a whole... */
    reset(&s);
    frame(&s, BIN, p, 40);
    frame(&s, CONT, p, 40);
    frame(&s, FIN | CONT, p, 20);
    CHECK_STREAM(&s, 100, 0, expected);
    CHECK_STREAM(&s, 99, 0, "error 1009");
    /* ...but in fragments mode each frame is */
    CHECK_STREAM(&s, 40, 1,
                 "frag binary first(mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm) "
                 "frag binary(mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm) "
                 "frag binary last(mmmmmmmmmmmmmmmmmmmm)");
    CHECK_STREAM(&s, 39, 1, "error 1009");
    /* refused on the announced length, before the payload arrives */
    ls_ws_parser pa;
    ls_ws_parser_init(&pa, 1 << 20, 0);
    uint8_t hdr[] = {0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4}; /* 1 GiB */
    size_t used;
    ls_ws_event ev;
    CHECK_EQ_INT(LS_WS_EV_ERROR, ls_ws_parse(&pa, hdr, sizeof hdr, &used, &ev));
    CHECK_EQ_UINT(1009, ev.code);
    CHECK_EQ_UINT(0, ls_ws_parser_buffered(&pa));
    ls_ws_parser_free(&pa);
    /* zero: only empty messages */
    reset(&s);
    frame(&s, FIN | TEXT, "", 0);
    frame(&s, FIN | TEXT, "a", 1);
    CHECK_STREAM(&s, 0, 0, "text() error 1009");
    free(s.b);
}

/* Memory: the reassembly buffer grows with the bytes that came, not with the length a header
 * announces, never past max_payload, and a large one is given back after its message. */
static void test_memory(void) {
    ls_ws_parser p;
    ls_ws_parser_init(&p, 1 << 20, 0);
    stream s = {0};
    uint8_t *big = calloc(1, 1 << 20);
    frame(&s, FIN | BIN, big, 1 << 20);
    size_t used;
    ls_ws_event ev;
    /* the header and 10 bytes: the buffer holds about those 10, not a mebibyte */
    CHECK_EQ_INT(LS_WS_EV_NONE, ls_ws_parse(&p, s.b, 14 + 10, &used, &ev));
    CHECK(ls_ws_parser_buffered(&p) <= 1024);
    /* nothing new (even no buffer at all) in the middle of a payload is harmless */
    CHECK_EQ_INT(LS_WS_EV_NONE, ls_ws_parse(&p, NULL, 0, &used, &ev));
    CHECK_EQ_UINT(0, used);
    size_t at = 14 + 10;
    int r = LS_WS_EV_NONE;
    while (at < s.len && r == LS_WS_EV_NONE) {
        size_t piece = s.len - at < 65536 ? s.len - at : 65536;
        r = ls_ws_parse(&p, s.b + at, piece, &used, &ev);
        at += used;
        CHECK(ls_ws_parser_buffered(&p) <= (1 << 20));
    }
    CHECK_EQ_INT(LS_WS_EV_MESSAGE, r);
    CHECK_EQ_UINT(1 << 20, ev.len);
    CHECK_EQ_UINT(1 << 20, ls_ws_parser_buffered(&p));
    /* the next call gives the buffer back */
    uint8_t none[1];
    CHECK_EQ_INT(LS_WS_EV_NONE, ls_ws_parse(&p, none, 0, &used, &ev));
    CHECK_EQ_UINT(0, ls_ws_parser_buffered(&p));
    ls_ws_parser_free(&p);
    free(big);
    free(s.b);
}

/* 10,000 tiny frames in one chunk: all of them, in order, each in place. */
static void test_many_frames(void) {
    stream s = {0};
    for (int i = 0; i < 10000; i++) {
        char c = (char)('a' + i % 26);
        frame(&s, FIN | (i % 3 ? TEXT : BIN), &c, 1);
        if (i % 1000 == 999)
            frame_str(&s, FIN | PING, "");
    }
    ls_ws_parser p;
    ls_ws_parser_init(&p, 16, 0);
    uint8_t *data = s.b;
    size_t len = s.len, used, events = 0, pings = 0, wrong = 0, in_place = 0;
    ls_ws_event ev;
    ls_ws_event_type t;
    while ((t = ls_ws_parse(&p, data, len, &used, &ev)) != LS_WS_EV_NONE) {
        if (t == LS_WS_EV_PING) {
            pings++;
        } else {
            int i = (int)events;
            wrong += t != LS_WS_EV_MESSAGE || ev.len != 1 || ev.data[0] != 'a' + i % 26 ||
                     ev.opcode != (unsigned)(i % 3 ? TEXT : BIN);
            in_place += ev.data >= s.b && ev.data < s.b + s.len;
            events++;
        }
        data += used;
        len -= used;
        if (events + pings > 20000)
            break;
    }
    CHECK_EQ_UINT(0, len);
    CHECK_EQ_UINT(10000, events);
    CHECK_EQ_UINT(10, pings);
    CHECK_EQ_UINT(0, wrong);
    CHECK_EQ_UINT(10000, in_place);
    CHECK_EQ_UINT(0, ls_ws_parser_buffered(&p));
    ls_ws_parser_free(&p);
    /* and the first 300 frames split at every byte */
    reset(&s);
    text exp = {0};
    tstr(&exp, "");
    for (int i = 0; i < 300; i++) {
        char c = (char)('a' + i % 26);
        frame(&s, FIN | TEXT, &c, 1);
        char e[16];
        snprintf(e, sizeof e, "%stext(%c)", i ? " " : "", c);
        tstr(&exp, e);
    }
    CHECK_STREAM(&s, 16, 0, exp.s);
    free(exp.s);
    free(s.b);
}

/* Where payloads live: in place when a frame lies whole in a chunk and needs no reassembly,
 * otherwise in the parser's buffer; the payload is unmasked either way. */
static void test_in_place(void) {
    stream s = {0};
    frame_str(&s, FIN | TEXT, "one");
    frame_str(&s, TEXT, "tw");
    frame_str(&s, FIN | CONT, "o");
    frame_str(&s, FIN | PING, "pi");
    run_opts o = {100, 0, 0, 0};
    char *got = run(&s, NULL, 0, &o);
    CHECK_EQ_STR("text(one) text(two) ping(pi)", got);
    CHECK_EQ_UINT(2, o.in_place); /* "one" and the ping; "two" was reassembled */
    free(got);
    run_opts of = {100, 1, 0, 0};
    got = run(&s, NULL, 0, &of);
    CHECK_EQ_STR("text(one) frag text first(tw) frag text last(o) ping(pi)", got);
    CHECK_EQ_UINT(4, of.in_place);
    CHECK_EQ_UINT(0, of.most_buffered);
    free(got);
    /* a ping split in two goes through the control buffer, not the message's */
    size_t cut = s.len - 1; /* between the two payload bytes */
    run_opts oc = {100, 0, 0, 0};
    got = run(&s, &cut, 1, &oc);
    CHECK_EQ_STR("text(one) text(two) ping(pi)", got);
    CHECK_EQ_UINT(1, oc.in_place);
    free(got);
    free(s.b);
}

/* ---- randomized runs ---------------------------------------------------------------------- */

static uint32_t rng = 12345;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return rng % n;
}

/* Appends the UTF-8 of a random code point (never a surrogate) to b; returns its length. */
static size_t rnd_char(uint8_t *b) {
    uint32_t kind = rnd(4), c;
    if (kind == 0)
        c = 0x20 + rnd(0x5f);
    else if (kind == 1)
        c = 0x80 + rnd(0x780);
    else if (kind == 2)
        do
            c = 0x800 + rnd(0xf800);
        while (c >= 0xd800 && c <= 0xdfff);
    else
        c = 0x10000 + rnd(0x100000);
    if (c < 0x80)
        return b[0] = (uint8_t)c, 1;
    if (c < 0x800)
        return b[0] = (uint8_t)(0xc0 | c >> 6), b[1] = (uint8_t)(0x80 | (c & 63)), 2;
    if (c < 0x10000)
        return b[0] = (uint8_t)(0xe0 | c >> 12), b[1] = (uint8_t)(0x80 | ((c >> 6) & 63)),
               b[2] = (uint8_t)(0x80 | (c & 63)), 3;
    return b[0] = (uint8_t)(0xf0 | c >> 18), b[1] = (uint8_t)(0x80 | ((c >> 12) & 63)),
           b[2] = (uint8_t)(0x80 | ((c >> 6) & 63)), b[3] = (uint8_t)(0x80 | (c & 63)), 4;
}

/* Random valid traffic: messages of up to 400 bytes (text of random characters, or binary),
 * fragmented at random places (through characters too), with pings and pongs between the
 * pieces; fed in random pieces, in both modes, it gives what was sent. */
static void test_random_traffic(void) {
    unsigned mismatches = 0;
    for (int round = 0; round < 300; round++) {
        stream s = {0};
        text exp = {0}, expf = {0};
        tstr(&exp, ""), tstr(&expf, "");
        int nmsg = 1 + (int)rnd(8);
        for (int m = 0; m < nmsg; m++) {
            uint8_t msg[420];
            size_t n = 0, target = rnd(5) == 0 ? 130 + rnd(270) : rnd(40);
            int is_text = rnd(2);
            while (n < target) {
                if (is_text)
                    n += rnd_char(msg + n);
                else
                    msg[n++] = (uint8_t)rnd(256);
            }
            /* the expected events, rendered as the parser's would be */
            ls_ws_event ev = {.type = LS_WS_EV_MESSAGE,
                              .opcode = is_text ? LS_WS_OP_TEXT : LS_WS_OP_BINARY,
                              .data = msg, .len = n};
            size_t pieces = rnd(3) ? 1 : 2 + rnd(4), at = 0;
            for (size_t k = 0; k < pieces; k++) {
                size_t end = k + 1 == pieces ? n : at + rnd((uint32_t)(n - at + 1));
                unsigned op = k ? CONT : (is_text ? TEXT : BIN);
                frame(&s, (k + 1 == pieces ? FIN : 0) | op, msg + at, end - at);
                ls_ws_event fe = ev;
                if (pieces > 1) {
                    fe.type = LS_WS_EV_FRAGMENT, fe.first = k == 0, fe.last = k + 1 == pieces;
                    fe.data = msg + at, fe.len = end - at;
                }
                render(&expf, &fe);
                if (k + 1 == pieces)
                    render(&exp, &ev); /* reassembled: whole when its last piece is in */
                if (rnd(3) == 0) {
                    char c[3] = {'c', (char)('0' + k), 0};
                    int ping = rnd(2);
                    frame_str(&s, FIN | (ping ? PING : PONG), c);
                    ls_ws_event ce = {.type = ping ? LS_WS_EV_PING : LS_WS_EV_PONG,
                                      .data = (const uint8_t *)c, .len = 2};
                    render(&expf, &ce);
                    render(&exp, &ce);
                }
                at = end;
            }
        }
        size_t cuts[64], nc = 0, at = 0;
        while (nc < 64) {
            at += 1 + rnd(60);
            if (at >= s.len)
                break;
            cuts[nc++] = at;
        }
        run_opts o = {1000, 0, 0, 0};
        char *got = run(&s, cuts, nc, &o);
        if (strcmp(got, exp.s) != 0 && mismatches++ < 3)
            printf("round %d:\n  expected %s\n  got      %s\n", round, exp.s, got);
        free(got);
        run_opts of = {1000, 1, 0, 0};
        got = run(&s, cuts, nc, &of);
        if (strcmp(got, expf.s) != 0 && mismatches++ < 3)
            printf("round %d (fragments):\n  expected %s\n  got      %s\n", round, expf.s, got);
        free(got);
        free(exp.s), free(expf.s), free(s.b);
    }
    CHECK_EQ_UINT(0, mismatches);
}

/* Random bytes, fed in random pieces: the parser ends in an error or waits for more, never
 * reads or writes outside what it was given (the ASan build checks that), and always says
 * how much it used. */
static void test_random_garbage(void) {
    unsigned bad = 0;
    uint8_t buf[512];
    for (int round = 0; round < 20000; round++) {
        size_t n = 1 + rnd(sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rnd(256);
        /* often a plausible start, so that more than the first check is reached */
        if (rnd(2))
            buf[0] = (uint8_t)(0x80 | (rnd(3) ? rnd(3) : 8 + rnd(3))), buf[1] |= 0x80;
        ls_ws_parser p;
        ls_ws_parser_init(&p, 300, (int)rnd(2));
        size_t at = 0, events = 0;
        while (at < n && events < 1000) {
            size_t len = 1 + rnd((uint32_t)(n - at)), used;
            ls_ws_event ev;
            ls_ws_event_type t = ls_ws_parse(&p, buf + at, len, &used, &ev);
            bad += used > len || (t == LS_WS_EV_NONE && used != len);
            bad += t != LS_WS_EV_NONE && t != LS_WS_EV_ERROR && ev.len && !ev.data;
            if (t == LS_WS_EV_ERROR) {
                bad += ev.code != 1002 && ev.code != 1007 && ev.code != 1009;
                break;
            }
            at += used;
            events++;
        }
        bad += p.buf_cap > 300;
        ls_ws_parser_free(&p);
    }
    CHECK_EQ_UINT(0, bad);
}

int main(void) {
    test_rfc_example();
    test_messages();
    test_lengths();
    test_length_forms();
    test_masking();
    test_reserved();
    test_control_rules();
    test_fragments();
    test_utf8();
    test_close_codes();
    test_max_payload();
    test_memory();
    test_many_frames();
    test_in_place();
    test_random_traffic();
    test_random_garbage();
    return check_summary("test_ws_frame");
}
